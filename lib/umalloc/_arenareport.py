"""What a report reads: Arena.stats() and map(), and the seal check every cold method runs.

Loaded on first use (Arena.__getattr__ asks install() here first); the rest of Arena's
cold methods (realloc, view, size_of, check, the debug, trace and lock= wrappers) stay in
_arenacold until one of them is used.  A board that only reports (umalloc.report,
Reporter: stats() and map() every period) so keeps them, the cold core (_corecold's
native code) and check()'s walk (audit) out of RAM.  Everything here reads the arena
through C.ld and the seals of the hot core.
"""

from . import _core as C
from .errors import MemError, ERR_MEM_CORRUPT
from .arena import POLICIES

try:
    from micropython import const
except ImportError:
    from ._shim import const

# The layout words read here: _core's constants, hidden (host_tests/test_bench.py checks them).
_H_SIZE = const(1)
_H_NPARTS = const(2)
_H_HEAP_START = const(3)
_H_HEAP_END = const(4)
_H_CLASSES = const(5)
_H_NCLASSES = const(6)
_H_FREE_SIZE = const(7)
_H_FREE_COUNT = const(8)
_H_MIN_FREE = const(9)
_H_FAIL = const(10)
_H_FAIL_FRAG = const(11)
_H_LIVE = const(12)
_H_POLICY = const(13)
_H_PSTART = const(22)
_H_SEAL = const(23)
_H_PARTS = const(25)
_PD_SIZE = const(0)
_PD_NBLKS = const(1)
_PD_START = const(2)
_PD_BITMAP = const(8)
_PD_SHIFT = const(9)
_PD_WORDS = const(10)
_USED = const(1)
_SIZE_MASK = const(0xFFFFFC)
_MIN_BLOCK = const(16)
_GUARD_SIZE = const(4)


# Cell characters for map(): the majority of each cell's bytes decides.
CELL_META, CELL_PART_USED, CELL_PART_FREE, CELL_HEAP_USED, CELL_HEAP_FREE = "#", "P", "p", "U", "."
_CELLS = CELL_META + CELL_PART_USED + CELL_PART_FREE + CELL_HEAP_USED + CELL_HEAP_FREE


def layout_damage(w):
    """Offset of the first header word or descriptor whose seal fails, or -1.

    Here, not in _corecold: stats() and map(), what a report needs, then leave the cold
    core's native code out of RAM (the seals are the C core's, or _coreviper's)."""
    if C.ld(w, _H_SEAL) != C.header_seal(w):
        return 0
    d = _H_PARTS
    while d < _H_PARTS + C.ld(w, _H_NPARTS) * _PD_WORDS:
        if C.ld(w, d + _PD_SHIFT) >> 5 != C.part_seal(w, d):
            return d * 4
        d += _PD_WORDS
    return -1


def _sound(self):
    """MemError unless the header and descriptors still match their seals (see _core)."""
    off = layout_damage(self._w)
    if off >= 0:
        raise MemError(ERR_MEM_CORRUPT, "arena header or partition descriptor at offset %d "
                       "overwritten" % off)


def _free_blocks(self, first_class=0):
    """(offset, size) of free heap blocks, class by class, each class in address order.

    A link that leaves the heap or does not move on is damage: MemError, not a walk into it.
    """
    w = self._w
    heads = C.ld(w, _H_CLASSES) >> 2
    start, end = C.ld(w, _H_HEAP_START), C.ld(w, _H_HEAP_END)
    for c in range(first_class, C.ld(w, _H_NCLASSES)):
        at, lo = (heads + c) * 4, start - 1
        b = C.ld(w, heads + c)
        while b:
            if not lo < b <= end - _MIN_BLOCK:
                raise MemError(ERR_MEM_CORRUPT, "free list link at offset %d leaves the heap" % at)
            size = C.ld(w, b >> 2) & _SIZE_MASK
            yield b, size if b + size <= end else 0
            at, lo = b + 4, b
            b = C.ld(w, (b >> 2) + 1)


def _largest_free(self):
    w = self._w
    heads = C.ld(w, _H_CLASSES) >> 2
    top = C.ld(w, _H_NCLASSES) - 1
    while top >= 0 and not C.ld(w, heads + top):
        top -= 1
    largest = 0
    for _, size in self._free_blocks(top if top > 0 else 0):
        if size > largest:
            largest = size
    return largest - 4 if largest else 0


