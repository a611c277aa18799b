"""Integrity check and memory map: walk every structure of an Arena.

These run in normal code (they allocate); the invariants they check are the
ones the hot paths in _core rely on.
"""

from . import _core as C
from .errors import MemError, ERR_MEM_CORRUPT
from ._arenareport import layout_damage     # loaded already: check() runs _sound() first

try:
    from micropython import const
except ImportError:
    from ._shim import const

# The layout words this module reads or writes: _core's constants (const() inlines only a
# module's own; a hidden _NAME keeps no global in RAM; host_tests/test_bench.py checks them).
# Not C.NAME: _core resolves those on first use, which allocates (a debug or trace arena's
# malloc runs under heap_lock()).
_MAGIC = const(0x1D6A11C0)
_H_MAGIC = const(0)
_H_SIZE = const(1)
_H_HEAP_START = const(3)
_H_HEAP_END = const(4)
_H_CLASSES = const(5)
_H_NCLASSES = const(6)
_H_FREE_SIZE = const(7)
_H_FREE_COUNT = const(8)
_H_LIVE = const(12)
_H_DEBUG = const(15)
_H_PAGES = const(16)
_H_GRAN_SHIFT = const(21)
_H_PSTART = const(22)
_PD_SIZE = const(0)
_PD_NBLKS = const(1)
_PD_START = const(2)
_PD_END = const(3)
_PD_HEAD = const(4)
_PD_NFREE = const(5)
_PD_MIN = const(6)
_PD_BITMAP = const(8)
_USED = const(1)
_PREV_FREE = const(2)
_SIZE_MASK = const(0xFFFFFC)
_SLACK_SHIFT = const(24)
_MIN_BLOCK = const(16)
_PAGE_SHIFT = const(8)
_NO_START = const(0xFF)
_GUARD_SIZE = const(4)


def _corrupt(what, where=None):
    raise MemError(ERR_MEM_CORRUPT, what if where is None else "%s at offset %d" % (what, where))


def check_arena(arena):
    """Every invariant, in order; MemError(ERR_MEM_CORRUPT) names the first one broken."""
    w = arena._w
    ld = C.ld
    size = ld(w, _H_SIZE)
    if ld(w, _H_MAGIC) != _MAGIC:
        _corrupt("arena magic overwritten", 0)
    if size != len(arena._buf) & ~3:
        _corrupt("arena size field %d != buffer length" % size, 4)
    off = layout_damage(w)
    if off >= 0:
        _corrupt("arena header or partition descriptor overwritten (seal broken)", off)
    meta = ld(w, _H_PSTART)
    heap_start, heap_end = ld(w, _H_HEAP_START), ld(w, _H_HEAP_END)
    if not (meta <= heap_start <= heap_end <= size):
        _corrupt("layout bounds out of order (meta %d, heap %d..%d)" % (meta, heap_start, heap_end))
    prev_end = ld(w, _H_PSTART)
    for part in arena.partitions:
        prev_end = _check_partition(w, part._d, prev_end)
    if prev_end > heap_start:
        _corrupt("partitions overlap the heap", prev_end)
    _check_heap(arena, w, heap_start, heap_end)


