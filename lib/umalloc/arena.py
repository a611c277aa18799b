"""Arena: one bytearray carved into fixed partitions plus a good-fit heap.

malloc/free/calloc and Partition.get/put allocate nothing on the GC heap once
the arena exists (they run under micropython.heap_lock(), so also from a hard
IRQ handler).  On a plain arena they are the core's native closures themselves
(_core.bind_heap / _corepart.bind_partition), installed as instance attributes; debug,
trace and lock= arenas wrap them in methods of _arenacold.py, which, like
check, view and realloc (and stats and map, which a report needs:
_arenareport.py), load on first use (Arena.__getattr__) and may allocate: they
are for normal code.  Debug mode's guard and poison checks (_debug.py) load
with them, for debug arenas only.
"""

from . import _core as C

try:        # a board: the core masks interrupts around its updates (see _guard.py)
    import machine
    IRQ = (machine.disable_irq, machine.enable_irq)
    del machine
except (ImportError, AttributeError):
    IRQ = None

try:
    from micropython import const
except ImportError:
    from ._shim import const

# The layout words this module reads: _core's constants (const() inlines only a module's
# own; a hidden _NAME keeps no global in RAM; host_tests/test_bench.py checks them).
_H_FAIL = const(10)

MAX_ARENA = 0x1000000          # offsets must fit the 24-bit size field
POLICIES = ("first", "best", "twoended", "good")
# No partitions unless asked for: idle partition blocks cost more than they save on every
# trace measured (issue 14: `umalloc sim --min-arena` on the four samples and the generated
# families; e.g. churn 1.37x -> 1.34x, zebra 1.85x -> 1.70x); `umalloc advise` sizes them.
DEFAULT_PARTITIONS = ()
# Hidden (no global in RAM); the cold modules' copies are public there: tracefmt.OP_*
# (test_bench checks they agree)
_OP_ALLOC = const(1)           # trace event kinds (tracefmt.OP_*)
_OP_FAIL = const(4)


class Nothing:
    """A context manager that does nothing (no interrupts to mask, no lock asked for)."""

    def __exit__(self, exc_type=None, exc=None, tb=None):    # (no *args: a tuple per call)
        pass

    __enter__ = __exit__    # one function: on a board its code is RAM


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


class Arena:
    """One bytearray holding fixed partitions and a heap; all state inside it."""

    def __init__(self, size=None, partitions=DEFAULT_PARTITIONS, policy="good", align=None,
                 buf=None, debug=False, trace=0, small_threshold=256, lock=None, irq=True):
        # The construction's code (_arenabuild) is loaded for each Arena() from a .mpy and
        # released when it returns: it runs once per arena, and a board's .mpy code is RAM.
        from . import _arenabuild
        try:
            _arenabuild.build(self, size, partitions, policy, align, buf, debug, trace,
                              small_threshold, lock, irq)
        finally:
            _arenabuild.release()

    # -- allocation --------------------------------------------------------
    #
    # Each public method takes the lock (when the arena has one) once, then
    # runs the unlocked code: a _thread lock is not re-entrant.  calloc stays
    # here: like malloc/free it must work under heap_lock() at once.

    def calloc(self, n, size):
        """malloc(n * size) zeroed; None when out of memory or the product is too large."""
        if not (_is_int(n) and _is_int(size)) or n < 0 or size < 0:
            from ._arenaargs import calloc_refused
            calloc_refused(n, size)
        with self._lock:
            if size and n > (MAX_ARENA - 1) // size:   # checked before multiplying: no big ints
                w = self._w                            # a failure, like no room
                C.st(w, _H_FAIL, C.ld(w, _H_FAIL) + 1)
                if self._trace:
                    self._record(_OP_FAIL, 0, 0, 0)
                return None
            total = n * size                           # < MAX_ARENA
            # malloc's body written out (as in _arenacold's), the lock already held: a
            # method of its own for this one caller would be more bytecode kept in RAM
            p = self._core_malloc(total)
            if p and self._debug:
                self._dbg._taken(p, total)
            if self._trace:
                self._record(_OP_ALLOC if p else _OP_FAIL, p or 0, total, 0)
            if p:
                C.fill(self._buf, p, total, 0)
            return p

    # -- everything else: _arenareport.py and _arenacold.py, loaded on first use --

    def __getattr__(self, name):
        # Only reached for what neither the instance nor the class has: the
        # cold methods, until the first of them installs its module's on the class.
        # Special names (bool(a), print(a) probe them) never load anything.
        if name.startswith("__"):
            raise AttributeError(name)
        from . import _arenareport
        if _arenareport.install(Arena, name):
            return getattr(self, name)
        raise AttributeError(name)

