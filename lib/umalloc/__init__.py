"""umalloc: fixed partitions plus a good-fit heap in one bytearray reserved at boot.

    import umalloc
    a = umalloc.Arena(32 * 1024, partitions=((16, 64), (64, 32)))
    p = a.malloc(100)          # int offset, never 0; None when out of memory
    a.view(p)[:5] = b"hello"
    a.free(p)

malloc/free/calloc and Partition.get/put allocate nothing on the GC heap, so
they work under micropython.heap_lock() and inside a hard IRQ handler.
"""

try:
    from . import _core
except SyntaxError:     # firmware without the native emitter: same code, as plain Python
    from . import _portable
    _core = _portable.install()

from .errors import (MemError, error_name, ERR_MEM_INVALID_ADDR, ERR_MEM_INVALID_BLKS,
                     ERR_MEM_INVALID_SIZE, ERR_MEM_NO_FREE_BLKS, ERR_MEM_FULL,
                     ERR_MEM_INVALID_PBLK, ERR_MEM_DOUBLE_FREE, ERR_MEM_CORRUPT)
from .arena import Arena, Partition, POLICIES

__version__ = "0.1.0"

_default = None


def init(size=None, **kwargs):
    """Create the module-level default arena (do it early in boot.py)."""
    global _default
    _default = Arena(size, **kwargs)
    return _default


def default_arena():
    """The arena made by init(), or None."""
    return _default


def _arena():
    if _default is None:
        raise RuntimeError("no default arena: call umalloc.init(size) first")
    return _default


def malloc(n):
    return _arena().malloc(n)


def calloc(n, size):
    return _arena().calloc(n, size)


def realloc(p, n):
    return _arena().realloc(p, n)


def free(p):
    _arena().free(p)


def view(p):
    return _arena().view(p)


def size_of(p):
    return _arena().size_of(p)


def stats():
    return _arena().stats()


def check():
    _arena().check()


def map(width=64):
    return _arena().map(width)


def dump_trace(stream=None):
    _arena().dump_trace(stream)


# Reports load the frame codec (about 14 KB of RAM on the unix port) only when used.

def report(stream=None, arena=None, **options):
    """Write one report frame of `arena` (default: the init() arena) to `stream` (default stdout)."""
    from .reporter import report as send
    return send(stream, arena, **options)


def Reporter(arena=None, period_ms=1000, **options):
    """A umalloc.reporter.Reporter: frames every period_ms (.start(), .stop(), .send())."""
    from .reporter import Reporter as make
    return make(arena, period_ms, **options)
