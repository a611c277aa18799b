"""The viper core: malloc/free and the heap's list helpers, compiled by the viper emitter.

The fallback where no C core (firmware/ccore, loaded by _core) exists for the port:
ESP32 (xtensawin), CPython's simulator, a firmware without it.  _core imports this
module only then, or when a test forces it (_core.CCORE = None before Arena()), so
`import umalloc` leaves this native code out of RAM where the C core runs.  The
C core is a translation of this code: keep them in step (same checks, same order,
same results).  The constants are _core's own (const() only inlines names defined
in the same module; host_tests/test_bench.py checks the lists agree).
"""

try:
    import micropython
    from micropython import const
    SIZE_OK = const(0xFFFFFF)  # (x & SIZE_OK) is x: x is an int in 0..MAX_SIZE-1 (small ints are unique)
except ImportError:
    from ._shim import micropython, const, ptr32, ptr8, uint, SIZE_OK

from ._core import CHECK_ALIGN


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


# -- word and byte access for Arena's layout and the cold code (_core binds these
# where no C core exists; the C core's ld/st/fill/bit/address do the same) ------

@micropython.viper
def ld(w, i: int) -> int:
    h = ptr32(w)
    return h[i]


@micropython.viper
def st(w, i: int, v: int):
    h = ptr32(w)
    h[i] = v


@micropython.viper
def fill(b, off: int, n: int, value: int):
    m = ptr8(b)
    end = off + n
    while off < end:
        m[off] = value
        off += 1


@micropython.viper
def _address(b) -> int:
    return int(ptr8(b))


# -- the seals over the layout (see "seals" in _core.py) -----------------------

# No `& 0xFFFFFFFF` on ld(): on a 32-bit port that mask is a long int, and masking with it
# allocates, but a debug arena checks the seals under heap_lock().  A sound layout word is
# below 2**30, the same int on every VM; a damaged one fails the seal either way (the
# closures compare the same signed words).

def header_seal(w):
    x = MAGIC
    for i in (H_SIZE, H_NPARTS, H_HEAP_START, H_HEAP_END, H_CLASSES, H_NCLASSES, H_POLICY,
              H_SMALL, H_DEBUG, H_PAGES, H_TRACE, H_TRACE_CAP, H_GRAN_SHIFT, H_PSTART, H_IRQ):
        x ^= ld(w, i)
    return x


def part_seal(w, d):
    x = PD_KEY ^ (ld(w, d + PD_SHIFT) & 31) ^ ld(w, H_IRQ)
    for i in (PD_SIZE, PD_NBLKS, PD_START, PD_END, PD_BITMAP):
        x ^= ld(w, d + i)
    return x


def seal_layout(w):
    """Write the seals once the layout words are final (Arena() does, last)."""
    st(w, H_SEAL, header_seal(w))
    d = H_PARTS
    while d < H_PARTS + ld(w, H_NPARTS) * PD_WORDS:
        st(w, d + PD_SHIFT, (ld(w, d + PD_SHIFT) & 31) | (part_seal(w, d) << 5))
        d += PD_WORDS


# -- heap ---------------------------------------------------------------------
#
# Free blocks sit on one of NCLASSES address-ordered lists, by size class
# (4 classes per power of two, TLSF-style).  malloc's default, good fit, walks
# the request's own class, else takes the head of the smallest non-empty larger
# class (the free block ending the heap last: placements then do not depend on
# the heap's size, which sim and advise rely on).  First fit, best fit and
# two-ended search in cold code (_corecold._find).  A class keeps only its head (no tail: 4 bytes a class less of the
# arena); inserting walks the class from its head, and two-ended's last fit
# (cold code) walks the lists.  Some lines are inlined on purpose: a
# viper-to-viper call costs about as much as the whole list update.

@micropython.viper
def size_class(size: int) -> int:
    fl = 4                 # 4 + bit length of size >> 5
    t = size >> 5
    while t >= 16:
        fl += 4
        t = t >> 4
    while t:
        fl += 1
        t = t >> 1
    return ((fl - 4) << 2) | ((size >> (fl - 2)) & 3)


# Damage checks.  Everything the core follows or writes through is checked
# first, each with a mask or a compare: an offset read from the arena must lie
# inside the heap on a granule boundary, a free block's header has no USED,
# PREV_FREE or slack bits and even parity, its footer repeats its size, it
# is a block start (see the page index in _corecold), and each neighbour's link points back.  A failed check
# returns -(CORRUPT_AT + offset of the damaged word) and the operation stops
# before its first write (a damaged list found half-way through a merge may
# leave the merged block off its list: nothing outside the heap is touched).
# A value read from the arena reaches a viper call or a return only once it
# is known to lie inside the heap: on a 32-bit port a larger one would be
# boxed into a heap-allocated int.

