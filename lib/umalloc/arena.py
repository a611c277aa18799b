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

# The layout words this module writes or reads: _core's constants (const() inlines only a
# module's own; a hidden _NAME keeps no global in RAM; host_tests/test_bench.py checks them).
_MAGIC = const(0x1D6A11C0)
_H_MAGIC = const(0)
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
_H_POLICY = const(13)
_H_SMALL = const(14)
_H_DEBUG = const(15)
_H_PAGES = const(16)
_H_TRACE = const(17)
_H_TRACE_CAP = const(18)
_H_GRAN_SHIFT = const(21)
_H_PSTART = const(22)
_H_IRQ = const(24)
_HEADER_WORDS = const(25)
_PD_WORDS = const(10)
_MIN_BLOCK = const(16)
_PAGE_SHIFT = const(8)

MAX_ARENA = 0x1000000          # offsets must fit the 24-bit size field
POLICIES = ("first", "best", "twoended", "good")
# No partitions unless asked for: idle partition blocks cost more than they save on every
# trace measured (issue 14: `umalloc sim --min-arena` on the four samples and the generated
# families; e.g. churn 1.37x -> 1.34x, zebra 1.85x -> 1.70x); `umalloc advise` sizes them.
DEFAULT_PARTITIONS = ()
# Hidden (no global in RAM); the cold modules' copies are public there: _debug.POISON,
# tracefmt.OP_* (test_bench checks they agree)
_POISON = const(0x55)          # debug mode: fills free heap memory
_TRACE_WORDS = const(3)        # per event: op << 24 | ptr, size, new ptr
_OP_ALLOC = const(1)           # trace event kinds (tracefmt.OP_*)
_OP_FAIL = const(4)


class Nothing:
    """A context manager that does nothing (no interrupts to mask, no lock asked for)."""

    def __enter__(self):
        pass

    def __exit__(self, exc_type, exc, tb):
        pass


def _words(buf):
    if C.PORTABLE:
        return C.Words(buf)
    try:
        return memoryview(buf).cast("I")   # CPython: word view for the viper shim
    except AttributeError:
        # MicroPython: viper's ptr32 takes any buffer; the closures hold this
        # view, whose repr is short (a bytearray cell would print the whole arena)
        return memoryview(buf)


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _tables(off, avail, gshift, align):
    """(classes offset, class count, partitions start) when the heap tables start at off."""
    npages = (max(avail, 0) + (1 << _PAGE_SHIFT) - 1) >> _PAGE_SHIFT
    classes = off + ((npages + 3) & -4)        # after the page index, one byte a page
    nclasses = C.size_class(avail if avail > _MIN_BLOCK else _MIN_BLOCK) + 1
    end = classes + 4 * nclasses + 4 * ((nclasses + 31) >> 5)
    return classes, nclasses, (end + align - 1) & -align


