"""The allocator's hot paths, compiled by the viper emitter on MicroPython.

Every function takes `w`, the arena seen as 32-bit words (a memoryview of it on
MicroPython, one cast to "I" on CPython), and ints; the closures that
bind_heap / bind_partition make for an arena reach it through handle(w), its
address.  All state is in the arena; nothing here allocates a Python object,
so these functions run under micropython.heap_lock() and from a hard IRQ
handler.

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
Partition block: no header; a free block links to the next free one in its
    first aligned word, (p + 3) >> 2 (block sizes that are not a multiple of 4
    are at least 7 bytes, so every block holds one).
Bitmaps (outside the blocks): heap block starts, and each partition's used blocks,
    so free() can tell a real block from an interior or stale pointer in O(1).
"""

try:
    import micropython
    from micropython import const
    VIPER = True
except ImportError:
    from ._shim import micropython, const, ptr32, ptr8, uint
    VIPER = False

PORTABLE = False          # True when _portable runs this source without viper

MAGIC = const(0x1D6A11C0)

# Arena header word indexes.
H_MAGIC = const(0)
H_SIZE = const(1)
H_NPARTS = const(2)
H_HEAP_START = const(3)
H_HEAP_END = const(4)
H_CLASSES = const(5)       # byte offset of the class lists' heads, tails, non-empty bitmap
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
PD_SHIFT = const(9)        # log2(block size) when it is a power of two, else 0 (divide)
PD_WORDS = const(10)

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
def _bit(w, bitmap: int, i: int, value: int):
    h = ptr32(w)
    k = (bitmap >> 2) + (i >> 5)
    if value:
        h[k] = h[k] | (1 << (i & 31))
    else:
        h[k] = h[k] & (-1 - (1 << (i & 31)))


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
    fl = 4                 # 4 + bit length of size >> 5
    t = size >> 5
    while t >= 16:
        fl += 4
        t = t >> 4
    while t:
        fl += 1
        t = t >> 1
    return ((fl - 4) << 2) | ((size >> (fl - 2)) & 3)


@micropython.viper
def _insert(w, b: int, size: int):
    """Make [b, b+size) a free block: header, footer, and its place in its class list."""
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
    if prv == 0 and nxt == 0:                # the class was empty: mark it non-empty
        k = (h[H_CLASSES] >> 2) + 2 * h[H_NCLASSES] + (c >> 5)
        h[k] = h[k] | (1 << (c & 31))
    h[H_FREE_SIZE] += size
    h[H_FREE_COUNT] += 1


@micropython.viper
def _remove(w, b: int, size: int):
    """Take free block b (of `size` bytes) off its class list."""
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
    if prv == 0 and nxt == 0:                # the class is empty now
        k = (h[H_CLASSES] >> 2) + 2 * h[H_NCLASSES] + (c >> 5)
        h[k] = h[k] & (-1 - (1 << (c & 31)))
    h[H_FREE_SIZE] -= size
    h[H_FREE_COUNT] -= 1


# -- entry points bound to one arena ------------------------------------------
#
# Arena and Partition install these closures as instance attributes, so that
# a.malloc(n) or part.get() is one call straight into native code: no Python
# frame and no lock object in between.  Each closes over at most four cells:
# with its one argument that keeps MicroPython's closure call on the C stack
# (five or more values would be copied to the GC heap).  `a` is handle(w): on
# MicroPython the arena's address as an int, which ptr32(uint(a)) turns into a
# pointer without a buffer-protocol call; `keep` holds the arena's buffer, so
# the closure keeps it alive, and on a board (header H_IRQ set) also
# disable_irq and enable_irq.  A pointer or size that is not an int
# in 0..MAX_SIZE-1 fails `(x & mask) == x` and goes to a Python function that
# says what is wrong; nothing has changed by then.  OSMemGet/OSMemPut and the
# list update of a split or merge are written out inside the closures on
# purpose: a viper-to-viper call costs as much as the work itself.
# The interrupt state disable_irq hands back stays a Python object (`s = keep`
# only gives the local that type): no int conversion each way (~5 % of a
# get+put pair on a Cortex-M0+).

