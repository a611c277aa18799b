"""Arena's methods beyond creating it: loaded on first use (Arena.__getattr__).

A plain arena's malloc/free/get/put are the core's closures, set on the
instance; everything here (realloc, view, size_of, stats, map, check, the
debug, trace and lock= wrappers, the seal check) is bytecode that `import
umalloc` need not hold in RAM.  The functions are Arena's methods moved
unchanged; install() puts them back on the class.  prepare() is what Arena()
runs for debug, trace and lock= arenas: the methods now, and for a debug arena
its guard and poison checks (_debug.py, loaded for debug arenas only).
"""

from . import _core as C
from ._guard import GUARD
from .errors import (MemError, ERR_MEM_INVALID_ADDR, ERR_MEM_INVALID_PBLK,
                     ERR_MEM_CORRUPT)
from .arena import Arena, MAX_ARENA, POLICIES, _is_int

try:
    from micropython import const
except ImportError:
    from ._shim import const

# The layout words this module reads or writes: _core's constants (const() inlines only a
# module's own; a hidden _NAME keeps no global in RAM; host_tests/test_bench.py checks them).
# Not C.NAME: _core resolves those on first use, which allocates (a debug or trace arena's
# malloc runs under heap_lock()).
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
_H_TRACE = const(17)
_H_TRACE_CAP = const(18)
_H_TRACE_POS = const(19)
_H_TRACE_COUNT = const(20)
_H_PSTART = const(22)
_H_SEAL = const(23)
_H_PARTS = const(25)
_PD_SIZE = const(0)
_PD_START = const(2)
_PD_BITMAP = const(8)
_PD_SHIFT = const(9)
_PD_WORDS = const(10)
_SIZE_MASK = const(0xFFFFFC)
_SLACK_SHIFT = const(24)
_MIN_BLOCK = const(16)
_GUARD_SIZE = const(4)
_E_DOUBLE = const(-120)
_CORRUPT_AT = const(0x1000000)
_TRACE_WORDS = const(3)        # arena's: words per trace event
_OP_ALLOC = const(1)           # tracefmt.OP_*: trace event kinds
_OP_FREE = const(2)
_OP_REALLOC = const(3)
_OP_FAIL = const(4)


def malloc(self, n):
    """A block of at least n bytes: its pointer (int > 0), or None when out of memory.

    malloc(0) returns a valid minimal block (free it like any other).  This
    method serves debug, trace and lock= arenas; a plain one calls the core
    closure directly.
    """
    with self._lock:               # _malloc's body written out: one Python call less
        p = self._core_malloc(n)
        if p and self._debug:
            self._dbg._taken(p, n)
        if self._trace:
            self._record(_OP_ALLOC if p else _OP_FAIL, p or 0, n if n < MAX_ARENA else 0, 0)
    return p


def free(self, p):
    """Return block p to its partition or the heap, found from the address alone.

    Invalid, interior or already-freed pointers raise MemError; the arena is unchanged.
    So do damaged neighbours (ERR_MEM_CORRUPT), and in debug mode a changed guard.
    """
    with self._lock:               # _free's body written out: one Python call less
        if self._debug:
            self._dbg._debug_free(p)
        else:
            self._core_free(p)
        if self._trace:
            self._record(_OP_FREE, p, 0, 0)


def _free(self, p):
    if self._debug:
        self._dbg._debug_free(p)
    else:
        self._core_free(p)
    if self._trace:
        self._record(_OP_FREE, p, 0, 0)


def realloc(self, p, n):
    """Resize block p to n bytes, in place when possible, else move it.

    Returns the (possibly new) pointer; None when there is no room, and then
    block p is left exactly as it was.  realloc(None, n) is malloc(n).
    """
    if p is None:
        return self.malloc(n)
    if not _is_int(n):
        raise TypeError("realloc size must be an int, got %r" % (n,))
    if n < 0:
        raise ValueError("realloc size must be >= 0, got %d" % n)
    with self._lock:
        return self._realloc(p, n)


def _realloc(self, p, n):
    d = self._live(p)
    if n >= MAX_ARENA:
        self._count_fail()
        return None
    if self._debug:
        self._dbg._check_guard(p, d)
    old = self._usable(p, d)
    q = 0
    if d:
        q = p if n <= old else 0
        if q and self._debug:
            self._dbg._part_len(d, p, n)
    else:
        with GUARD:
            r = C.heap_resize(self._w, p, n)
            if r < 0:
                C._refused(r, p, "realloc")
            if r:
                q = p
                if self._debug:
                    self._dbg._guard(p, n)
                    self._dbg._poison_after(p)
    if not q:
        q = self._moved(p, n, old)
    if self._trace:
        self._record(_OP_REALLOC if q else _OP_FAIL, p, n, q or 0)
    return q if q else None


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