@micropython.viper
def _free_block(w, x: int, at: int) -> int:
    """Size of free heap block x (inside the heap: the caller checked); <0 if damaged.

    `at` is where x was read from: a misaligned x is that word's fault.
    """
    h = ptr32(w)
    start = h[H_HEAP_START]
    end = h[H_HEAP_END]
    gm = (1 << h[H_GRAN_SHIFT]) - 1
    if x < start or x > end - MIN_BLOCK or (x - start) & gm:
        return 0 - CORRUPT_AT - at
    v = h[x >> 2]
    size = v & SIZE_MASK
    if v & FREE_BAD or size < MIN_BLOCK or size & gm or x + size > end:
        return 0 - CORRUPT_AT - x
    t = v ^ (v >> 16)
    t = t ^ (t >> 8)
    if (0x6996 >> ((t ^ (t >> 4)) & 15)) & 1:
        return 0 - CORRUPT_AT - x
    if h[((x + size) >> 2) - 1] != size:
        return 0 - CORRUPT_AT - (x + size - 4)
    gshift = h[H_GRAN_SHIFT]                 # x must be a block start: _is_start written out
    i = (x - start) >> PAGE_SHIFT
    t = h[H_PAGES] + i
    t = (h[t >> 2] >> ((t & 3) << 3)) & 0xFF
    if t == NO_START:
        return 0 - CORRUPT_AT - x
    t = start + (i << PAGE_SHIFT) + (t << gshift)
    while t < x:
        v = h[t >> 2]
        i = v & SIZE_MASK
        c = v ^ (v >> 16)
        c = c ^ (c >> 8)
        c = (0x6996 >> ((c ^ (c >> 4)) & 15)) | (v >> 30)
        if c & 1 or i < MIN_BLOCK or i & gm or t + i > end:
            return 0 - CORRUPT_AT - t
        t += i
    if t != x:
        return 0 - CORRUPT_AT - x
    return size



@micropython.viper
def _links_ok(w, b: int, c: int) -> int:
    """0 when free block b's list neighbours (class c) point back at it, else <0."""
    h = ptr32(w)
    heads = (h[H_CLASSES] >> 2) + c
    start = h[H_HEAP_START]
    gm = (1 << h[H_GRAN_SHIFT]) - 1
    nxt = h[(b >> 2) + 1]
    prv = h[(b >> 2) + 2]
    if nxt:
        if nxt <= b or nxt > h[H_HEAP_END] - MIN_BLOCK or (nxt - start) & gm:
            return 0 - CORRUPT_AT - (b + 4)
        if h[nxt >> 2] & USED or h[(nxt >> 2) + 2] != b:
            return 0 - CORRUPT_AT - nxt
    if prv:
        if prv < start or prv >= b or (prv - start) & gm:
            return 0 - CORRUPT_AT - (b + 8)
        if h[prv >> 2] & USED or h[(prv >> 2) + 1] != b:
            return 0 - CORRUPT_AT - prv
    elif h[heads] != b:
        return 0 - CORRUPT_AT - (heads << 2)
    return 0


@micropython.viper
def _insert(w, b: int, size: int) -> int:
    """Make [b, b+size) a free block: header, footer, and its place in its class list.

    0, or <0 (nothing written) when the class list it walks is damaged.
    """
    h = ptr32(w)
    fl = 4                 # 4 + bit length of size >> 5
    t = size >> 5
    while t >= 16:
        fl += 4
        t = t >> 4
    while t:
        fl += 1
        t = t >> 1
    c = ((fl - 4) << 2) | ((size >> (fl - 2)) & 3)
    heads = (h[H_CLASSES] >> 2) + c
    start = h[H_HEAP_START]
    gm = (1 << h[H_GRAN_SHIFT]) - 1
    prv = 0
    at = heads << 2
    nxt = h[heads]
    while nxt != 0 and nxt < b:              # ascending: a damaged list cannot loop
        if nxt <= prv or nxt < start or (nxt - start) & gm or h[nxt >> 2] & USED:
            return 0 - CORRUPT_AT - at
        prv = nxt
        at = nxt + 4
        nxt = h[(nxt >> 2) + 1]
    if prv and prv + MIN_BLOCK > b:          # the block below b ends at or below b
        return 0 - CORRUPT_AT - at
    if nxt and (nxt < b + size or nxt > h[H_HEAP_END] - MIN_BLOCK or (nxt - start) & gm
                or h[nxt >> 2] & USED or h[(nxt >> 2) + 2] != prv):
        return 0 - CORRUPT_AT - at
    x = size ^ (size >> 16)
    x = x ^ (x >> 8)
    x = x ^ (x >> 4)
    x = x ^ (x >> 2)
    x = x ^ (x >> 1)
    h[b >> 2] = size | ((x & 1) << 29)       # a free block never has PREV_FREE
    h[((b + size) >> 2) - 1] = size
    h[(b >> 2) + 1] = nxt
    h[(b >> 2) + 2] = prv
    if prv:
        h[(prv >> 2) + 1] = b
    else:
        h[heads] = b
    if nxt:
        h[(nxt >> 2) + 2] = b
    if prv == 0 and nxt == 0:                # the class was empty: mark it non-empty
        k = (h[H_CLASSES] >> 2) + h[H_NCLASSES] + (c >> 5)
        h[k] = h[k] | (1 << (c & 31))
    h[H_FREE_SIZE] += size
    h[H_FREE_COUNT] += 1
    return 0


