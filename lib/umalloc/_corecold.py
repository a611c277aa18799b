"""The allocator's cold helpers, loaded on first use (see _core.__getattr__).

Realloc's in-place resize, the checks behind view() / size_of() / realloc() and
debug mode, check()'s bit counts and the best-fit / two-ended search: code that a
plain malloc/free/get/put (and stats() and map()) never run, so `import umalloc`
does not load it into RAM (a .mpy's native code lives on the
GC heap).  These functions are moved unchanged from _core.py; the constants are
_core's own (const() only inlines names defined in the same module;
host_tests/test_bench.py checks the two lists agree).
"""

try:
    import micropython
    from micropython import const
except ImportError:
    from ._shim import micropython, const, ptr32, ptr8, uint

from ._core import _insert, _remove, _free_block, ld   # shared with the hot side
from ._core import CHECK_ALIGN

# _find: the best-fit and two-ended searches.  malloc reaches it as a global of
# _core: Arena() of those policies asks _core for it first, and _core.__getattr__
# leaves it in _core's globals.

MAGIC = const(0x1D6A11C0)

# Arena header word indexes.
H_MAGIC = const(0)
H_SIZE = const(1)
H_NPARTS = const(2)
H_HEAP_START = const(3)
H_HEAP_END = const(4)
H_CLASSES = const(5)       # byte offset of the class lists' heads, then their non-empty bitmap
H_NCLASSES = const(6)
H_FREE_SIZE = const(7)     # sum of free heap block sizes (headers included)
H_FREE_COUNT = const(8)    # number of free heap blocks
H_MIN_FREE = const(9)      # lowest usable free seen (FreeRTOS "minimum ever free")
H_FAIL = const(10)
H_FAIL_FRAG = const(11)
H_LIVE = const(12)         # live heap blocks
H_POLICY = const(13)
H_SMALL = const(14)        # twoended: requests up to this size go top-down
H_DEBUG = const(15)
H_PAGES = const(16)        # byte offset of the heap's page index (see PAGE_SHIFT)
H_TRACE = const(17)        # byte offset of the trace ring
H_TRACE_CAP = const(18)
H_TRACE_POS = const(19)
H_TRACE_COUNT = const(20)
H_GRAN_SHIFT = const(21)   # heap granule = 1 << this (4 or 8 bytes)
H_PSTART = const(22)       # first byte of partition blocks
H_SEAL = const(23)         # XOR of the layout words above and H_IRQ, ^ MAGIC (see seal_layout())
H_IRQ = const(24)          # 1: the core masks interrupts around its updates (a board)
H_PARTS = const(25)        # first partition descriptor
HEADER_WORDS = const(25)

# Partition descriptor word offsets.
PD_SIZE = const(0)
PD_NBLKS = const(1)
PD_START = const(2)
PD_END = const(3)
PD_HEAD = const(4)
PD_NFREE = const(5)
PD_MIN = const(6)
PD_FAIL = const(7)
PD_BITMAP = const(8)
PD_SHIFT = const(9)        # bits 0-4: log2(block size) when a power of two, else 0 (divide);
                           # bits 5-28: the descriptor's seal (see seal_layout())
PD_WORDS = const(10)

POLICY_FIRST = const(0)
POLICY_BEST = const(1)
POLICY_TWOENDED = const(2)
POLICY_GOOD = const(3)

USED = const(1)
PREV_FREE = const(2)
SIZE_MASK = const(0xFFFFFC)
SLACK_SHIFT = const(24)
PARITY = const(0x20000000)
MIN_BLOCK = const(16)
PAGE_SHIFT = const(8)       # heap pages of 256 bytes: one page-index byte each, the granule
                           # offset in the page of its first block start, or NO_START
NO_START = const(0xFF)
MAX_SIZE = const(0x1000000)  # offsets and sizes fit 24 bits
GUARD_SIZE = const(4)           # debug mode: guard bytes after each heap payload

# Negative results carry an ERR_MEM_* code (see errors.py).
E_PBLK = const(-115)
E_ADDR = const(-118)
E_FULL = const(-114)
E_DOUBLE = const(-120)
E_CORRUPT = const(-121)
PD_KEY = const(0xA5A5A5)      # folded into each descriptor's seal: all zeros never passes
CORRUPT_AT = const(0x1000000)   # a result <= -CORRUPT_AT: damaged structure at offset -result - CORRUPT_AT
FREE_BAD = const(-0x20FFFFFD)   # header bits a free block never has: USED, PREV_FREE, slack, 30-31


