"""debug=True: guard bytes after every block, poison in free memory (loaded only for debug arenas).

Heap blocks: GUARD_SIZE bytes of GUARD_BYTE right after the requested length;
free heap memory (but a free block's header, links and footer) holds POISON.
Partition blocks: the requested length is kept in a per-partition array (no
per-block header to hold it), the rest of the block holds GUARD_BYTE, and a
free block holds POISON but its link word.  free()/put() check the guard and
refuse a changed one (the block stays allocated, the arena unchanged);
malloc()/get() check the poison of the block they hand out and, when it
changed, give it back re-poisoned and raise.  Both raise
MemError(ERR_MEM_CORRUPT) naming the first changed byte.
"""

from array import array

from . import _core as C
from .arena import MAX_ARENA, _is_int
from .errors import MemError, ERR_MEM_CORRUPT

try:
    from micropython import const
except ImportError:
    from ._shim import const

# The layout words this module reads or writes: _core's constants (const() inlines only a
# module's own; a hidden _NAME keeps no global in RAM; host_tests/test_bench.py checks them).
# Not C.NAME: _core resolves those on first use, which allocates (a debug or trace arena's
# malloc runs under heap_lock()).
_H_HEAP_END = const(4)
_PD_SIZE = const(0)
_PD_NBLKS = const(1)
_PD_START = const(2)
_PD_BITMAP = const(8)
_USED = const(1)
_PREV_FREE = const(2)
_SIZE_MASK = const(0xFFFFFC)
_SLACK_SHIFT = const(24)
_MIN_BLOCK = const(16)
_GUARD_SIZE = const(4)

POISON = 0x55                  # debug mode: fills free heap memory (arena's _POISON)
GUARD_BYTE = 0xFD              # debug mode: the bytes right after each payload


