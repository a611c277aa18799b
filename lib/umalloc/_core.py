"""The allocator's hot paths, compiled by the viper emitter on MicroPython.

Every function takes `w`, the arena seen as 32-bit words (the bytearray itself
on MicroPython, a memoryview cast to "I" on CPython), and ints.  All state is
in the arena; nothing here creates a Python object, so these functions run
under micropython.heap_lock() and from a hard IRQ handler.

Pointers are byte offsets into the arena and stay below 2**24, so no value
that reaches Python code is ever a heap-allocated int on a 32-bit port.
Every word access is 4-byte aligned (Cortex-M0+ and Xtensa fault otherwise).

Arena header (words) ------------------------------------------------------
Heap block: one header word, then the payload.
    bit 0      USED
    bit 1      PREV_FREE (the block just below is free: its footer holds its size)
    bits 2-23  block size in bytes, header included (multiple of the granule)
    bits 24-28 slack: size - 4 - requested length, so view() knows the length
    bit 29     parity: the header word always has an even number of set bits
Free heap block: header, next free, prev free (address-ordered list), ...,
    footer = size in its last word.  Minimum block: 16 bytes.
Partition block: no header; a free block's first word links to the next free.
Bitmaps (outside the blocks): heap block starts, and each partition's used blocks,
    so free() can tell a real block from an interior or stale pointer in O(1).
"""

try:
    import micropython
    from micropython import const
except ImportError:
    from ._shim import micropython, const, ptr32, ptr8

PORTABLE = False          # True when _portable runs this source without viper

MAGIC = const(0x1D6A11C0)

# Arena header word indexes.
H_MAGIC = const(0)
H_SIZE = const(1)
H_NPARTS = const(2)
H_HEAP_START = const(3)
H_HEAP_END = const(4)
H_CLASSES = const(5)       # byte offset of the class lists' heads, then their tails
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
H_HBITMAP = const(16)      # byte offset of the heap block-start bitmap
H_TRACE = const(17)        # byte offset of the trace ring
H_TRACE_CAP = const(18)
H_TRACE_POS = const(19)
H_TRACE_COUNT = const(20)
H_GRAN_SHIFT = const(21)   # heap granule = 1 << this (4 or 8 bytes)
H_PSTART = const(22)       # first byte of partition blocks
H_META = const(23)         # bytes of fixed metadata (header, descriptors, bitmaps, ring)
H_PARTS = const(24)        # first partition descriptor
HEADER_WORDS = const(24)

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
PD_WORDS = const(9)

POLICY_FIRST = const(0)
POLICY_BEST = const(1)
POLICY_TWOENDED = const(2)

USED = const(1)
PREV_FREE = const(2)
SIZE_MASK = const(0xFFFFFC)
SLACK_SHIFT = const(24)
PARITY = const(0x20000000)
MIN_BLOCK = const(16)
MAX_SIZE = const(0x1000000)  # offsets and sizes fit 24 bits
GUARD_SIZE = const(4)           # debug mode: guard bytes after each heap payload

# Negative results carry an ERR_MEM_* code (see errors.py).
E_PBLK = const(-115)
E_ADDR = const(-118)
E_FULL = const(-114)
E_DOUBLE = const(-120)
E_CORRUPT = const(-121)


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
def _bit(w, bitmap: int, i: int, value: int):
    h = ptr32(w)
    k = (bitmap >> 2) + (i >> 5)
    if value:
        h[k] = h[k] | (1 << (i & 31))
    else:
        h[k] = h[k] & (-1 - (1 << (i & 31)))


@micropython.viper
def test_bit(w, bitmap: int, i: int) -> int:
    h = ptr32(w)
    return (h[(bitmap >> 2) + (i >> 5)] >> (i & 31)) & 1


# -- partitions ---------------------------------------------------------------

