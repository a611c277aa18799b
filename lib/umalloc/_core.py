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

MAGIC = const(0x1D6A11C0)

# Arena header word indexes.
H_MAGIC = const(0)
H_SIZE = const(1)
H_NPARTS = const(2)
H_HEAP_START = const(3)
H_HEAP_END = const(4)
H_FREE_HEAD = const(5)
H_FREE_TAIL = const(6)
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
GUARD = const(4)           # debug mode: guard bytes after each heap payload

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

@micropython.viper
def block_need(w, n: int) -> int:
    """Heap block size (header included) for a request of n bytes."""
    h = ptr32(w)
    gran = 1 << h[H_GRAN_SHIFT]
    need = n + 4 + GUARD * h[H_DEBUG]
    need = (need + gran - 1) & (0 - gran)
    if need < MIN_BLOCK:
        need = MIN_BLOCK
    return need


@micropython.viper
def _unlink(w, b: int):
    h = ptr32(w)
    nxt = h[(b >> 2) + 1]
    prv = h[(b >> 2) + 2]
    if prv:
        h[(prv >> 2) + 1] = nxt
    else:
        h[H_FREE_HEAD] = nxt
    if nxt:
        h[(nxt >> 2) + 2] = prv
    else:
        h[H_FREE_TAIL] = prv


@micropython.viper
def _set_free(w, b: int, size: int, nxt: int, prv: int):
    """Write free block b (header, links, footer) and hook it between prv and nxt."""
    h = ptr32(w)
    i = b >> 2
    h[i] = int(seal(size))   # a free block never follows a free block: PREV_FREE clear
    h[i + 1] = nxt
    h[i + 2] = prv
    h[((b + size) >> 2) - 1] = size
    if prv:
        h[(prv >> 2) + 1] = b
    else:
        h[H_FREE_HEAD] = b
    if nxt:
        h[(nxt >> 2) + 2] = b
    else:
        h[H_FREE_TAIL] = b


@micropython.viper
def _mark_prev(w, b: int, prev_free: int):
    """Set or clear PREV_FREE in the header of the block at b (if b is inside the heap)."""
    h = ptr32(w)
    if b >= h[H_HEAP_END]:
        return
    v = h[b >> 2] & (-1 - PREV_FREE)
    if prev_free:
        v = v | PREV_FREE
    h[b >> 2] = int(seal(v))


@micropython.viper
def _find(w, need: int, small: int) -> int:
    """Free block for `need` bytes by the arena's policy; 0 when none fits."""
    h = ptr32(w)
    if small:  # twoended, small request: last fit, scanning down from the top
        b = h[H_FREE_TAIL]
        while b:
            if (h[b >> 2] & SIZE_MASK) >= need:
                return b
            b = h[(b >> 2) + 2]
        return 0
    b = h[H_FREE_HEAD]
    if h[H_POLICY] != POLICY_BEST:
        while b:
            if (h[b >> 2] & SIZE_MASK) >= need:
                return b
            b = h[(b >> 2) + 1]
        return 0
    best = 0
    best_size = 0
    while b:
        size = h[b >> 2] & SIZE_MASK
        if size >= need and (best == 0 or size < best_size):
            best = b
            best_size = size
            if size == need:
                break
        b = h[(b >> 2) + 1]
    return best


@micropython.viper
def heap_alloc(w, n: int) -> int:
    """First/best/two-ended fit with split; returns the payload offset or 0."""
    h = ptr32(w)
    need = int(block_need(w, n))
    small = 0
    if h[H_POLICY] == POLICY_TWOENDED and need <= h[H_SMALL]:
        small = 1
    b = int(_find(w, need, small))
    if b == 0:
        h[H_FAIL] += 1
        if h[H_FREE_SIZE] - 4 * h[H_FREE_COUNT] >= n:
            h[H_FAIL_FRAG] += 1
        return 0
    size = h[b >> 2] & SIZE_MASK
    rest = size - need
    gshift = h[H_GRAN_SHIFT]
    if rest >= MIN_BLOCK:
        if small:  # carve from the top; the free block shrinks in place
            nxt = h[(b >> 2) + 1]
            prv = h[(b >> 2) + 2]
            _set_free(w, b, rest, nxt, prv)
            b = b + rest
            _bit(w, h[H_HBITMAP], (b - h[H_HEAP_START]) >> gshift, 1)
            h[b >> 2] = int(seal(need | USED | PREV_FREE | ((need - 4 - n) << SLACK_SHIFT)))
            _mark_prev(w, b + need, 0)
        else:      # carve from the bottom; the remainder takes b's place in the list
            nxt = h[(b >> 2) + 1]
            prv = h[(b >> 2) + 2]
            r = b + need
            _set_free(w, r, rest, nxt, prv)
            _bit(w, h[H_HBITMAP], (r - h[H_HEAP_START]) >> gshift, 1)
            h[b >> 2] = int(seal(need | USED | ((need - 4 - n) << SLACK_SHIFT)))
        h[H_FREE_SIZE] -= need
    else:
        _unlink(w, b)
        h[b >> 2] = int(seal(size | USED | ((size - 4 - n) << SLACK_SHIFT)))
        _mark_prev(w, b + size, 0)
        h[H_FREE_SIZE] -= size
        h[H_FREE_COUNT] -= 1
    h[H_LIVE] += 1
    free = h[H_FREE_SIZE] - 4 * h[H_FREE_COUNT]
    if free < h[H_MIN_FREE]:
        h[H_MIN_FREE] = free
    return b + 4