@micropython.viper
def parity(v: int) -> int:
    """1 when v has an odd number of set bits."""
    v = v ^ (v >> 16)
    v = v ^ (v >> 8)
    v = v ^ (v >> 4)
    v = v ^ (v >> 2)
    v = v ^ (v >> 1)
    return v & 1


@micropython.viper
def seal(v: int) -> int:
    """Header word with its parity bit set so the word has even parity."""
    v = v & (PARITY - 1)
    return v | (int(parity(v)) << 29)


@micropython.viper
def test_bit(w, bitmap: int, i: int) -> int:
    h = ptr32(w)
    return (h[(bitmap >> 2) + (i >> 5)] >> (i & 31)) & 1


# The page index: the heap is cut into pages of 1 << PAGE_SHIFT bytes from its start, and
# byte k at H_PAGES holds the granule offset in page k of its first block start, or NO_START.
# Whether b is a block start: walk the headers from its page's first start up to b, each
# checked before its size is used; at most a page's worth of minimum blocks (16 of 256
# bytes), so O(1), and a quarter of the bitmap's room (1/256 of the heap, not 1/64).
# The hot paths (_coreviper, the C core) write the walk and the updates out inline.

@micropython.viper
def _is_start(w, b: int) -> int:
    """1 when b (inside the heap, on a granule) is a block start, 0 when not; <0 if a header
    on the way is damaged."""
    h = ptr32(w)
    start = h[H_HEAP_START]
    end = h[H_HEAP_END]
    gshift = h[H_GRAN_SHIFT]
    pg = (b - start) >> PAGE_SHIFT
    k = h[H_PAGES] + pg
    x = (h[k >> 2] >> ((k & 3) << 3)) & 0xFF
    if x == NO_START:
        return 0
    x = start + (pg << PAGE_SHIFT) + (x << gshift)
    while x < b:
        v = h[x >> 2]
        size = v & SIZE_MASK
        t = v ^ (v >> 16)
        t = t ^ (t >> 8)
        t = (0x6996 >> ((t ^ (t >> 4)) & 15)) | (v >> 30)
        if t & 1 or size < MIN_BLOCK or (size >> gshift) << gshift != size or x + size > end:
            return 0 - CORRUPT_AT - x
        x += size
    if x == b:
        return 1
    return 0


@micropython.viper
def _page_start(w, s: int):
    """Block start s is new: its page's entry takes it if it lies below the entry's."""
    h = ptr32(w)
    start = h[H_HEAP_START]
    pg = (s - start) >> PAGE_SHIFT
    k = h[H_PAGES] + pg
    sh = (k & 3) << 3
    o = (s - start - (pg << PAGE_SHIFT)) >> h[H_GRAN_SHIFT]
    if o < (h[k >> 2] >> sh) & 0xFF:
        h[k >> 2] = (h[k >> 2] & (-1 - (0xFF << sh))) | (o << sh)


@micropython.viper
def _page_unstart(w, s: int, e: int):
    """s is no longer a block start; e is the next one above it (or the heap's end)."""
    h = ptr32(w)
    start = h[H_HEAP_START]
    gshift = h[H_GRAN_SHIFT]
    pg = (s - start) >> PAGE_SHIFT
    k = h[H_PAGES] + pg
    sh = (k & 3) << 3
    if (s - start - (pg << PAGE_SHIFT)) >> gshift == (h[k >> 2] >> sh) & 0xFF:
        o = NO_START
        if e < h[H_HEAP_END] and (e - start) >> PAGE_SHIFT == pg:
            o = (e - start - (pg << PAGE_SHIFT)) >> gshift
        h[k >> 2] = (h[k >> 2] & (-1 - (0xFF << sh))) | (o << sh)