class Arena:
    """One bytearray holding fixed partitions and a heap; all state inside it."""

    def __init__(self, size=None, partitions=DEFAULT_PARTITIONS, policy="good", align=None,
                 buf=None, debug=False, trace=0, small_threshold=256, lock=None, irq=True):
        # Every argument is checked before buf is touched: a refused call changes nothing.
        # Arena(size) with the other arguments left alone is checked here, partitions in
        # _arenainit; any other call, and every refusal with its message, in _arenaargs
        # (each loaded then, not at import).
        parts = ()
        if buf is not None or type(size) is not int or not 0 < size < MAX_ARENA \
                or policy != "good" or align is not None or debug is not False \
                or type(trace) is not int or trace or type(small_threshold) is not int \
                or small_threshold != 256 or lock is not None or irq is not True:
            from ._arenaargs import checked
            parts = checked(size, partitions, policy, align, buf, debug, trace, small_threshold,
                            lock, irq)
        elif partitions:
            from ._arenainit import validated
            parts = validated(partitions, 4)
        if buf is None:                   # first: a fresh large block fragments the GC heap least
            buf = bytearray(size & ~3)
        if policy != "good":
            C._find                # malloc's search for these policies: see _corecold
        self._buf = buf
        self._w = _words(buf)
        self._debug = debug
        self._trace = trace
        self._lock = lock if lock is not None else Nothing()
        # irq=False: never touched from an interrupt handler, so no masking (faster on a board)
        self._irq = irq
        self._layout(len(buf), parts, POLICIES.index(policy), align, trace, small_threshold)
        # what the core's closures hold: the arena's address, and its word view
        # (so they keep the buffer alive) with, on a board, the IRQ switches
        self._handle = C.handle(self._w)
        self._keep = (self._w,) + IRQ if IRQ else self._w
        self._core_malloc, self._core_free = C.bind_heap(self._handle, self._keep)
        if lock is None and not (debug or trace):
            self.malloc, self.free = self._core_malloc, self._core_free   # straight into native code
        self.partitions = ()
        if parts:
            from ._arenainit import partitions
            self.partitions = partitions(self, len(parts), lock)
        if lock is not None or debug or trace:
            # their malloc/free wrappers (and debug mode's checks) live in _arenacold:
            # load them now, not later under heap_lock() or in two threads at once
            from . import _arenacold
            _arenacold.prepare(self)

    def _layout(self, size, parts, policy, align, trace, small):
        """[header | descriptors | bitmaps | trace ring | partitions | heap].

        The heap's granule is 8 bytes unless align=4 asks for 4 (finer rounding, on most
        traces measured not worth it: issue 14).  Its page index (one byte per 256 bytes of
        heap, whatever the granule) replaced a block-start bitmap of one bit per granule
        (1/64 of the heap; issue 14).  Partition blocks follow align=4's rules unless
        align=8 is given.
        """
        w = self._w
        off = (_HEADER_WORDS + len(parts) * _PD_WORDS) * 4
        bitmaps = rel = None
        blocks = 0
        if parts:
            from ._arenainit import plan
            bitmaps, rel, off, blocks = plan(parts, off)
        ring = off
        off += trace * _TRACE_WORDS * 4
        gshift = 2 if align == 4 else 3
        align = 8 if align == 8 else 4      # partitions' alignment
        avail = size - off - blocks - 8
        # The heap's page index (one byte per page), one list head per size class up
        # to the heap's own size, then a bitmap of the non-empty classes.
        pages = off
        classes, nclasses, pstart = _tables(off, avail, gshift, align)
        if avail < 0 or pstart + blocks > size:
            from ._arenaargs import too_small
            too_small(size, off, blocks, gshift, align, parts)
        C.fill(self._buf, 0, pstart, 0)   # a buf= passed in may hold anything
        if parts:
            from ._arenainit import write_partitions
            write_partitions(w, parts, pstart, bitmaps, rel)
        off = pstart + blocks
        # Heap payloads (block + 4) must be aligned to the granule.
        heap_start = (off + 3) & -4 if gshift == 2 else ((off + 4 + 7) & -8) - 4
        heap_end = heap_start + (((size - heap_start) >> gshift) << gshift)
        if heap_end - heap_start < _MIN_BLOCK:      # no heap (its start may lie past the end)
            heap_start = heap_end = min(heap_start, size)
        C.st(w, _H_MAGIC, _MAGIC)
        C.st(w, _H_SIZE, size)
        C.st(w, _H_NPARTS, len(parts))
        C.st(w, _H_HEAP_START, heap_start)
        C.st(w, _H_HEAP_END, heap_end)
        C.st(w, _H_POLICY, policy)
        C.st(w, _H_SMALL, small)
        C.st(w, _H_DEBUG, 1 if self._debug else 0)
        C.st(w, _H_PAGES, pages)
        C.st(w, _H_TRACE, ring)
        C.st(w, _H_TRACE_CAP, trace)
        C.st(w, _H_GRAN_SHIFT, gshift)
        C.st(w, _H_PSTART, pstart)
        C.st(w, _H_CLASSES, classes)
        C.st(w, _H_IRQ, 1 if IRQ and self._irq else 0)
        C.st(w, _H_NCLASSES, nclasses)
        if heap_end > heap_start:
            hsize = heap_end - heap_start
            # no block starts in any page but the first, whose first granule starts the heap
            C.fill(self._buf, pages + 1, (hsize - 1) >> _PAGE_SHIFT, 0xFF)
            C._insert(w, heap_start, hsize)
            if self._debug:
                C.fill(self._buf, heap_start + 12, hsize - 16, _POISON)
        C.st(w, _H_MIN_FREE, self._heap_free())
        C.seal_layout(w)

    # -- allocation --------------------------------------------------------
    #
    # Each public method takes the lock (when the arena has one) once, then
    # runs the unlocked _methods: a _thread lock is not re-entrant.  calloc and
    # _malloc stay here: like malloc/free they must work under heap_lock() at once.

    def _malloc(self, n):
        p = self._core_malloc(n)
        if p and self._debug:
            self._dbg._taken(p, n)
        if self._trace:
            self._record(_OP_ALLOC if p else _OP_FAIL, p or 0, n if n < MAX_ARENA else 0, 0)
        return p

    def _count_fail(self):
        w = self._w
        C.st(w, _H_FAIL, C.ld(w, _H_FAIL) + 1)
    def calloc(self, n, size):
        """malloc(n * size) zeroed; None when out of memory or the product is too large."""
        if not (_is_int(n) and _is_int(size)) or n < 0 or size < 0:
            from ._arenaargs import calloc_refused
            calloc_refused(n, size)
        with self._lock:
            if size and n > (MAX_ARENA - 1) // size:   # checked before multiplying: no big ints
                self._count_fail()
                if self._trace:
                    self._record(_OP_FAIL, 0, 0, 0)
                return None
            total = n * size
            p = self._malloc(total)
            if p:
                C.fill(self._buf, p, total, 0)
            return p


    # -- figures -----------------------------------------------------------

    def _heap_free(self):
        w = self._w
        return C.ld(w, _H_FREE_SIZE) - 4 * C.ld(w, _H_FREE_COUNT)

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


def __getattr__(name):
    # Partition lives with the rest of Arena() beyond Arena(size): loaded on first use
    if name == "Partition":
        from ._arenainit import Partition
        return Partition
    raise AttributeError(name)
