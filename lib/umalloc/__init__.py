"""umalloc: fixed partitions plus a good-fit heap in one bytearray reserved at boot.

    import umalloc
    a = umalloc.Arena(32 * 1024, partitions=((16, 64), (64, 32)))
    p = a.malloc(100)          # int offset, never 0; None when out of memory
    a.view(p)[:5] = b"hello"
    a.free(p)

malloc/free/calloc and Partition.get/put allocate nothing on the GC heap, so
they work under micropython.heap_lock() and inside a hard IRQ handler.

`import umalloc` loads Arena and the core only; the rest of the package's names
(MemError and the ERR_MEM_* codes, Partition, POLICIES, init() and the default
arena's functions, report, Reporter) load on first use (__getattr__ below): a
.mpy's code lives in RAM.
"""

try:
    from . import _core
except SyntaxError:     # firmware without the native emitter: same code, as plain Python
    from . import _portable
    _core = _portable.install()

from .arena import Arena

__version__ = "0.1.0"


def __getattr__(name):
    # On MicroPython `from . import x` of a submodule not loaded yet asks here first, and
    # dir(umalloc) asks here for every name the VM knows: only the package's own names
    # import anything.  __import__, not `from . import`, which would ask here again.
    if name[:2] == "__":             # import machinery probing (__path__, ...)
        raise AttributeError(name)
    # The submodules' names one by one: a constant tuple of them would keep its str objects
    # in RAM for good.
    if name[:1] == "_" or name == "arena" or name == "audit" or name == "errors" \
            or name == "frame" or name == "reporter" or name == "tracefmt":
        try:                         # a submodule
            return __import__(name, globals(), None, ("_",), 1)
        except ImportError as exc:
            if not str(exc).endswith(name + "'"):    # not "no module named 'umalloc.<name>'"
                raise                # a module that failed to load says why
        raise AttributeError(name)
    where = "errors" if name == "MemError" or name == "error_name" or name[:8] == "ERR_MEM_" else "_api"
    try:
        value = getattr(__import__(where, globals(), None, ("_",), 1), name)
    except AttributeError:
        raise AttributeError(name) from None
    globals()[name] = value          # found once: later look-ups find it directly
    return value
