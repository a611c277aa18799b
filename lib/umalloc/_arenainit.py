"""Partitions: their checks, their place in the layout, and the Partition class.

Loaded by the first Arena with partitions, not by `import umalloc` (nor by an
arena without partitions).
"""

from . import _core as C
from .arena import MAX_ARENA, Nothing, _is_int

try:
    from micropython import const
except ImportError:
    from ._shim import const

# The layout words this module writes or reads: _core's constants (const() inlines only a
# module's own; a hidden _NAME keeps no global in RAM; host_tests/test_bench.py checks them).
_H_PARTS = const(25)
_PD_SIZE = const(0)
_PD_NBLKS = const(1)
_PD_START = const(2)
_PD_END = const(3)
_PD_HEAD = const(4)
_PD_NFREE = const(5)
_PD_MIN = const(6)
_PD_FAIL = const(7)
_PD_BITMAP = const(8)
_PD_SHIFT = const(9)
_PD_WORDS = const(10)


def _refusal(code, detail):
    from ._arenaargs import mem_error
    return mem_error(code, detail)


# put() finds its descriptor from bits 24-29 of its pointer mask, which must stay a small
# int on a 32-bit port (below 2**30): at most 64 partitions
MAX_PARTITIONS = 64


def validated(partitions, align):
    """Partitions as sorted (block_size, nblks) pairs, checked like OSMemCreate."""
    out = []
    for item in partitions or ():
        try:
            block_size, nblks = item
        except (TypeError, ValueError):
            raise TypeError("each partition is a (block_size, nblks) pair, got %r" % (item,))
        if not (_is_int(block_size) and _is_int(nblks)):
            raise TypeError("partition sizes must be ints, got %r" % (item,))
        if block_size < 4 or (block_size % align and (align == 8 or block_size < 7)):
            raise _refusal(112, ("block_size %d: with align=8 it must be a multiple of 8"
                                 if align == 8 else "block_size %d: must be 4, or any size from 7 up")
                           % block_size)
        if nblks < 2:
            raise _refusal(111, "a partition needs >= 2 blocks, got %d" % nblks)
        if block_size >= MAX_ARENA or nblks >= MAX_ARENA:
            raise _refusal(112, "partition %r is larger than any arena" % (item,))
        for other, _ in out:
            if other == block_size:
                raise ValueError("two partitions of %d-byte blocks: give one with the summed count"
                                 % block_size)
        out.append((block_size, nblks))
    if len(out) > MAX_PARTITIONS:
        raise _refusal(111, "an arena holds at most %d partitions, got %d" % (MAX_PARTITIONS, len(out)))
    out.sort()
    return out


def plan(parts, off):
    """(bitmap offsets, block offsets, offset after the bitmaps, bytes of blocks) of the partitions."""
    bitmaps = []
    for _, nblks in parts:
        bitmaps.append(off)
        off += ((nblks + 31) >> 5) * 4
    # Partition offsets from the (aligned) first one: a block size that is
    # a multiple of 4 starts on a word boundary whatever odd sizes come before
    # (a Cortex-M0+ faults on an unaligned word access).
    rel = []
    blocks = 0
    for block_size, nblks in parts:
        if block_size % 4 == 0:
            blocks = (blocks + 3) & -4
        rel.append(blocks)
        blocks += block_size * nblks
    return bitmaps, rel, off, blocks


def write_partitions(w, parts, pstart, bitmaps, rel):
    """The partitions' descriptors, and each one's free list threaded through its blocks."""
    for i in range(len(parts)):
        d = _H_PARTS + i * _PD_WORDS
        block_size, nblks = parts[i]
        off = pstart + rel[i]
        C.st(w, d + _PD_SIZE, block_size)
        C.st(w, d + _PD_NBLKS, nblks)
        C.st(w, d + _PD_START, off)
        C.st(w, d + _PD_END, off + block_size * nblks)
        C.st(w, d + _PD_BITMAP, bitmaps[i])
        C.st(w, d + _PD_SHIFT, _log2(block_size))
        C.st(w, d + _PD_NFREE, nblks)
        C.st(w, d + _PD_MIN, nblks)
        C.st(w, d + _PD_HEAD, off)
        for k in range(nblks):     # thread the free list through the blocks
            b = off + k * block_size
            C.st(w, (b + 3) >> 2, b + block_size if k < nblks - 1 else 0)


def partitions(arena, count, lock):
    """The arena's Partition objects."""
    return tuple(Partition(arena, _H_PARTS + i * _PD_WORDS, lock) for i in range(count))


def _log2(n):
    """k when n == 2**k, else 0."""
    k = 0
    while (1 << k) < n:
        k += 1
    return k if (1 << k) == n else 0


class Partition:
    """A uC/OS-style memory partition: nblks blocks of block_size bytes."""

    def __init__(self, arena, desc, lock=None):
        self._arena = arena
        self._debug = arena._debug
        self._w = arena._w
        self._d = desc        # word index of this partition's descriptor
        self._lock = lock if lock is not None else Nothing()
        # the C core's get/put, or _corepart's viper code, loaded with the first partition
        from ._arenabuild import bind_partition      # (an Arena() call is loading it)
        self._get, self._put = bind_partition(arena._handle, arena._keep, desc)
        if lock is None and not arena._debug:
            self.get, self.put = self._get, self._put    # no Python frame in between

    def get(self):
        """OSMemGet: a free block's pointer, or None (counted in `fail`)."""
        with self._lock:
            p = self._get()
            if p and self._debug:
                self._arena._sound()
                self._arena._dbg._part_taken(self._d, p, self.block_size)
        return p

    def put(self, p):
        """OSMemPut: return block p.  MemError: INVALID_PBLK, FULL or DOUBLE_FREE."""
        with self._lock:
            if self._debug and _is_int(p) and self.contains(p):
                self._arena._sound()
                self._arena._dbg._part_check(self._d, p)
            self._put(p)
            if self._debug:
                self._arena._dbg._part_poison(self._d, p)

    @property
    def block_size(self):
        return self._word(_PD_SIZE)

    def _word(self, k):
        return C.ld(self._w, self._d + k)

    def contains(self, p):
        return self._word(_PD_START) <= p < self._word(_PD_END)

    def query(self):
        """OSMemQuery: the partition's figures."""
        with self._lock:
            return self._query()

    def _query(self):
        nblks, nfree = self._word(_PD_NBLKS), self._word(_PD_NFREE)
        return {"block_size": self._word(_PD_SIZE), "nblks": nblks, "nfree": nfree,
                "nused": nblks - nfree, "min_free": self._word(_PD_MIN),
                "fail": self._word(_PD_FAIL)}