class Checks:
    """The debug checks of one arena (Arena._dbg)."""

    def __init__(self, arena):
        self._w = arena._w
        self._buf = arena._buf
        self._core_free = arena._core_free
        self._sound = arena._sound
        self.partitions = arena.partitions
        self._debug_partitions()

    def _guard(self, p, n):
        if C.owner(self._w, p) == 0:
            C.fill(self._buf, p + n, _GUARD_SIZE, GUARD_BYTE)

    def _taken(self, p, n):
        """A block malloc just handed out: check its poison, then guard it."""
        self._sound()                      # owner() reads every descriptor
        d = C.owner(self._w, p)
        if d:
            self._part_taken(d, p, n)
            return
        size = C.ld(self._w, (p - 4) >> 2) & _SIZE_MASK
        bad = C.first_not(self._buf, p + 8, size - 16, POISON)
        if bad >= 0:
            self._free_poisoned(p)         # back, re-poisoned: the damage is reported once
            raise MemError(ERR_MEM_CORRUPT, "write into freed memory (poison changed) at offset %d" % bad)
        self._guard(p, n)

    def _check_guard(self, p, d):
        """MemError when the guard after live block p changed (an overrun)."""
        if d:
            self._part_check(d, p)
            return
        v = C.ld(self._w, (p - 4) >> 2)
        n = (v & _SIZE_MASK) - 4 - ((v >> _SLACK_SHIFT) & 31)
        bad = C.first_not(self._buf, p + n, _GUARD_SIZE, GUARD_BYTE)
        if bad >= 0:
            raise MemError(ERR_MEM_CORRUPT, "buffer overrun: guard after block %d (%d bytes) changed "
                           "at offset %d" % (p, n, bad))

    def _poison_after(self, p):
        """Re-poison the free block after p (a shrink may have split or merged it)."""
        w = self._w
        b = p - 4 + (C.ld(w, (p - 4) >> 2) & _SIZE_MASK)
        if b < C.ld(w, _H_HEAP_END) and not C.ld(w, b >> 2) & _USED:
            self._poison_free(b)

    def _poison_free(self, b):
        """POISON over free heap block b but its header, links and footer."""
        size = C.ld(self._w, b >> 2) & _SIZE_MASK
        if size >= _MIN_BLOCK and b + size <= C.ld(self._w, _H_HEAP_END):
            C.fill(self._buf, b + 12, size - 16, POISON)

    def _debug_free(self, p):
        """free() that checks the guard, then poisons the whole resulting free block (slow)."""
        w = self._w
        if not _is_int(p) or not 0 < p < MAX_ARENA:
            return self._core_free(p)      # refused with the right error
        self._sound()
        d = C.owner(w, p)
        if d > 0:
            if self._part_live(d, p):
                self._part_check(d, p)
            self._core_free(p)
            self._part_poison(d, p)
            return
        b = C.heap_block(w, p) if d == 0 else -1
        if b < 0:
            return self._core_free(p)      # refused with the right error
        self._check_guard(p, 0)
        self._free_poisoned(p)

    def _free_poisoned(self, p):
        """Free live heap block p, then poison the free block it ends up in."""
        w = self._w
        b = p - 4
        below = C.ld(w, (b >> 2) - 1) if C.ld(w, b >> 2) & _PREV_FREE else 0
        self._core_free(p)                 # checks the neighbours; below is sound if it returns
        self._poison_free(b - below)

    def _debug_partitions(self):
        """Poison every partition block; an array per partition for the requested lengths."""
        self._plen = {}
        for part in self.partitions:
            d = part._d
            nblks = C.ld(self._w, d + _PD_NBLKS)
            self._plen[d] = array("I", bytes(4 * nblks))
            start, bs = C.ld(self._w, d + _PD_START), C.ld(self._w, d + _PD_SIZE)
            for i in range(nblks):
                self._part_poison(d, start + i * bs)

    def _part_index(self, d, p):
        w = self._w
        return (p - C.ld(w, d + _PD_START)) // C.ld(w, d + _PD_SIZE)

    def _part_live(self, d, p):
        w = self._w
        start, bs = C.ld(w, d + _PD_START), C.ld(w, d + _PD_SIZE)
        i = (p - start) // bs
        return start + i * bs == p and C.test_bit(w, C.ld(w, d + _PD_BITMAP), i)

    def _part_len(self, d, p, n):
        """Record live partition block p's requested length; GUARD_BYTE over the rest."""
        bs = C.ld(self._w, d + _PD_SIZE)
        self._plen[d][self._part_index(d, p)] = n
        C.fill(self._buf, p + n, bs - n, GUARD_BYTE)

    def _part_taken(self, d, p, n):
        """Partition block p was just handed out: check its poison, then guard its tail."""
        bs = C.ld(self._w, d + _PD_SIZE)
        link = (p + 3) & ~3
        bad = C.first_not(self._buf, p, link - p, POISON)
        if bad < 0:
            bad = C.first_not(self._buf, link + 4, p + bs - link - 4, POISON)
        if bad >= 0:
            self._core_free(p)
            self._part_poison(d, p)
            raise MemError(ERR_MEM_CORRUPT, "write into freed memory (poison changed) at offset %d" % bad)
        self._part_len(d, p, n if n < bs else bs)

    def _part_check(self, d, p):
        """MemError when the guard bytes after live partition block p's length changed."""
        if not self._part_live(d, p):
            return                         # put()/free() refuse it with the right error
        bs = C.ld(self._w, d + _PD_SIZE)
        n = self._plen[d][self._part_index(d, p)]
        bad = C.first_not(self._buf, p + n, bs - n, GUARD_BYTE)
        if bad >= 0:
            raise MemError(ERR_MEM_CORRUPT, "buffer overrun: guard after block %d (%d bytes) changed "
                           "at offset %d" % (p, n, bad))

    def _part_poison(self, d, p):
        """POISON over free partition block p but its link word."""
        bs = C.ld(self._w, d + _PD_SIZE)
        link = (p + 3) & ~3
        C.fill(self._buf, p, link - p, POISON)
        C.fill(self._buf, link + 4, p + bs - link - 4, POISON)