@micropython.viper
def heap_block(w, p: int) -> int:
    """Block offset for payload p if p is a live heap block, else a negative error."""
    h = ptr32(w)
    b = p - 4
    start = h[H_HEAP_START]
    if b < start or b >= h[H_HEAP_END]:
        return E_ADDR
    gshift = h[H_GRAN_SHIFT]
    i = (b - start) >> gshift
    if (i << gshift) + start != b:
        return E_PBLK
    i = int(_is_start(w, b))
    if i < 0:
        return i
    if i == 0:
        return E_PBLK
    v = h[b >> 2]
    size = v & SIZE_MASK
    x = v ^ (v >> 16)
    x = x ^ (x >> 8)
    x = (0x6996 >> ((x ^ (x >> 4)) & 15)) | (v >> 30)    # bit 0: parity; bits 30-31 never set
    if x & 1 or size < MIN_BLOCK or size & ((1 << gshift) - 1) or b + size > h[H_HEAP_END]:
        return 0 - CORRUPT_AT - b
    if (v & USED) == 0:
        return E_DOUBLE
    return b


@micropython.viper
def _used_above(w, t: int, free_below: int) -> int:
    """0 when the block at t (inside the heap, or its end) is sound, else <0.

    t's header must have even parity and a PREV_FREE bit that says free_below;
    a free block at t (only possible when free_below is 0) must check out whole.
    """
    h = ptr32(w)
    if t >= h[H_HEAP_END]:
        return 0
    v = h[t >> 2]
    x = v ^ (v >> 16)
    x = x ^ (x >> 8)
    x = (0x6996 >> ((x ^ (x >> 4)) & 15)) | (v >> 30)
    if x & 1 or ((v >> 1) & 1) != free_below:
        return 0 - CORRUPT_AT - t
    if v & USED:
        return 0
    if free_below:
        return 0 - CORRUPT_AT - t
    r = int(_free_block(w, t, t))
    if r < 0:
        return r
    return 0


@micropython.viper
def heap_resize(w, p: int, n: int) -> int:
    """Grow or shrink live block p in place to hold n bytes: 1 done, 0 cannot, <0 damaged."""
    h = ptr32(w)
    b = p - 4
    v = h[b >> 2]
    size = v & SIZE_MASK
    gran = 1 << h[H_GRAN_SHIFT]
    need = (n + 4 + GUARD_SIZE * h[H_DEBUG] + gran - 1) & (0 - gran)
    if need < MIN_BLOCK:
        need = MIN_BLOCK
    end = h[H_HEAP_END]
    nb = b + size
    nsize = 0
    r = int(_used_above(w, nb, 0))
    if r:
        return r
    if nb < end:
        if (h[nb >> 2] & USED) == 0:
            nsize = h[nb >> 2] & SIZE_MASK
            r = int(_used_above(w, nb + nsize, 1))
            if r:
                return r
    avail = size + nsize
    if need > avail:
        return 0
    after = b + avail                    # the block above whatever we end up with
    if nsize:                            # absorb the free neighbour; any tail goes back
        r = int(_remove(w, nb, nsize))
        if r:
            return r
        _page_unstart(w, nb, after)
    rest = avail - need
    if rest >= MIN_BLOCK:
        r = b + need
        _page_start(w, r)
        i = int(_insert(w, r, rest))
        if i:
            return i
        if nsize == 0 and after < end:   # it was used-below, now free-below
            h[after >> 2] = h[after >> 2] ^ (PREV_FREE | PARITY)
        size = need
    else:
        if nsize != 0 and after < end:   # it was free-below, now used-below
            h[after >> 2] = h[after >> 2] ^ (PREV_FREE | PARITY)
        size = avail
    h[b >> 2] = int(seal(size | USED | (v & PREV_FREE) | ((size - 4 - n) << SLACK_SHIFT)))
    free = h[H_FREE_SIZE] - 4 * h[H_FREE_COUNT]
    if free < h[H_MIN_FREE]:
        h[H_MIN_FREE] = free
    return 1


@micropython.viper
def owner(w, p: int) -> int:
    """Descriptor word index of the partition holding p, 0 for the heap, <0 for neither."""
    h = ptr32(w)
    if p >= h[H_HEAP_START] and p < h[H_HEAP_END] + 4:
        return 0
    d = H_PARTS
    end = H_PARTS + h[H_NPARTS] * PD_WORDS
    while d < end:
        if p >= h[d + PD_START] and p < h[d + PD_END]:
            return d
        d += PD_WORDS
    return E_ADDR