def _refused(code, p, what):
    """Raise what a refused free() or put() means: TypeError, or MemError(code)."""
    from .errors import MemError
    if p is not None and (not isinstance(p, int) or isinstance(p, bool)):
        raise TypeError("%s() takes an int pointer, got %r" % (what, p))
    raise MemError(-code, "%s(%r)" % (what, p))


def _size_refused(w, n):
    """malloc's answer to a size that is not an int in 0..MAX_SIZE-1."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError("malloc size must be an int, got %r" % (n,))
    if n < 0:
        raise ValueError("malloc size must be >= 0, got %d" % n)
    st(w, H_FAIL, ld(w, H_FAIL) + 1)     # larger than any arena: a failure, like no room
    return None


@micropython.viper
def _address(b) -> int:
    return int(ptr8(b))


def handle(w):
    """`a` for the closures below: the address of words w where viper runs, else w."""
    if VIPER and not PORTABLE:
        return _address(w)
    return w


def bind_partition(a, keep, d):
    """(get, put) of the partition whose descriptor is at word d: OSMemGet / OSMemPut."""
    box = int
    mask = MAX_SIZE - 1

    @micropython.viper
    def get():
        h = ptr32(uint(a))
        s = keep
        if h[H_IRQ]:
            s = keep[1]()
        k = int(d)
        p = h[k + PD_HEAD]
        if p:
            h[k + PD_HEAD] = h[(p + 3) >> 2]
            n = h[k + PD_NFREE] - 1
            h[k + PD_NFREE] = n
            if n < h[k + PD_MIN]:
                h[k + PD_MIN] = n
            i = p - h[k + PD_START]
            if h[k + PD_SHIFT]:
                i = i >> h[k + PD_SHIFT]
            else:
                i = i // h[k + PD_SIZE]
            n = (h[k + PD_BITMAP] >> 2) + (i >> 5)
            h[n] = h[n] | (1 << (i & 31))
        else:
            h[k + PD_FAIL] += 1
        if h[H_IRQ]:
            keep[2](s)
        if p:
            return box(p)
        return None

    @micropython.viper
    def put(p):
        if not p:
            return _refused(E_PBLK, p, "put")
        if (p & mask) != p:
            return _refused(E_PBLK, p, "put")
        q = int(p)
        h = ptr32(uint(a))
        s = keep
        if h[H_IRQ]:
            s = keep[1]()
        k = int(d)
        r = E_PBLK
        rel = q - h[k + PD_START]
        if h[k + PD_SHIFT]:
            i = rel >> h[k + PD_SHIFT]
        else:
            i = rel // h[k + PD_SIZE]
        if rel >= 0 and q < h[k + PD_END] and i * h[k + PD_SIZE] == rel:
            r = E_FULL
            if h[k + PD_NFREE] < h[k + PD_NBLKS]:
                r = E_DOUBLE
                n = (h[k + PD_BITMAP] >> 2) + (i >> 5)
                bit = 1 << (i & 31)
                if h[n] & bit:
                    h[n] = h[n] ^ bit
                    h[(q + 3) >> 2] = h[k + PD_HEAD]
                    h[k + PD_HEAD] = q
                    h[k + PD_NFREE] += 1
                    r = 0
        if h[H_IRQ]:
            keep[2](s)
        if r:
            return _refused(r, p, "put")
        return None

    return get, put


def bind_heap(a, keep):
    """(malloc, free) of the arena over words w: partitions first, then the heap."""
    box = int
    mask = MAX_SIZE - 1

    @micropython.viper
    def malloc(n):
        if (n & mask) != n:
            return _size_refused(a, n)
        want = int(n)
        h = ptr32(uint(a))
        s = keep
        if h[H_IRQ]:
            s = keep[1]()
        p = 0
        k = H_PARTS                      # the smallest partition that fits and has a block
        end = H_PARTS + h[H_NPARTS] * PD_WORDS
        while k < end:
            if h[k + PD_SIZE] >= want:
                p = h[k + PD_HEAD]
                if p:
                    break
            k += PD_WORDS
        if p:                            # OSMemGet
            h[k + PD_HEAD] = h[(p + 3) >> 2]
            c = h[k + PD_NFREE] - 1
            h[k + PD_NFREE] = c
            if c < h[k + PD_MIN]:
                h[k + PD_MIN] = c
            i = p - h[k + PD_START]
            if h[k + PD_SHIFT]:
                i = i >> h[k + PD_SHIFT]
            else:
                i = i // h[k + PD_SIZE]
            c = (h[k + PD_BITMAP] >> 2) + (i >> 5)
            h[c] = h[c] | (1 << (i & 31))
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
            if policy == POLICY_FIRST:   # the request's class in order, then the larger heads
                fl = 4                 # 4 + bit length of need >> 5
                t = need >> 5
                while t >= 16:
                    fl += 4
                    t = t >> 4
                while t:
                    fl += 1
                    t = t >> 1
                c = ((fl - 4) << 2) | ((need >> (fl - 2)) & 3)
                if c < nc:
                    b = h[heads + c]
                    while b:
                        if (h[b >> 2] & SIZE_MASK) >= need:
                            bc = c
                            break
                        b = h[(b >> 2) + 1]
                    c += 1               # the lowest head among non-empty larger classes
                    i = c >> 5
                    nw = (nc + 31) >> 5
                    if i < nw:
                        t = h[heads + nc + nc + i] & (0 - (1 << (c & 31)))
                        while 1:
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
                                if b == 0 or f < b:
                                    b = f
                                    bc = c
                            i += 1
                            if i >= nw:
                                break
                            t = h[heads + nc + nc + i]
            else:
                if policy == POLICY_TWOENDED and need <= h[H_SMALL]:
                    small = 1
                b = int(_find(a, need, small))
            if b == 0:
                h[H_FAIL] += 1
                if h[H_FREE_SIZE] - 4 * h[H_FREE_COUNT] >= want:
                    h[H_FAIL_FRAG] += 1
            else:
                size = h[b >> 2] & SIZE_MASK
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
                        i = (b - h[H_HEAP_START]) >> h[H_GRAN_SHIFT]
                    else:
                        i = (nb - h[H_HEAP_START]) >> h[H_GRAN_SHIFT]
                    t = (h[H_HBITMAP] >> 2) + (i >> 5)
                    h[t] = h[t] | (1 << (i & 31))      # the new block start
                    c = bc
                    if c < 0:
                        fl = 4                 # 4 + bit length of size >> 5
                        t = size >> 5
                        while t >= 16:
                            fl += 4
                            t = t >> 4
                        while t:
                            fl += 1
                            t = t >> 1
                        c = ((fl - 4) << 2) | ((size >> (fl - 2)) & 3)
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
                        else:
                            h[heads + nc + c] = nb
                        h[H_FREE_SIZE] -= need
                    else:
                        _remove(a, old, size)
                        _insert(a, nb, rest)
                    size = need
                else:
                    _remove(a, b, size)
                    t = b + size
                    if t < h[H_HEAP_END]:
                        h[t >> 2] = h[t >> 2] ^ (PREV_FREE | PARITY)
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
            keep[2](s)
        if p:
            return box(p)
        return None

    @micropython.viper
    def free(p):
        if not p:
            return _refused(E_ADDR, p, "free")
        if (p & mask) != p:
            return _refused(E_ADDR, p, "free")
        q = int(p)
        h = ptr32(uint(a))
        s = keep
        if h[H_IRQ]:
            s = keep[1]()
        r = E_ADDR
        start = h[H_HEAP_START]
        if q < start:                    # a partition block, or no block at all
            k = H_PARTS
            end = H_PARTS + h[H_NPARTS] * PD_WORDS
            while k < end:
                if q < h[k + PD_END]:
                    break
                k += PD_WORDS
            if k < end and q >= h[k + PD_START]:   # OSMemPut
                r = E_PBLK
                rel = q - h[k + PD_START]
                if h[k + PD_SHIFT]:
                    i = rel >> h[k + PD_SHIFT]
                else:
                    i = rel // h[k + PD_SIZE]
                if i * h[k + PD_SIZE] == rel:
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
            bitmap = h[H_HBITMAP] >> 2
            i = (b - start) >> gshift
            v = 0
            size = 0
            if b >= start and b < end:
                r = E_PBLK
                if (i << gshift) + start == b and (h[bitmap + (i >> 5)] >> (i & 31)) & 1:
                    v = h[b >> 2]
                    size = v & SIZE_MASK
                    x = v ^ (v >> 16)
                    x = x ^ (x >> 8)
                    x = (0x6996 >> ((x ^ (x >> 4)) & 15))   # bit 0: parity
                    r = E_CORRUPT
                    if (x & 1) == 0 and size >= MIN_BLOCK and b + size <= end:
                        r = E_DOUBLE
                        if v & USED:
                            r = 0
            if r == 0:
                nb = b + size
                nsize = 0                # size of a free block above, if any
                if nb < end:
                    t = h[nb >> 2]
                    if t & USED:
                        h[nb >> 2] = t ^ (PREV_FREE | PARITY)
                    else:
                        nsize = t & SIZE_MASK
                        t = (nb - start) >> gshift
                        h[bitmap + (t >> 5)] = h[bitmap + (t >> 5)] ^ (1 << (t & 31))
                old = 0                  # the free block whose list place the result takes
                osize = 0
                if v & PREV_FREE:        # merge into the free block below
                    old = b - h[(b >> 2) - 1]
                    osize = h[old >> 2] & SIZE_MASK
                    h[bitmap + (i >> 5)] = h[bitmap + (i >> 5)] ^ (1 << (i & 31))
                    if nsize:
                        _remove(a, nb, nsize)
                    b = old
                    size = osize + size + nsize
                elif nsize:              # b takes the place of the free block above
                    old = nb
                    osize = nsize
                    size = size + nsize
                if old:
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
                        nxt = h[(old >> 2) + 1]
                        prv = h[(old >> 2) + 2]
                        x = size ^ (size >> 16)
                        x = x ^ (x >> 8)
                        x = (0x6996 >> ((x ^ (x >> 4)) & 15))   # bit 0: parity
                        h[b >> 2] = size | ((x & 1) << 29)
                        h[((b + size) >> 2) - 1] = size
                        h[(b >> 2) + 1] = nxt
                        h[(b >> 2) + 2] = prv
                        heads = (h[H_CLASSES] >> 2) + c
                        if prv:
                            h[(prv >> 2) + 1] = b
                        else:
                            h[heads] = b
                        if nxt:
                            h[(nxt >> 2) + 2] = b
                        else:
                            h[heads + h[H_NCLASSES]] = b
                        h[H_FREE_SIZE] += size - osize
                    else:
                        _remove(a, old, osize)
                        _insert(a, b, size)
                else:
                    _insert(a, b, size)
                h[H_LIVE] -= 1
        if h[H_IRQ]:
            keep[2](s)
        if r:
            return _refused(r, p, "free")
        return None

    return malloc, free


# -- byte helpers (debug poisoning, calloc, realloc copies) ---------------------

@micropython.viper
def fill(b, off: int, n: int, value: int):
    m = ptr8(b)
    end = off + n
    while off < end:
        m[off] = value
        off += 1


# -- word access for the non-hot Python code (stats, check, layout) -----------

@micropython.viper
def ld(w, i: int) -> int:
    h = ptr32(w)
    return h[i]


@micropython.viper
def st(w, i: int, v: int):
    h = ptr32(w)
    h[i] = v



# -- cold helpers ---------------------------------------------------------------
# parity, seal, test_bit, heap_block, heap_resize, owner, first_not, move,
# popcount and _find live in _corecold.py: `import umalloc` leaves their native
# code out of RAM until realloc, view, size_of, debug mode, check() or an arena
# of the best / twoended policy first asks for one.  What is found is kept in
# this module's globals, where malloc looks up _find.

def __getattr__(name):
    if name.startswith("__"):        # import machinery probing (__path__, ...): not ours
        raise AttributeError(name)
    from . import _corecold
    value = getattr(_corecold, name)
    globals()[name] = value          # found here directly from now on
    return value