@micropython.viper
def _remove(w, b: int, size: int) -> int:
    """Take free block b (of `size` bytes) off its class list: 0, or <0 if its links are damaged."""
    h = ptr32(w)
    fl = 4                 # 4 + bit length of size >> 5
    t = size >> 5
    while t >= 16:
        fl += 4
        t = t >> 4
    while t:
        fl += 1
        t = t >> 1
    c = ((fl - 4) << 2) | ((size >> (fl - 2)) & 3)
    r = int(_links_ok(w, b, c))
    if r:
        return r
    heads = (h[H_CLASSES] >> 2) + c
    nxt = h[(b >> 2) + 1]
    prv = h[(b >> 2) + 2]
    if prv:
        h[(prv >> 2) + 1] = nxt
    else:
        h[heads] = nxt
    if nxt:
        h[(nxt >> 2) + 2] = prv
    if prv == 0 and nxt == 0:                # the class is empty now
        k = (h[H_CLASSES] >> 2) + h[H_NCLASSES] + (c >> 5)
        h[k] = h[k] & (-1 - (1 << (c & 31)))
    h[H_FREE_SIZE] -= size
    h[H_FREE_COUNT] -= 1
    return 0


# -- entry points bound to one arena ------------------------------------------
#
# Arena and Partition install these closures as instance attributes, so that
# a.malloc(n) or part.get() is one call straight into native code: no Python
# frame and no lock object in between.  Each closes over at most four cells:
# with its one argument that keeps MicroPython's closure call on the C stack
# (five or more values would be copied to the GC heap).  `a` is handle(w): on
# MicroPython the arena's address as an int, which ptr32(uint(a)) turns into a
# pointer without a buffer-protocol call.  `ext` holds the arena's word view (so
# the closure keeps the buffer alive), enable_irq, the slow paths' functions
# (_refused, _refused again for sizes, _find, _remove, _insert, _free_block), disable_irq and
# _find_unmasking (the way malloc calls _find): a closure
# that named a module global would swap the module globals and push an
# exception frame on every call from another module.  free calls disable_irq
# from its own cell `dis`; malloc, whose fourth cell is `box` (round: the int
# object of a native int), through ext.  A pointer or size that is not an int
# in 0..MAX_SIZE-1 fails `(x & mask) is x` and goes to a Python function that
# says what is wrong; nothing has changed by then.  The
# list update of a split or merge are written out inside the closures on
# purpose: a viper-to-viper call costs as much as the work itself.

def _find_unmasking(ext, a, need, small, s):
    """malloc's search for the first / best / two-ended policies, ext[4] (_find: Python,
    run with interrupts masked when s is what disable_irq returned, not ext): should it
    raise (the recursion limit, malloc called deep in a program's stack), interrupts are
    unmasked before the exception leaves, or the board would run on with them off."""
    try:
        return ext[4](a, need, small)
    except:                              # noqa: E722 - anything, even KeyboardInterrupt
        if s is not ext:
            ext[1](s)                    # enable_irq
        raise