@micropython.viper
def first_not(b, off: int, n: int, value: int) -> int:
    """Offset of the first byte in [off, off+n) that is not `value`, or -1."""
    m = ptr8(b)
    end = off + n
    while off < end:
        if m[off] != value:
            return off
        off += 1
    return -1


@micropython.viper
def move(b, dst: int, src: int, n: int):
    m = ptr8(b)
    i = 0
    while i < n:
        m[dst + i] = m[src + i]
        i += 1


@micropython.viper
def popcount(w, bitmap: int, nbits: int) -> int:
    """Set bits among the first nbits of a bitmap (check() compares it with a walk)."""
    h = ptr32(w)
    k = bitmap >> 2
    n = 0
    while nbits > 0:
        v = h[k]
        if nbits < 32:
            v = v & ((1 << nbits) - 1)
        v = (v & 0xFFFF) | (((v >> 16) & 0xFFFF) << 16)  # no sign bits on 64-bit ports
        while v:
            v = v & (v - 1)
            n += 1
        nbits -= 32
        k += 1
    return n


@micropython.viper
def _find(w, need: int, small: int) -> int:
    """The free block the arena's policy picks for `need` bytes; 0 when none fits, <0 if damaged.

    Walks go one way through an address-ordered list and stop at any link
    that does not move on, or leaves the heap.  The result is inside the heap;
    the caller checks the block itself.
    """
    h = ptr32(w)
    nc = h[H_NCLASSES]
    heads = h[H_CLASSES] >> 2
    start = h[H_HEAP_START]
    last = h[H_HEAP_END] - MIN_BLOCK
    fl = 4                 # 4 + bit length of need >> 5
    t = need >> 5
    while t >= 16:
        fl += 4
        t = t >> 4
    while t:
        fl += 1
        t = t >> 1
    c = ((fl - 4) << 2) | ((need >> (fl - 2)) & 3)
    if c >= nc:
        return 0
    best = 0
    k = c + 1
    if small:      # twoended, small request: the highest block that fits (last fit)
        k = c                        # c's own list, then each larger one (every block fits)
        while k < nc:
            at = (heads + k) << 2
            b = h[heads + k]
            lo = start - 1
            while b:                 # ascending and inside the heap, or damaged
                if b <= lo or b > last:
                    return 0 - CORRUPT_AT - at
                if b > best and (k > c or (h[b >> 2] & SIZE_MASK) >= need):
                    best = b
                lo = b
                at = b + 4
                b = h[(b >> 2) + 1]
            k += 1
        return best
    if h[H_POLICY] == POLICY_BEST:   # smallest that fits, lowest address on ties
        best_size = 0
        while c < nc:
            at = (heads + c) << 2
            b = h[heads + c]
            lo = start - 1
            while b:
                if b <= lo or b > last:
                    return 0 - CORRUPT_AT - at
                size = h[b >> 2] & SIZE_MASK
                if size >= need and (best == 0 or size < best_size):
                    best = b
                    best_size = size
                lo = b
                at = b + 4
                b = h[(b >> 2) + 1]
            if best:
                return best
            c += 1
        return 0
    at = (heads + c) << 2            # first fit: the lowest block that fits
    b = h[heads + c]
    lo = start - 1
    while b:
        if b <= lo or b > last:
            return 0 - CORRUPT_AT - at
        if (h[b >> 2] & SIZE_MASK) >= need:
            best = b
            break
        lo = b
        at = b + 4
        b = h[(b >> 2) + 1]
    while k < nc:
        b = h[heads + k]
        if b != 0 and (b < start or b > last):
            return 0 - CORRUPT_AT - ((heads + k) << 2)
        if b != 0 and (best == 0 or b < best):
            best = b
        k += 1
    return best


# What _core.__getattr__ copies into _core's globals on the first look-up.
NAMES = ("parity", "seal", "test_bit", "_is_start", "_page_start", "_page_unstart", "heap_block",
         "_used_above", "heap_resize", "owner", "first_not", "move", "popcount", "_find")

if CHECK_ALIGN:      # frozen armv6m code: refused at import if misaligned (see _core)
    from ._codealign import refuse
    refuse(globals(), ())
    del refuse       # (its module leaves RAM)