def _live(self, p):
    """Owner of live block p (descriptor index, 0 for the heap), or MemError."""
    if not _is_int(p):
        raise TypeError("pointers are ints, got %r" % (p,))
    if p <= 0 or p >= MAX_ARENA:
        raise MemError(ERR_MEM_INVALID_ADDR, "%r is outside the arena" % (p,))
    self._sound()
    d = C.owner(self._w, p)
    if d < 0:
        raise MemError(-d, "%d is outside every partition and the heap" % p)
    if d:
        w = self._w
        start, bs = C.ld(w, d + _PD_START), C.ld(w, d + _PD_SIZE)
        i = (p - start) // bs
        if start + i * bs != p:
            raise MemError(ERR_MEM_INVALID_PBLK, "%d is inside a %d-byte block" % (p, bs))
        if not C.test_bit(w, C.ld(w, d + _PD_BITMAP), i):
            raise MemError(-_E_DOUBLE, "block %d is free" % p)
        return d
    b = C.heap_block(self._w, p)
    if b <= -_CORRUPT_AT:
        C._refused(b, p, "block")
    if b < 0:
        raise MemError(-b, "%d is not a live heap block" % p)
    return 0


def _usable(self, p, d):
    if d:
        return C.ld(self._w, d + _PD_SIZE)
    return (C.ld(self._w, (p - 4) >> 2) & _SIZE_MASK) - 4 - (_GUARD_SIZE if self._debug else 0)


def size_of(self, p):
    """Usable bytes of live block p (at least what was asked for)."""
    with self._lock:
        return self._usable(p, self._live(p))


def view(self, p):
    """memoryview of live block p: the requested length for heap blocks.

    Partition blocks keep no per-block metadata, so their view spans the
    whole block (block_size bytes); slice it if you need less.
    """
    with self._lock:
        d = self._live(p)
        if d:
            n = C.ld(self._w, d + _PD_SIZE)
        else:
            v = C.ld(self._w, (p - 4) >> 2)
            n = (v & _SIZE_MASK) - 4 - ((v >> _SLACK_SHIFT) & 31)
            if n < 0:
                n = 0
        return memoryview(self._buf)[p:p + n]


def _moved(self, p, n, old):
    """realloc's fallback: a new block, the contents copied, the old block freed."""
    with GUARD:
        q = self._core_malloc(n)
        if q:
            if self._debug:
                self._dbg._taken(q, n)
            C.move(self._buf, q, p, old if old < n else n)
            if self._debug:
                self._dbg._debug_free(p)
            else:
                self._core_free(p)
    return q


def _record(self, op, p, n, q):
    w = self._w
    self._sound()
    cap = C.ld(w, _H_TRACE_CAP)
    pos = C.ld(w, _H_TRACE_POS)
    if not 0 <= pos < cap:             # damaged: start the ring over
        pos = 0
    i = (C.ld(w, _H_TRACE) >> 2) + pos * _TRACE_WORDS
    C.st(w, i, (op << 24) | p)
    C.st(w, i + 1, n)
    C.st(w, i + 2, q)
    C.st(w, _H_TRACE_POS, pos + 1 if pos + 1 < cap else 0)
    if C.ld(w, _H_TRACE_COUNT) < cap:
        C.st(w, _H_TRACE_COUNT, C.ld(w, _H_TRACE_COUNT) + 1)


def trace_events(self):
    """The recorded events, oldest first, as (op, ptr, size, new_ptr) tuples."""
    with self._lock:
        self._sound()
        w = self._w
        cap, count = C.ld(w, _H_TRACE_CAP), C.ld(w, _H_TRACE_COUNT)
        count = count if count <= cap else cap
        first = (C.ld(w, _H_TRACE_POS) - count) % cap if cap else 0
        base = C.ld(w, _H_TRACE) >> 2
        events = []
        for k in range(count):
            i = base + ((first + k) % cap) * _TRACE_WORDS
            events.append((C.ld(w, i) >> 24, C.ld(w, i) & 0xFFFFFF, C.ld(w, i + 1), C.ld(w, i + 2)))
    return iter(events)


def dump_trace(self, stream=None):
    """Print the recorded events in the shared trace format (`a ID SIZE` ...)."""
    from .tracefmt import write_trace
    write_trace(self.trace_events(), stream)


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
    free = self._heap_free()
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
    from .audit import memory_map
    with self._lock:
        self._sound()
        return memory_map(self, width)


def check(self):
    """Walk every structure; MemError(ERR_MEM_CORRUPT) naming the first broken invariant."""
    from .audit import check_arena
    with self._lock:
        check_arena(self)


METHODS = ("malloc", "free", "_free", "realloc", "_realloc", "_sound", "_live", "_usable",
           "size_of", "view", "_moved", "_record", "trace_events", "dump_trace",
           "_free_blocks", "_largest_free", "stats", "_stats", "map", "check")


def install(cls):
    """Make these Arena's methods again (the class looks here for what it lacks)."""
    names = globals()
    for name in METHODS:
        setattr(cls, name, names[name])


def prepare(arena):
    """A debug, trace or lock= arena: its methods installed, a debug arena's checks set up."""
    install(Arena)
    C.owner                            # and the cold core, which these methods use
    if arena._debug:
        from ._debug import Checks
        arena._dbg = Checks(arena)