def _check_partition(w, d, prev_end):
    ld = C.ld
    bs, nblks = ld(w, d + _PD_SIZE), ld(w, d + _PD_NBLKS)
    start, end = ld(w, d + _PD_START), ld(w, d + _PD_END)
    if start < prev_end or end != start + bs * nblks:
        _corrupt("partition descriptor %d has bad bounds" % d, start)
    nfree = ld(w, d + _PD_NFREE)
    if nfree > nblks or ld(w, d + _PD_MIN) > nfree:
        _corrupt("partition %d-byte counts out of range" % bs, start)
    bitmap = ld(w, d + _PD_BITMAP)
    seen, p = 0, ld(w, d + _PD_HEAD)
    while p:
        if p < start or p >= end or (p - start) % bs:
            _corrupt("partition %d-byte free list points outside its blocks" % bs, p)
        if C.test_bit(w, bitmap, (p - start) // bs):
            _corrupt("partition %d-byte free list holds a used block" % bs, p)
        seen += 1
        if seen > nblks:
            _corrupt("partition %d-byte free list has a cycle" % bs, p)
        p = ld(w, (p + 3) >> 2)       # the link: the block's first aligned word
    if seen != nfree:
        _corrupt("partition %d-byte: %d blocks on the free list, nfree says %d" % (bs, seen, nfree))
    if C.popcount(w, bitmap, nblks) != nblks - nfree:
        _corrupt("partition %d-byte used bitmap disagrees with nfree" % bs, bitmap)
    return end


def _check_heap(arena, w, start, end):
    """Walk the heap block by block and the free list beside it."""
    ld = C.ld
    pages, gshift = ld(w, _H_PAGES), ld(w, _H_GRAN_SHIFT)
    index = arena._buf
    page = -1                                # the page of the last block start seen
    debug = ld(w, _H_DEBUG)
    b, prev_free = start, 0
    free_size = free_count = live = 0
    # Each size class's list must hold exactly its free blocks, in address order.
    heads, nclasses = ld(w, _H_CLASSES) >> 2, ld(w, _H_NCLASSES)
    expect = [ld(w, heads + c) for c in range(nclasses)]
    last = [0] * nclasses
    while b < end:
        v = ld(w, b >> 2)
        size = v & _SIZE_MASK
        if C.parity(v):
            _corrupt("heap header parity broken", b)
        if size < _MIN_BLOCK or size & ((1 << gshift) - 1) or b + size > end:
            _corrupt("heap block size %d impossible" % size, b)
        if (b - start) >> _PAGE_SHIFT != page:  # b is its page's first start; none in between
            page = _check_pages(index, pages, page + 1, (b - start) >> _PAGE_SHIFT)
            if index[pages + page] != (b - start - (page << _PAGE_SHIFT)) >> gshift:
                _corrupt("heap page index misses the first block start in page %d" % page,
                         pages + page)
        if bool(v & _PREV_FREE) != bool(prev_free):
            _corrupt("PREV_FREE flag disagrees with the block below", b)
        if v & _USED:
            live += 1
            prev_free = 0
            if debug:
                _check_guard(arena, b, v)
        else:
            if prev_free:
                _corrupt("two adjacent free heap blocks", b)
            if ld(w, ((b + size) >> 2) - 1) != size:
                _corrupt("free block footer != its size", b)
            c = C.size_class(size)
            if c >= nclasses or b != expect[c]:
                _corrupt("free block missing from its size-class list, or list out of order", b)
            if ld(w, (b >> 2) + 2) != last[c]:
                _corrupt("free list back link broken", b)
            last[c], expect[c] = b, ld(w, (b >> 2) + 1)
            free_size += size
            free_count += 1
            prev_free = 1
            if debug:
                bad = C.first_not(arena._buf, b + 12, size - 16, 0x55)
                if bad >= 0:
                    _corrupt("write into freed memory (poison changed)", bad)
        b += size
    if b != end:
        _corrupt("heap blocks do not add up to the heap size", b)
    for c in range(nclasses):
        if expect[c] != 0:
            _corrupt("size-class %d list points past its last free block" % c, expect[c])
        if C.test_bit(w, (heads + nclasses) << 2, c) != (last[c] != 0):
            _corrupt("size-class %d non-empty bit disagrees with its list" % c)
    _check_pages(index, pages, page + 1, (end - start + (1 << _PAGE_SHIFT) - 1) >> _PAGE_SHIFT)
    if (free_size, free_count, live) != (ld(w, _H_FREE_SIZE), ld(w, _H_FREE_COUNT), ld(w, _H_LIVE)):
        _corrupt("heap totals (free bytes, free blocks, live blocks) disagree with a walk")


def _check_pages(index, pages, first, upto):
    """Pages first..upto-1 hold no block start: their index bytes must say so.  Returns upto."""
    for page in range(first, upto):
        if index[pages + page] != _NO_START:
            _corrupt("heap page index names a block start in page %d, which has none" % page,
                     pages + page)
    return upto


def _check_guard(arena, b, v):
    n = (v & _SIZE_MASK) - 4 - ((v >> _SLACK_SHIFT) & 31)
    bad = C.first_not(arena._buf, b + 4 + n, _GUARD_SIZE, 0xFD)
    if bad >= 0:
        _corrupt("buffer overrun: guard after block %d (%d bytes) changed" % (b + 4, n), bad)
