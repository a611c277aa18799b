"""Arena's methods beyond creating it: loaded on first use (Arena.__getattr__).

A plain arena's malloc/free/get/put are the core's closures, set on the
instance; everything here (realloc, view, size_of, check, the debug, trace and
lock= wrappers) is bytecode that `import umalloc` need not hold in RAM, nor a
report (stats() and map() are in _arenareport.py, which loads first).  The
functions are Arena's methods moved unchanged; install() puts them back on the
class.  prepare() is what Arena()
runs for debug, trace and lock= arenas: the methods now, and for a debug arena
its guard and poison checks (_debug.py, loaded for debug arenas only).
"""

from . import _core as C
from ._guard import GUARD
from .errors import MemError, ERR_MEM_INVALID_ADDR, ERR_MEM_INVALID_PBLK
from .arena import Arena, MAX_ARENA, _is_int

try:
    from micropython import const
except ImportError:
    from ._shim import const

# The layout words this module reads or writes: _core's constants (const() inlines only a
# module's own; a hidden _NAME keeps no global in RAM; host_tests/test_bench.py checks them).
# Not C.NAME: _core resolves those on first use, which allocates (a debug or trace arena's
# malloc runs under heap_lock()).
_H_FAIL = const(10)
_H_TRACE = const(17)
_H_TRACE_CAP = const(18)
_H_TRACE_POS = const(19)
_H_TRACE_COUNT = const(20)
_PD_SIZE = const(0)
_PD_START = const(2)
_PD_BITMAP = const(8)
_SIZE_MASK = const(0xFFFFFC)
_SLACK_SHIFT = const(24)
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
    with self._lock:               # (calloc, in arena.py, writes this body out too)
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
    if n >= MAX_ARENA:                 # a failure, like no room
        w = self._w
        C.st(w, _H_FAIL, C.ld(w, _H_FAIL) + 1)
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


def check(self):
    """Walk every structure; MemError(ERR_MEM_CORRUPT) naming the first broken invariant."""
    from .audit import check_arena
    with self._lock:
        check_arena(self)


METHODS = ("malloc", "free", "_free", "realloc", "_realloc", "_live", "_usable",
           "size_of", "view", "_moved", "_record", "trace_events", "dump_trace", "check")


def install(cls):
    """Make these Arena's methods again (the class looks here for what it lacks)."""
    names = globals()
    for name in METHODS:
        setattr(cls, name, names[name])


def prepare(arena):
    """A debug, trace or lock= arena: its methods installed, a debug arena's checks set up."""
    from ._arenareport import install as install_every
    install_every(Arena)               # its methods and this module's: none loads later, under heap_lock()
    C.owner                            # and the cold core, which these methods use
    if arena._debug:
        from ._debug import Checks
        arena._dbg = Checks(arena)
