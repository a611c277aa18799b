"""Arena()'s construction: the checks of its arguments, the layout it writes, the core it binds.

Loaded by each Arena() call and, from a .mpy, released when it returns (release()):
on a board a .mpy's code lives in RAM, and this code runs once per arena, at boot, so
none of it stays there (issue 11: `umalloc bench --port`'s "import umalloc" and
"first Arena" lines).  Arena's own module keeps what runs after Arena() returns.
"""

from . import _core as C
from . import arena as A     # (a test may swap A.IRQ for stand-ins: read it at each call)

try:
    from micropython import const
except ImportError:
    from ._shim import const

# The layout words this module writes: _core's constants (const() inlines only a module's
# own; a hidden _NAME keeps no global in RAM; host_tests/test_bench.py checks them).
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
_H_PARTS = const(25)            # the first partition descriptor
_HEADER_WORDS = const(25)
_PD_WORDS = const(10)
_MIN_BLOCK = const(16)
_PAGE_SHIFT = const(8)

_POISON = const(0x55)          # debug mode: fills free heap memory (_debug.POISON)
_TRACE_WORDS = const(3)        # per trace event


def build(self, size, partitions, policy, align, buf, debug, trace, small_threshold, lock, irq):
    """Arena.__init__'s work (its signature and defaults: arena.py)."""
    # Every argument is checked before buf is touched: a refused call changes nothing.
    # Arena(size) with the other arguments left alone is checked here, partitions in
    # _arenainit; any other call, and every refusal with its message, in _arenaargs
    # (each loaded then, not at import).
    parts = ()
    if partitions and type(partitions) is not tuple and type(partitions) is not list:
        from ._arenaargs import partitions_refused
        partitions_refused(partitions)
    if buf is not None or type(size) is not int or not 0 < size < A.MAX_ARENA \
            or policy != "good" or align is not None or debug is not False \
            or type(trace) is not int or trace or type(small_threshold) is not int \
            or small_threshold != 256 or lock is not None or irq is not True:
        from ._arenaargs import checked
        parts = checked(size, partitions, policy, align, buf, debug, trace, small_threshold,
                        lock, irq)
    elif partitions:
        from ._arenainit import validated
        parts = validated(partitions, 4)
    if buf is None:                   # before Arena()'s small allocations: fragments the GC heap least
        buf = bytearray(size & ~3)
    # malloc's search for the first / best / twoended policies (_corecold's, loaded now);
    # _find_late loads it should a good-fit arena's policy word be overwritten consistently
    # with its seal
    find = C._find if policy != "good" else C._find_late
    self._buf = buf
    self._w = _words(buf)
    self._debug = debug
    self._trace = trace
    self._lock = lock if lock is not None else A.Nothing()
    # irq=False: never touched from an interrupt handler, so no masking (faster on a board)
    self._irq = irq
    _layout(self, len(buf), parts, A.POLICIES.index(policy), align, trace, small_threshold)
    # what the core's closures hold: the arena's address, and its word view
    # (so they keep the buffer alive) with, on a board, the IRQ switches
    self._handle = handle(self._w)
    self._keep = (self._w,) + A.IRQ if A.IRQ else self._w
    self._core_malloc, self._core_free = bind_heap(self._handle, self._keep, find)
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


# -- binding the core to an arena ------------------------------------------------

def handle(w):
    """`a` for the entry points: the address of words w where viper runs, else w."""
    if C.VIPER and not C.PORTABLE:
        return C._address(w)
    return w


def _irq(keep):
    """(w, disable_irq, enable_irq) from keep; the C core masks through PRIMASK itself
    (None, None) where the switches are machine's own."""
    if type(keep) is not tuple:
        return keep, None, None
    w, dis, en = keep
    if C.CCORE is not None and C.CCORE.PRIMASK:
        import machine           # (a test may hand the arena stand-ins: those stay called)
        if dis is getattr(machine, "disable_irq", None):
            return w, None, None
    return w, dis, en


def bind_heap(a, keep, find):
    """(malloc, free) of the arena over words w: partitions first, then the heap.

    keep is the arena's word view w, or on a board (w, disable_irq, enable_irq); find is
    malloc's search for the first / best / twoended policies (_core's, held by the closures).
    """
    w, dis, en = _irq(keep)
    # (_refused twice: it answers malloc's refused sizes too)
    if C.CCORE is not None:
        return C.CCORE.heap(a, w, dis, en, C._refused, C._refused, find)
    from . import _coreviper as V
    return V._heap_closures(a, dis, (w, en, C._refused, C._refused, find, V._remove, V._insert,
                                     V._free_block, dis, V._find_unmasking))


def bind_partition(a, keep, d):
    """(get, put) of the partition whose descriptor is at word d: OSMemGet / OSMemPut."""
    if C.CCORE is None:
        from ._corepart import bind_partition
        return bind_partition(a, keep, d)
    w, dis, en = _irq(keep)
    return C.CCORE.part(a, w, dis, en, C._refused, (d - _H_PARTS) // _PD_WORDS)


def _words(buf):
    if C.PORTABLE:
        return C.Words(buf)
    try:
        return memoryview(buf).cast("I")   # CPython: word view for the viper shim
    except AttributeError:
        # MicroPython: viper's ptr32 takes any buffer; the closures hold this
        # view, whose repr is short (a bytearray cell would print the whole arena)
        return memoryview(buf)


def _tables(off, avail, gshift, align):
    """(classes offset, class count, partitions start) when the heap tables start at off."""
    npages = (max(avail, 0) + (1 << _PAGE_SHIFT) - 1) >> _PAGE_SHIFT
    classes = off + ((npages + 3) & -4)        # after the page index, one byte a page
    nclasses = C.size_class(avail if avail > _MIN_BLOCK else _MIN_BLOCK) + 1
    end = classes + 4 * nclasses + 4 * ((nclasses + 31) >> 5)
    return classes, nclasses, (end + align - 1) & -align


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
    C.st(w, _H_IRQ, 1 if A.IRQ and self._irq else 0)
    C.st(w, _H_NCLASSES, nclasses)
    if heap_end > heap_start:
        hsize = heap_end - heap_start
        # no block starts in any page but the first, whose first granule starts the heap
        C.fill(self._buf, pages + 1, (hsize - 1) >> _PAGE_SHIFT, 0xFF)
        C._insert(w, heap_start, hsize)
        if self._debug:
            C.fill(self._buf, heap_start + 12, hsize - 16, _POISON)
    C.st(w, _H_MIN_FREE, C.ld(w, _H_FREE_SIZE) - 4 * C.ld(w, _H_FREE_COUNT))   # usable free
    C.seal_layout(w)


def release():
    """Forget this module, and _arenaargs with it, when they came from a .mpy, so that their
    code leaves RAM once Arena() returns.  _arenaargs checks any Arena() given more than a size
    and partitions, such as boot.py's init(buf=...), and words its refusals: it too runs once
    per arena (about 6 KB of RAM on an armv6m board).  Frozen code costs no RAM to keep; .py
    source would be compiled again for each arena (time, and a fragmented GC heap); CPython's
    host tools make many arenas."""
    import sys
    if not __file__.endswith(".mpy"):
        return
    package_name = __name__[:__name__.rfind(".")]
    package = sys.modules.get(package_name)
    for name in ("_arenabuild", "_arenaargs"):
        sys.modules.pop(package_name + "." + name, None)
        if package is not None and name in package.__dict__:
            delattr(package, name)