def stats(self):
    """The figures named in DESIGN.md, over the heap, plus each partition's query()."""
    with self._lock:
        return self._stats()


def _stats(self):
    self._sound()
    w = self._w
    largest = self._largest_free()
    free = C.ld(w, _H_FREE_SIZE) - 4 * C.ld(w, _H_FREE_COUNT)    # usable: headers left out
    heap_size = C.ld(w, _H_HEAP_END) - C.ld(w, _H_HEAP_START)
    return {
        "arena_size": C.ld(w, _H_SIZE),
        "heap_size": heap_size,
        "free": free,
        "used": heap_size - C.ld(w, _H_FREE_SIZE),
        "largest_free": largest,
        "free_fragments": C.ld(w, _H_FREE_COUNT),
        "frag": (1 - largest / free) if free > 0 else 0.0,
        "min_ever_free": C.ld(w, _H_MIN_FREE),
        "fail": C.ld(w, _H_FAIL),
        "fail_fragmented": C.ld(w, _H_FAIL_FRAG),
        "live_blocks": C.ld(w, _H_LIVE),
        "overhead": 4 + (_GUARD_SIZE if self._debug else 0),
        "meta": C.ld(w, _H_PSTART),
        "policy": POLICIES[C.ld(w, _H_POLICY)],
        "partitions": [p._query() for p in self.partitions],
    }


def map(self, width=64):
    with self._lock:
        self._sound()
        return memory_map(self, width)


def _regions(arena):
    """(start, end, cell char) for every region of the arena, in address order."""
    w, ld = arena._w, C.ld
    yield 0, ld(w, _H_PSTART), CELL_META
    for part in arena.partitions:
        d = part._d
        bs, start, bitmap = ld(w, d + _PD_SIZE), ld(w, d + _PD_START), ld(w, d + _PD_BITMAP)
        for i in range(ld(w, d + _PD_NBLKS)):      # (a bit test through ld, not the cold
            used = (ld(w, (bitmap >> 2) + (i >> 5)) >> (i & 31)) & 1   # core's test_bit: see map)
            yield start + i * bs, start + (i + 1) * bs, CELL_PART_USED if used else CELL_PART_FREE
    b, end = ld(w, _H_HEAP_START), ld(w, _H_HEAP_END)
    while b < end:
        v = ld(w, b >> 2)
        size = v & _SIZE_MASK
        if size < _MIN_BLOCK or b + size > end:
            break          # corrupt; check() says so, the map just stops
        used = v & _USED
        yield b, b + 4, CELL_HEAP_USED if used else CELL_HEAP_FREE
        yield b + 4, b + size, CELL_HEAP_USED if used else CELL_HEAP_FREE
        b += size


def memory_map(arena, width=64):
    """One line, `width` cells: '#' metadata, 'P'/'p' partition used/free, 'U'/'.' heap used/free.

    Like stats(), it reads the arena through C.ld alone: a report (stats() and map()) leaves
    the cold core (_corecold's native code, about 14 KB on a board) out of RAM."""
    if not isinstance(width, int) or width < 1:
        raise ValueError("map width must be a positive int")
    size = C.ld(arena._w, _H_SIZE)
    counts = [[0] * 5 for _ in range(width)]
    for start, end, ch in _regions(arena):
        kind = _CELLS.index(ch)
        while start < end:
            cell = start * width // size
            cell_end = ((cell + 1) * size + width - 1) // width
            upto = end if end < cell_end else cell_end
            if upto <= start:
                upto = start + 1
            counts[cell][kind] += upto - start
            start = upto
    out = []
    for c in counts:
        best = 0
        for k in range(1, 5):
            if c[k] > c[best]:
                best = k
        out.append(_CELLS[best] if c[best] else " ")
    return "".join(out)


METHODS = ("_sound", "_free_blocks", "_largest_free", "stats", "_stats", "map")


def install(cls, name=None):
    """Put these methods on Arena (and, unless name is one of them, _arenacold's too: the
    first use of another cold method loads it, and no name installs every cold method);
    True if name is then an Arena method."""
    names = globals()
    for method in METHODS:
        setattr(cls, method, names[method])
    if name in METHODS:
        return True
    from . import _arenacold
    _arenacold.install(cls)
    return name in _arenacold.METHODS