@micropython.viper
def part_get(w, d: int) -> int:
    """OSMemGet: pop the first free block of descriptor d (word index); 0 if none."""
    h = ptr32(w)
    p = h[d + PD_HEAD]
    if p == 0:
        h[d + PD_FAIL] += 1
        return 0
    h[d + PD_HEAD] = h[p >> 2]
    n = h[d + PD_NFREE] - 1
    h[d + PD_NFREE] = n
    if n < h[d + PD_MIN]:
        h[d + PD_MIN] = n
    i = (p - h[d + PD_START]) // h[d + PD_SIZE]
    k = (h[d + PD_BITMAP] >> 2) + (i >> 5)
    h[k] = h[k] | (1 << (i & 31))
    return p


@micropython.viper
def part_put(w, d: int, p: int) -> int:
    """OSMemPut: return block p; 0 or a negative error code (nothing changed then)."""
    h = ptr32(w)
    start = h[d + PD_START]
    if p < start or p >= h[d + PD_END]:
        return E_PBLK
    rel = p - start
    i = rel // h[d + PD_SIZE]
    if i * h[d + PD_SIZE] != rel:
        return E_PBLK
    if h[d + PD_NFREE] >= h[d + PD_NBLKS]:
        return E_FULL
    k = (h[d + PD_BITMAP] >> 2) + (i >> 5)
    mask = 1 << (i & 31)
    if (h[k] & mask) == 0:
        return E_DOUBLE
    h[k] = h[k] & (-1 - mask)
    h[p >> 2] = h[d + PD_HEAD]
    h[d + PD_HEAD] = p
    h[d + PD_NFREE] += 1
    return 0


# -- heap ---------------------------------------------------------------------
#
# Free blocks sit on one of NCLASSES address-ordered lists, by size class
# (4 classes per power of two, TLSF-style).  Searching a request's own class
# plus the heads (or tails) of the larger classes finds exactly the block a
# single address-ordered first-fit (or last-fit) list would, without walking
# every fragment that is too small.  Some lines are inlined on purpose: a
# viper-to-viper call costs about as much as the whole list update.

@micropython.viper
def size_class(size: int) -> int:
    fl = 4
    t = size >> 5
    while t:
        fl += 1
        t = t >> 1
    return ((fl - 4) << 2) | ((size >> (fl - 2)) & 3)


@micropython.viper
def _insert(w, b: int, size: int):
    """Make [b, b+size) a free block: header, footer, and its place in its class list."""
    h = ptr32(w)
    fl = 4
    t = size >> 5
    while t:
        fl += 1
        t = t >> 1
    heads = (h[H_CLASSES] >> 2) + (((fl - 4) << 2) | ((size >> (fl - 2)) & 3))
    tails = heads + h[H_NCLASSES]
    x = size ^ (size >> 16)
    x = x ^ (x >> 8)
    x = x ^ (x >> 4)
    x = x ^ (x >> 2)
    x = x ^ (x >> 1)
    h[b >> 2] = size | ((x & 1) << 29)       # a free block never has PREV_FREE
    h[((b + size) >> 2) - 1] = size
    prv = h[tails]
    nxt = 0
    if prv > b:                              # not past the class's last block: walk
        prv = 0
        nxt = h[heads]
        while nxt != 0 and nxt < b:
            prv = nxt
            nxt = h[(nxt >> 2) + 1]
    h[(b >> 2) + 1] = nxt
    h[(b >> 2) + 2] = prv
    if prv:
        h[(prv >> 2) + 1] = b
    else:
        h[heads] = b
    if nxt:
        h[(nxt >> 2) + 2] = b
    else:
        h[tails] = b
    h[H_FREE_SIZE] += size
    h[H_FREE_COUNT] += 1


@micropython.viper
def _remove(w, b: int, size: int):
    """Take free block b (of `size` bytes) off its class list."""
    h = ptr32(w)
    fl = 4
    t = size >> 5
    while t:
        fl += 1
        t = t >> 1
    heads = (h[H_CLASSES] >> 2) + (((fl - 4) << 2) | ((size >> (fl - 2)) & 3))
    nxt = h[(b >> 2) + 1]
    prv = h[(b >> 2) + 2]
    if prv:
        h[(prv >> 2) + 1] = nxt
    else:
        h[heads] = nxt
    if nxt:
        h[(nxt >> 2) + 2] = prv
    else:
        h[heads + h[H_NCLASSES]] = prv
    h[H_FREE_SIZE] -= size
    h[H_FREE_COUNT] -= 1