def _heap_closures(a, dis, ext):
    box = round
    mask = SIZE_OK

    @micropython.viper
    def malloc(n):
        if (n & mask) is n:              # not a bool: True & mask is 1, not True
            want = int(n)
        else:
            return ext[3](a, n)            # _refused(w, n): a size refused
        h = ptr32(uint(a))
        x = h[H_SIZE] ^ h[H_NPARTS] ^ h[H_HEAP_START] ^ h[H_HEAP_END] ^ h[H_CLASSES] ^ h[H_NCLASSES] \
            ^ h[H_POLICY] ^ h[H_SMALL] ^ h[H_DEBUG] ^ h[H_PAGES] ^ h[H_TRACE] ^ h[H_TRACE_CAP] \
            ^ h[H_GRAN_SHIFT] ^ h[H_PSTART] ^ h[H_IRQ]
        if (x ^ MAGIC) != h[H_SEAL]:     # the layout words every check below relies on
            return ext[2](0 - CORRUPT_AT, n, "malloc")
        s = ext
        if h[H_IRQ]:
            s = ext[8]()                   # disable_irq (a fifth cell would go to the GC heap)
        r = 0
        p = 0
        k = H_PARTS                      # the smallest partition that fits and has a block
        end = H_PARTS + h[H_NPARTS] * PD_WORDS
        while k < end:
            if h[k + PD_SIZE] >= want:
                p = h[k + PD_HEAD]
                if p:
                    break
            k += PD_WORDS
        if p:                            # OSMemGet, once k's seal and head check out
            v = h[k + PD_SHIFT]
            x = h[k + PD_SIZE] ^ h[k + PD_NBLKS] ^ h[k + PD_START] ^ h[k + PD_END] ^ h[k + PD_BITMAP] \
                ^ (v & 31) ^ h[H_IRQ]
            i = 0
            if (x ^ PD_KEY) == (v >> 5):
                i = p - h[k + PD_START]  # (the seal first: a zeroed block size would divide by 0)
                if v & 31:
                    i = i >> (v & 31)
                else:
                    bs = h[k + PD_SIZE]
                    if bs == 0:                  # never in a sound descriptor; no SIGFPE on a damaged one
                        bs = 1
                    i = i // bs
            else:
                r = 0 - CORRUPT_AT - (k << 2)
                p = 0
            c = (h[k + PD_BITMAP] >> 2) + (i >> 5)
            if r:
                pass
            elif p < h[k + PD_START] or p >= h[k + PD_END] or i * h[k + PD_SIZE] != p - h[k + PD_START] \
                    or (h[c] >> (i & 31)) & 1:
                r = 0 - CORRUPT_AT - ((k + PD_HEAD) << 2)
                p = 0
            else:
                h[k + PD_HEAD] = h[(p + 3) >> 2]
                h[c] = h[c] | (1 << (i & 31))
                c = h[k + PD_NFREE] - 1
                h[k + PD_NFREE] = c
                if c < h[k + PD_MIN]:
                    h[k + PD_MIN] = c
        else:                            # the heap, placed by the arena's policy
            gran = 1 << h[H_GRAN_SHIFT]
            need = (want + 4 + GUARD_SIZE * h[H_DEBUG] + gran - 1) & (0 - gran)
            if need < MIN_BLOCK:
                need = MIN_BLOCK
            small = 0
            b = 0
            bc = -1                      # b's size class, when the search knows it
            policy = h[H_POLICY]
            nc = h[H_NCLASSES]
            heads = h[H_CLASSES] >> 2
            start = h[H_HEAP_START]
            last = h[H_HEAP_END] - MIN_BLOCK
            if policy == POLICY_GOOD:    # good fit: first fit in the request's class, else the
                fl = 4                   # lowest block of the smallest larger class; the block that
                t = need >> 5            # ends the heap only when no other fits (so placements do
                while t >= 16:           # not depend on the heap's size)
                    fl += 4
                    t = t >> 4
                while t:
                    fl += 1
                    t = t >> 1
                c = ((fl - 4) << 2) | ((need >> (fl - 2)) & 3)
                top = h[H_HEAP_END]
                wild = 0                 # the free block ending the heap, when it fits
                if c < nc:
                    at = (heads + c) << 2
                    b = h[heads + c]
                    lo = start - 1
                    while b:             # ascending and inside the heap, or damaged
                        if b <= lo or b > last:
                            r = 0 - CORRUPT_AT - at
                            b = 0
                            break
                        t = h[b >> 2] & SIZE_MASK
                        if t >= need:
                            if b + t != top:
                                bc = c
                                break
                            wild = b     # (the block ending the heap is last in its list)
                            bc = c
                            b = 0
                            break
                        lo = b
                        at = b + 4
                        b = h[(b >> 2) + 1]
                    c += 1               # the smallest non-empty larger class: its head
                    i = c >> 5
                    nw = (nc + 31) >> 5
                    t = 0
                    if i < nw:
                        t = h[heads + nc + i] & (0 - (1 << (c & 31)))
                    while i < nw and b == 0 and r == 0:
                        while t:
                            f = t & (0 - t)          # lowest set bit; its index by halving
                            t = t ^ f
                            c = i << 5
                            if (f & 0xFFFF) == 0:
                                c += 16
                                f = f >> 16
                            if (f & 0xFF) == 0:
                                c += 8
                                f = f >> 8
                            if (f & 0xF) == 0:
                                c += 4
                                f = f >> 4
                            if (f & 3) == 0:
                                c += 2
                                f = f >> 2
                            if (f & 1) == 0:
                                c += 1
                            f = h[heads + c]
                            if f < start or f > last:   # a class head left the heap
                                r = 0 - CORRUPT_AT - ((heads + c) << 2)
                                break
                            if f + (h[f >> 2] & SIZE_MASK) != top:
                                b = f
                                bc = c
                                break
                            wild = f
                            bc = c
                        i += 1
                        if i < nw:
                            t = h[heads + nc + i]
                    if b == 0 and r == 0:
                        b = wild         # (bc: its class, when it is one)
            else:
                if policy == POLICY_TWOENDED and need <= h[H_SMALL]:
                    small = 1
                b = int(ext[9](ext, a, need, small, s))   # _find, through _find_unmasking
                if b < 0:
                    r = b
                    b = 0
            if b == 0:
                if r == 0:
                    h[H_FAIL] += 1
                    if h[H_FREE_SIZE] - 4 * h[H_FREE_COUNT] >= want:
                        h[H_FAIL_FRAG] += 1
            else:
                at = b
                if bc >= 0:
                    at = (heads + bc) << 2
                # _free_block() and _links_ok() written out: a call would double malloc's cost
                gm = gran - 1
                v = h[b >> 2]
                size = v & SIZE_MASK
                x = v ^ (v >> 16)
                x = x ^ (x >> 8)
                x = 0x6996 >> ((x ^ (x >> 4)) & 15)
                c = bc
                if (b - start) & gm:
                    r = 0 - CORRUPT_AT - at
                elif v & FREE_BAD or x & 1 or size < MIN_BLOCK or size & gm or b + size > last + MIN_BLOCK \
                        or h[((b + size) >> 2) - 1] != size:
                    r = 0 - CORRUPT_AT - b
                elif c < 0:
                    fl = 4                 # 4 + bit length of size >> 5
                    t = size >> 5
                    while t >= 16:
                        fl += 4
                        t = t >> 4
                    while t:
                        fl += 1
                        t = t >> 1
                    c = ((fl - 4) << 2) | ((size >> (fl - 2)) & 3)
                elif (size >> ((c >> 2) + 2)) != 4 + (c & 3):   # on the list of another class
                    r = 0 - CORRUPT_AT - b
                if r == 0:               # _is_start(a, b) written out: b must be a block start
                    i = (b - start) >> PAGE_SHIFT
                    t = h[H_PAGES] + i
                    t = (h[t >> 2] >> ((t & 3) << 3)) & 0xFF
                    if t == NO_START:
                        t = b + 1
                    else:
                        t = start + (i << PAGE_SHIFT) + (t << h[H_GRAN_SHIFT])
                    while t < b:
                        v = h[t >> 2]
                        i = v & SIZE_MASK
                        x = v ^ (v >> 16)
                        x = x ^ (x >> 8)
                        x = (0x6996 >> ((x ^ (x >> 4)) & 15)) | (v >> 30)
                        if x & 1 or i < MIN_BLOCK or i & gm or t + i > last + MIN_BLOCK:
                            r = 0 - CORRUPT_AT - t
                            break
                        t += i
                    if r == 0 and t != b:
                        r = 0 - CORRUPT_AT - b
                if r == 0:               # b's list neighbours point back at it
                    nxt = h[(b >> 2) + 1]
                    prv = h[(b >> 2) + 2]
                    if nxt:
                        if nxt <= b or nxt > last or (nxt - start) & gm or h[nxt >> 2] & USED \
                                or h[(nxt >> 2) + 2] != b:
                            r = 0 - CORRUPT_AT - (b + 4)
                    if prv:
                        if prv < start or prv >= b or (prv - start) & gm or h[prv >> 2] & USED \
                                or h[(prv >> 2) + 1] != b:
                            r = 0 - CORRUPT_AT - (b + 8)
                    elif h[heads + c] != b:
                        r = 0 - CORRUPT_AT - ((heads + c) << 2)
                t = b + size             # above a free block: a used one that knows it
                if r == 0 and (small or size - need < MIN_BLOCK) and t < h[H_HEAP_END]:
                    v = h[t >> 2]
                    x = v ^ (v >> 16)
                    x = x ^ (x >> 8)
                    x = (0x6996 >> ((x ^ (x >> 4)) & 15)) | (v >> 30)
                    if x & 1 or (v & (USED | PREV_FREE)) != USED | PREV_FREE:   # (checked
                        r = 0 - CORRUPT_AT - t          # only when the split writes there)
            if r == 0 and b != 0:
                rest = size - need
                flags = USED
                if rest >= MIN_BLOCK:
                    old = b              # the free rest keeps old's place in its list
                    nb = b + need        # first fit carves the bottom, the rest stays above
                    if small:            # two-ended small: carve the top, the rest stays below
                        nb = b
                        b = b + rest
                        flags = USED | PREV_FREE
                        t = b + need
                        if t < h[H_HEAP_END]:
                            h[t >> 2] = h[t >> 2] ^ (PREV_FREE | PARITY)
                        t = b
                    else:
                        t = nb
                    i = (t - start) >> PAGE_SHIFT    # the new block start t: _page_start written out
                    t = (t - start - (i << PAGE_SHIFT)) >> h[H_GRAN_SHIFT]
                    i = h[H_PAGES] + i
                    x = (i & 3) << 3
                    if t < (h[i >> 2] >> x) & 0xFF:
                        h[i >> 2] = (h[i >> 2] & (-1 - (0xFF << x))) | (t << x)
                    fl = (c >> 2) + 4
                    if (rest >> (fl - 2)) == (size >> (fl - 2)):   # same leading 3 bits: same class
                        nxt = h[(old >> 2) + 1]
                        prv = h[(old >> 2) + 2]
                        x = rest ^ (rest >> 16)
                        x = x ^ (x >> 8)
                        x = (0x6996 >> ((x ^ (x >> 4)) & 15))   # bit 0: parity
                        h[nb >> 2] = rest | ((x & 1) << 29)
                        h[((nb + rest) >> 2) - 1] = rest
                        h[(nb >> 2) + 1] = nxt
                        h[(nb >> 2) + 2] = prv
                        if prv:
                            h[(prv >> 2) + 1] = nb
                        else:
                            h[heads + c] = nb
                        if nxt:
                            h[(nxt >> 2) + 2] = nb
                        h[H_FREE_SIZE] -= need
                    else:
                        ext[5](a, old, size)             # _remove: its links were checked above
                        r = int(ext[6](a, nb, rest))     # _insert
                    size = need
                else:
                    ext[5](a, b, size)             # _remove
                    t = b + size
                    if t < h[H_HEAP_END]:
                        h[t >> 2] = h[t >> 2] ^ (PREV_FREE | PARITY)
                if r == 0:
                    v = size | flags | ((size - 4 - want) << SLACK_SHIFT)
                    x = v ^ (v >> 16)
                    x = x ^ (x >> 8)
                    x = (0x6996 >> ((x ^ (x >> 4)) & 15))   # bit 0: parity
                    h[b >> 2] = v | ((x & 1) << 29)
                    h[H_LIVE] += 1
                    t = h[H_FREE_SIZE] - 4 * h[H_FREE_COUNT]
                    if t < h[H_MIN_FREE]:
                        h[H_MIN_FREE] = t
                    p = b + 4
        if h[H_IRQ]:
            ext[1](s)                      # enable_irq
        if r:
            return ext[2](r, n, "malloc")  # _refused
        if p:
            return box(p)
        return None

    @micropython.viper
    def free(p):
        if not p:
            return ext[2](E_ADDR, p, "free")
        if (p & mask) is p:
            q = int(p)
        else:
            return ext[2](E_ADDR, p, "free")
        h = ptr32(uint(a))
        x = h[H_SIZE] ^ h[H_NPARTS] ^ h[H_HEAP_START] ^ h[H_HEAP_END] ^ h[H_CLASSES] ^ h[H_NCLASSES] \
            ^ h[H_POLICY] ^ h[H_SMALL] ^ h[H_DEBUG] ^ h[H_PAGES] ^ h[H_TRACE] ^ h[H_TRACE_CAP] \
            ^ h[H_GRAN_SHIFT] ^ h[H_PSTART] ^ h[H_IRQ]
        if (x ^ MAGIC) != h[H_SEAL]:     # the layout words every check below relies on
            return ext[2](0 - CORRUPT_AT, p, "free")
        s = ext
        if h[H_IRQ]:
            s = dis()
        r = E_ADDR
        start = h[H_HEAP_START]
        if q < start:                    # a partition block, or no block at all
            k = H_PARTS
            end = H_PARTS + h[H_NPARTS] * PD_WORDS
            while k < end:
                if q < h[k + PD_END]:
                    break
                k += PD_WORDS
            if k < end and q >= h[k + PD_START]:   # OSMemPut, once k's seal checks out
                v = h[k + PD_SHIFT]
                x = h[k + PD_SIZE] ^ h[k + PD_NBLKS] ^ h[k + PD_START] ^ h[k + PD_END] \
                    ^ h[k + PD_BITMAP] ^ (v & 31) ^ h[H_IRQ]
                r = E_PBLK
                rel = q - h[k + PD_START]
                i = 0
                if (x ^ PD_KEY) != (v >> 5):
                    r = 0 - CORRUPT_AT - (k << 2)   # (before dividing by a block size it holds)
                elif v & 31:
                    i = rel >> (v & 31)
                else:
                    bs = h[k + PD_SIZE]
                    if bs == 0:                  # never in a sound descriptor; no SIGFPE on a damaged one
                        bs = 1
                    i = rel // bs
                if r != E_PBLK:
                    pass
                elif i * h[k + PD_SIZE] == rel:
                    r = E_FULL
                    if h[k + PD_NFREE] < h[k + PD_NBLKS]:
                        r = E_DOUBLE
                        c = (h[k + PD_BITMAP] >> 2) + (i >> 5)
                        bit = 1 << (i & 31)
                        if h[c] & bit:
                            h[c] = h[c] ^ bit
                            h[(q + 3) >> 2] = h[k + PD_HEAD]
                            h[k + PD_HEAD] = q
                            h[k + PD_NFREE] += 1
                            r = 0
        else:                            # the heap: every check of heap_block(), then merge
            b = q - 4
            end = h[H_HEAP_END]
            gshift = h[H_GRAN_SHIFT]
            pages = h[H_PAGES]
            v = 0
            size = 0
            t = 0
            if b >= start and b < end:
                r = E_PBLK
                i = (b - start) >> gshift
                if (i << gshift) + start == b:   # _is_start(a, b) written out: walk b's page
                    i = (b - start) >> PAGE_SHIFT
                    t = pages + i
                    t = (h[t >> 2] >> ((t & 3) << 3)) & 0xFF
                    if t == NO_START:
                        t = b + 1
                    else:
                        t = start + (i << PAGE_SHIFT) + (t << gshift)
                    while t < b:
                        v = h[t >> 2]
                        size = v & SIZE_MASK
                        x = v ^ (v >> 16)
                        x = x ^ (x >> 8)
                        x = (0x6996 >> ((x ^ (x >> 4)) & 15)) | (v >> 30)
                        if x & 1 or size < MIN_BLOCK or (size >> gshift) << gshift != size \
                                or t + size > end:
                            r = 0 - CORRUPT_AT - t
                            break
                        t += size
                    v = 0
                    size = 0
                if t == b:
                    v = h[b >> 2]
                    size = v & SIZE_MASK
                    x = v ^ (v >> 16)
                    x = x ^ (x >> 8)
                    x = (0x6996 >> ((x ^ (x >> 4)) & 15)) | (v >> 30)   # bit 0: parity
                    r = 0 - CORRUPT_AT - b
                    if (x & 1) == 0 and size >= MIN_BLOCK and b + size <= end \
                            and (size >> gshift) << gshift == size:
                        r = E_DOUBLE
                        if v & USED:
                            r = 0
            nb = b + size
            nsize = 0                    # size of a free block above, if any
            old = 0                      # a free block below, if any
            osize = 0
            if r == 0 and nb < end:      # the header above must know b is used
                t = h[nb >> 2]
                x = t ^ (t >> 16)
                x = x ^ (x >> 8)
                x = (0x6996 >> ((x ^ (x >> 4)) & 15)) | (t >> 30)
                if x & 1 or t & PREV_FREE:
                    r = 0 - CORRUPT_AT - nb
                elif (t & USED) == 0:    # _free_block(a, nb, nb) written out, but for the
                    nsize = t & SIZE_MASK    # walk: b is a block start, so nb is one
                    gm = (1 << gshift) - 1
                    if t & FREE_BAD or nsize < MIN_BLOCK or nsize & gm or nb + nsize > end \
                            or h[((nb + nsize) >> 2) - 1] != nsize:
                        r = 0 - CORRUPT_AT - nb
                        nsize = 0
            if r == 0 and v & PREV_FREE:  # the footer below names a free block ending at b
                t = h[(b >> 2) - 1]
                if t < MIN_BLOCK or t > b - start:
                    r = 0 - CORRUPT_AT - (b - 4)
                else:
                    old = b - t
                    osize = int(ext[7](a, old, b - 4))    # _free_block
                    if osize < 0:
                        r = osize
                    elif osize != t:
                        r = 0 - CORRUPT_AT - (b - 4)
            if r == 0 and old != 0 and nsize != 0:
                r = int(ext[5](a, nb, nsize))      # _remove
            if r == 0:
                f = old                  # the free block whose list place the result takes
                if v & PREV_FREE:        # merge into the free block below
                    b = old
                    size = osize + size + nsize
                elif nsize:              # b takes the place of the free block above
                    f = nb
                    osize = nsize
                    size = size + nsize
                if f:
                    fl = 4                 # 4 + bit length of osize >> 5
                    t = osize >> 5
                    while t >= 16:
                        fl += 4
                        t = t >> 4
                    while t:
                        fl += 1
                        t = t >> 1
                    c = ((fl - 4) << 2) | ((osize >> (fl - 2)) & 3)
                    if (size >> (fl - 2)) == (osize >> (fl - 2)):   # same leading 3 bits: same class
                        heads = (h[H_CLASSES] >> 2) + c            # _links_ok(a, f, c) written out
                        gm = (1 << gshift) - 1
                        nxt = h[(f >> 2) + 1]
                        prv = h[(f >> 2) + 2]
                        if nxt:
                            if nxt <= f or nxt > end - MIN_BLOCK or (nxt - start) & gm \
                                    or h[nxt >> 2] & USED or h[(nxt >> 2) + 2] != f:
                                r = 0 - CORRUPT_AT - (f + 4)
                        if prv:
                            if prv < start or prv >= f or (prv - start) & gm \
                                    or h[prv >> 2] & USED or h[(prv >> 2) + 1] != f:
                                r = 0 - CORRUPT_AT - (f + 8)
                        elif h[heads] != f:
                            r = 0 - CORRUPT_AT - (heads << 2)
                        if r == 0:
                            nxt = h[(f >> 2) + 1]
                            prv = h[(f >> 2) + 2]
                            x = size ^ (size >> 16)
                            x = x ^ (x >> 8)
                            x = (0x6996 >> ((x ^ (x >> 4)) & 15))   # bit 0: parity
                            h[b >> 2] = size | ((x & 1) << 29)
                            h[((b + size) >> 2) - 1] = size
                            h[(b >> 2) + 1] = nxt
                            h[(b >> 2) + 2] = prv
                            if prv:
                                h[(prv >> 2) + 1] = b
                            else:
                                h[heads] = b
                            if nxt:
                                h[(nxt >> 2) + 2] = b
                            h[H_FREE_SIZE] += size - osize
                    else:
                        r = int(ext[5](a, f, osize))       # _remove
                        if r == 0:
                            r = int(ext[6](a, b, size))    # _insert
                else:
                    r = int(ext[6](a, b, size))            # _insert
            if r == 0:                   # the lists agree: now the page index and flags
                if nb < end and nsize == 0:
                    h[nb >> 2] = h[nb >> 2] ^ (PREV_FREE | PARITY)
                e = b + size             # the merged block's end: the first start above
                u = 0                    # the starts the merge removed, q - 4 then nb
                if old:                  # (_page_unstart(a, u, e) written out)
                    u = q - 4
                elif nsize:
                    u = nb
                while u:
                    i = (u - start) >> PAGE_SHIFT
                    t = pages + i
                    x = (t & 3) << 3
                    if (u - start - (i << PAGE_SHIFT)) >> gshift == (h[t >> 2] >> x) & 0xFF:
                        v = NO_START
                        if e < end and (e - start) >> PAGE_SHIFT == i:
                            v = (e - start - (i << PAGE_SHIFT)) >> gshift
                        h[t >> 2] = (h[t >> 2] & (-1 - (0xFF << x))) | (v << x)
                    if u != nb and nsize:
                        u = nb
                    else:
                        u = 0
                h[H_LIVE] -= 1
        if h[H_IRQ]:
            ext[1](s)                      # enable_irq
        if r:
            return ext[2](r, p, "free")    # _refused
        return None

    return malloc, free




if CHECK_ALIGN:      # frozen armv6m code: refused at import if misaligned (see _core)
    from ._codealign import refuse
    refuse(globals(), _heap_closures(0, None, None))
    del refuse       # (its module leaves RAM)