@micropython.viper
def heap_block(w, p: int) -> int:
    """Block offset for payload p if p is a live heap block, else a negative error."""
    h = ptr32(w)
    b = p - 4
    start = h[H_HEAP_START]
    if b < start or b >= h[H_HEAP_END]:
        return E_ADDR
    gshift = h[H_GRAN_SHIFT]
    rel = b - start
    if (rel >> gshift) << gshift != rel:
        return E_PBLK
    if int(test_bit(w, h[H_HBITMAP], rel >> gshift)) == 0:
        return E_PBLK
    v = h[b >> 2]
    if int(parity(v)) or (v & SIZE_MASK) < MIN_BLOCK or b + (v & SIZE_MASK) > h[H_HEAP_END]:
        return E_CORRUPT
    if (v & USED) == 0:
        return E_DOUBLE
    return b


@micropython.viper
def heap_free(w, p: int) -> int:
    """Free payload p, coalescing with both neighbours; 0 or a negative error."""
    h = ptr32(w)
    b = int(heap_block(w, p))
    if b < 0:
        return b
    v = h[b >> 2]
    size = v & SIZE_MASK
    start = h[H_HEAP_START]
    bitmap = h[H_HBITMAP]
    gshift = h[H_GRAN_SHIFT]
    h[H_FREE_SIZE] += size
    h[H_LIVE] -= 1
    nb = b + size
    next_free = 0
    if nb < h[H_HEAP_END]:
        if (h[nb >> 2] & USED) == 0:
            next_free = 1
    if v & PREV_FREE:
        pb = b - h[(b >> 2) - 1]
        _bit(w, bitmap, (b - start) >> gshift, 0)
        total = (h[pb >> 2] & SIZE_MASK) + size
        if next_free:
            total += h[nb >> 2] & SIZE_MASK
            _unlink(w, nb)
            _bit(w, bitmap, (nb - start) >> gshift, 0)
            h[H_FREE_COUNT] -= 1
        h[pb >> 2] = int(seal(total))
        h[((pb + total) >> 2) - 1] = total
        _mark_prev(w, pb + total, 1)
        return 0
    if next_free:  # b takes nb's place in the address-ordered list
        total = size + (h[nb >> 2] & SIZE_MASK)
        nxt = h[(nb >> 2) + 1]
        prv = h[(nb >> 2) + 2]
        _bit(w, bitmap, (nb - start) >> gshift, 0)
        _set_free(w, b, total, nxt, prv)
        return 0
    # No free neighbour: find b's place in the list, walking from the nearer end.
    prv = 0
    nxt = 0
    if b - start < h[H_HEAP_END] - b:
        nxt = h[H_FREE_HEAD]
        while nxt and nxt < b:
            prv = nxt
            nxt = h[(nxt >> 2) + 1]
    else:
        prv = h[H_FREE_TAIL]
        while prv and prv > b:
            nxt = prv
            prv = h[(prv >> 2) + 2]
    _set_free(w, b, size, nxt, prv)
    h[H_FREE_COUNT] += 1
    _mark_prev(w, nb, 1)
    return 0


@micropython.viper
def heap_resize(w, p: int, n: int) -> int:
    """Grow or shrink live block p in place to hold n bytes: 1 done, 0 cannot."""
    h = ptr32(w)
    b = p - 4
    v = h[b >> 2]
    size = v & SIZE_MASK
    need = int(block_need(w, n))
    nb = b + size
    avail = size
    next_free = 0
    if nb < h[H_HEAP_END]:
        if (h[nb >> 2] & USED) == 0:
            next_free = 1
            avail = size + (h[nb >> 2] & SIZE_MASK)
    if need > avail:
        return 0
    start = h[H_HEAP_START]
    bitmap = h[H_HBITMAP]
    gshift = h[H_GRAN_SHIFT]
    keep_prev = v & PREV_FREE
    nxt = 0
    prv = 0
    if next_free:  # absorb the free neighbour; any tail goes back below
        nxt = h[(nb >> 2) + 1]
        prv = h[(nb >> 2) + 2]
        _unlink(w, nb)
        _bit(w, bitmap, (nb - start) >> gshift, 0)
        h[H_FREE_SIZE] -= avail - size
        h[H_FREE_COUNT] -= 1
    rest = avail - need
    if rest >= MIN_BLOCK:
        r = b + need
        if not next_free:  # the tail is a new free block: find its list place
            nxt = h[H_FREE_HEAD]
            while nxt and nxt < r:
                prv = nxt
                nxt = h[(nxt >> 2) + 1]
        _set_free(w, r, rest, nxt, prv)
        _bit(w, bitmap, (r - start) >> gshift, 1)
        _mark_prev(w, r + rest, 1)
        h[H_FREE_SIZE] += rest
        h[H_FREE_COUNT] += 1
        size = need
    else:
        size = avail
        _mark_prev(w, b + size, 0)
    h[b >> 2] = int(seal(size | USED | keep_prev | ((size - 4 - n) << SLACK_SHIFT)))
    free = h[H_FREE_SIZE] - 4 * h[H_FREE_COUNT]
    if free < h[H_MIN_FREE]:
        h[H_MIN_FREE] = free
    return 1


# -- the wrappers' routing ----------------------------------------------------

@micropython.viper
def alloc(w, n: int) -> int:
    """malloc: the smallest partition whose blocks fit and have one free, else the heap."""
    h = ptr32(w)
    d = H_PARTS
    end = H_PARTS + h[H_NPARTS] * PD_WORDS
    while d < end:
        if h[d + PD_SIZE] >= n and h[d + PD_HEAD] != 0:
            return int(part_get(w, d))
        d += PD_WORDS
    return int(heap_alloc(w, n))


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
    """free: find the owner from the address alone; 0 or a negative error code."""
    d = int(owner(w, p))
    if d > 0:
        return int(part_put(w, d, p))
    if d == 0:
        return int(heap_free(w, p))
    return d


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