@micropython.viper
def _replace(w, b: int, size: int, nb: int, nsize: int):
    """Free block b becomes [nb, nb+nsize) with no other free block in between.

    When the size class stays the same (the usual split or merge), the new
    block simply takes b's place in its list.
    """
    h = ptr32(w)
    fl = 4
    t = size >> 5
    while t:
        fl += 1
        t = t >> 1
    c = ((fl - 4) << 2) | ((size >> (fl - 2)) & 3)
    fl = 4
    t = nsize >> 5
    while t:
        fl += 1
        t = t >> 1
    if c != ((fl - 4) << 2) | ((nsize >> (fl - 2)) & 3):
        _remove(w, b, size)
        _insert(w, nb, nsize)
        return
    nxt = h[(b >> 2) + 1]
    prv = h[(b >> 2) + 2]
    x = nsize ^ (nsize >> 16)
    x = x ^ (x >> 8)
    x = x ^ (x >> 4)
    x = x ^ (x >> 2)
    x = x ^ (x >> 1)
    h[nb >> 2] = nsize | ((x & 1) << 29)
    h[((nb + nsize) >> 2) - 1] = nsize
    h[(nb >> 2) + 1] = nxt
    h[(nb >> 2) + 2] = prv
    heads = (h[H_CLASSES] >> 2) + c
    if prv:
        h[(prv >> 2) + 1] = nb
    else:
        h[heads] = nb
    if nxt:
        h[(nxt >> 2) + 2] = nb
    else:
        h[heads + h[H_NCLASSES]] = nb
    h[H_FREE_SIZE] += nsize - size


@micropython.viper
def _find(w, need: int, small: int) -> int:
    """The free block the arena's policy picks for `need` bytes; 0 when none fits."""
    h = ptr32(w)
    nc = h[H_NCLASSES]
    heads = h[H_CLASSES] >> 2
    fl = 4
    t = need >> 5
    while t:
        fl += 1
        t = t >> 1
    c = ((fl - 4) << 2) | ((need >> (fl - 2)) & 3)
    if c >= nc:
        return 0
    best = 0
    k = c + 1
    if small:      # twoended, small request: the highest block that fits (last fit)
        b = h[heads + nc + c]
        while b:
            if (h[b >> 2] & SIZE_MASK) >= need:
                best = b
                break
            b = h[(b >> 2) + 2]
        while k < nc:
            if h[heads + nc + k] > best:
                best = h[heads + nc + k]
            k += 1
        return best
    if h[H_POLICY] == POLICY_BEST:   # smallest that fits, lowest address on ties
        best_size = 0
        while c < nc:
            b = h[heads + c]
            while b:
                size = h[b >> 2] & SIZE_MASK
                if size >= need and (best == 0 or size < best_size):
                    best = b
                    best_size = size
                b = h[(b >> 2) + 1]
            if best:
                return best
            c += 1
        return 0
    b = h[heads + c]                 # first fit: the lowest block that fits
    while b:
        if (h[b >> 2] & SIZE_MASK) >= need:
            best = b
            break
        b = h[(b >> 2) + 1]
    while k < nc:
        b = h[heads + k]
        if b != 0 and (best == 0 or b < best):
            best = b
        k += 1
    return best


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
    if (h[(h[H_HBITMAP] >> 2) + (i >> 5)] >> (i & 31)) & 1 == 0:
        return E_PBLK
    v = h[b >> 2]
    if int(parity(v)) or (v & SIZE_MASK) < MIN_BLOCK or b + (v & SIZE_MASK) > h[H_HEAP_END]:
        return E_CORRUPT
    if (v & USED) == 0:
        return E_DOUBLE
    return b


@micropython.viper
def heap_resize(w, p: int, n: int) -> int:
    """Grow or shrink live block p in place to hold n bytes: 1 done, 0 cannot."""
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
    if nb < end:
        if (h[nb >> 2] & USED) == 0:
            nsize = h[nb >> 2] & SIZE_MASK
    avail = size + nsize
    if need > avail:
        return 0
    bitmap = h[H_HBITMAP] >> 2
    gshift = h[H_GRAN_SHIFT]
    if nsize:                            # absorb the free neighbour; any tail goes back
        _remove(w, nb, nsize)
        i = (nb - h[H_HEAP_START]) >> gshift
        h[bitmap + (i >> 5)] = h[bitmap + (i >> 5)] ^ (1 << (i & 31))
    rest = avail - need
    after = b + avail                    # the block above whatever we end up with
    if rest >= MIN_BLOCK:
        r = b + need
        i = (r - h[H_HEAP_START]) >> gshift
        h[bitmap + (i >> 5)] = h[bitmap + (i >> 5)] | (1 << (i & 31))
        _insert(w, r, rest)
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


# -- the wrappers' routing ----------------------------------------------------

@micropython.viper
def alloc(w, n: int) -> int:
    """malloc: the smallest partition whose blocks fit and have one free, else the heap
    (placed by the arena's policy, splitting the block); pointer, 0, or -1 for n < 0."""
    h = ptr32(w)
    if n < 0:
        return -1
    if n >= MAX_SIZE:               # larger than any arena: a failure, like no room
        h[H_FAIL] += 1
        return 0
    d = H_PARTS
    end = H_PARTS + h[H_NPARTS] * PD_WORDS
    while d < end:
        if h[d + PD_SIZE] >= n and h[d + PD_HEAD] != 0:
            return int(part_get(w, d))
        d += PD_WORDS
    # The heap (inlined here: a viper-to-viper call costs as much as a list update).
    gran = 1 << h[H_GRAN_SHIFT]
    need = (n + 4 + GUARD_SIZE * h[H_DEBUG] + gran - 1) & (0 - gran)
    if need < MIN_BLOCK:
        need = MIN_BLOCK
    small = 0
    b = 0
    policy = h[H_POLICY]
    if policy == POLICY_FIRST:           # _find's first-fit branch, inlined
        nc = h[H_NCLASSES]
        heads = h[H_CLASSES] >> 2
        fl = 4
        t = need >> 5
        while t:
            fl += 1
            t = t >> 1
        k = ((fl - 4) << 2) | ((need >> (fl - 2)) & 3)
        if k < nc:
            b = h[heads + k]
            while b:
                if (h[b >> 2] & SIZE_MASK) >= need:
                    break
                b = h[(b >> 2) + 1]
            k += 1
            while k < nc:
                f = h[heads + k]
                if f != 0 and (b == 0 or f < b):
                    b = f
                k += 1
    else:
        if policy == POLICY_TWOENDED and need <= h[H_SMALL]:
            small = 1
        b = int(_find(w, need, small))
    if b == 0:
        h[H_FAIL] += 1
        if h[H_FREE_SIZE] - 4 * h[H_FREE_COUNT] >= n:
            h[H_FAIL_FRAG] += 1
        return 0
    size = h[b >> 2] & SIZE_MASK
    rest = size - need
    flags = USED
    if rest >= MIN_BLOCK:
        if small:                        # two-ended small: carve the top, the rest stays below
            _replace(w, b, size, b, rest)
            b = b + rest
            flags = USED | PREV_FREE
            nb = b + need
            if nb < h[H_HEAP_END]:       # its lower neighbour is now used
                h[nb >> 2] = h[nb >> 2] ^ (PREV_FREE | PARITY)
            i = (b - h[H_HEAP_START]) >> h[H_GRAN_SHIFT]
        else:                            # carve the bottom, the rest stays above
            _replace(w, b, size, b + need, rest)
            i = (b + need - h[H_HEAP_START]) >> h[H_GRAN_SHIFT]
        k = (h[H_HBITMAP] >> 2) + (i >> 5)
        h[k] = h[k] | (1 << (i & 31))    # the new block start
        size = need
    else:
        _remove(w, b, size)
        nb = b + size
        if nb < h[H_HEAP_END]:
            h[nb >> 2] = h[nb >> 2] ^ (PREV_FREE | PARITY)
    v = size | flags | ((size - 4 - n) << SLACK_SHIFT)
    x = v ^ (v >> 16)
    x = x ^ (x >> 8)
    x = x ^ (x >> 4)
    x = x ^ (x >> 2)
    x = x ^ (x >> 1)
    h[b >> 2] = v | ((x & 1) << 29)
    h[H_LIVE] += 1
    free = h[H_FREE_SIZE] - 4 * h[H_FREE_COUNT]
    if free < h[H_MIN_FREE]:
        h[H_MIN_FREE] = free
    return b + 4


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
def release(w, p: int) -> int:
    """free: find the owner from the address alone, coalescing heap blocks with both
    neighbours; 0 or a negative error code (and then nothing changed)."""
    h = ptr32(w)
    if p < h[H_HEAP_START]:              # a partition block, or no block at all
        d = H_PARTS
        end = H_PARTS + h[H_NPARTS] * PD_WORDS
        while d < end:
            if p < h[d + PD_END]:
                if p >= h[d + PD_START]:
                    return int(part_put(w, d, p))
                return E_ADDR
            d += PD_WORDS
        return E_ADDR
    b = p - 4                            # the checks of heap_block(), inlined
    start = h[H_HEAP_START]
    end = h[H_HEAP_END]
    if b < start or b >= end:
        return E_ADDR
    gshift = h[H_GRAN_SHIFT]
    bitmap = h[H_HBITMAP] >> 2
    i = (b - start) >> gshift
    if (i << gshift) + start != b or (h[bitmap + (i >> 5)] >> (i & 31)) & 1 == 0:
        return E_PBLK
    v = h[b >> 2]
    size = v & SIZE_MASK
    x = v ^ (v >> 16)
    x = x ^ (x >> 8)
    x = x ^ (x >> 4)
    x = x ^ (x >> 2)
    x = x ^ (x >> 1)
    if (x & 1) or size < MIN_BLOCK or b + size > end:
        return E_CORRUPT
    if (v & USED) == 0:
        return E_DOUBLE
    nb = b + size
    nsize = 0                            # size of a free block above, if any
    if nb < end:
        nv = h[nb >> 2]
        if nv & USED:
            h[nb >> 2] = nv ^ (PREV_FREE | PARITY)
        else:
            nsize = nv & SIZE_MASK
            i = (nb - start) >> gshift
            h[bitmap + (i >> 5)] = h[bitmap + (i >> 5)] ^ (1 << (i & 31))
    if v & PREV_FREE:                    # merge into the free block below
        pb = b - h[(b >> 2) - 1]
        psize = h[pb >> 2] & SIZE_MASK
        i = (b - start) >> gshift
        h[bitmap + (i >> 5)] = h[bitmap + (i >> 5)] ^ (1 << (i & 31))
        if nsize:
            _remove(w, nb, nsize)
        _replace(w, pb, psize, pb, psize + size + nsize)
    elif nsize:                          # b takes the place of the free block above
        _replace(w, nb, nsize, b, size + nsize)
    else:
        _insert(w, b, size)
    h[H_LIVE] -= 1
    return 0


# -- byte helpers (debug poisoning, calloc, realloc copies) ---------------------

@micropython.viper
def fill(b, off: int, n: int, value: int):
    m = ptr8(b)
    end = off + n
    while off < end:
        m[off] = value
        off += 1


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


# -- word access for the non-hot Python code (stats, check, layout) -----------

@micropython.viper
def ld(w, i: int) -> int:
    h = ptr32(w)
    return h[i]


@micropython.viper
def st(w, i: int, v: int):
    h = ptr32(w)
    h[i] = v


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
