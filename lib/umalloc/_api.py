"""umalloc's module-level names beyond Arena, loaded on first use (umalloc.__getattr__).

The default arena that init() makes, the functions that act on it, and the
names that live in other modules (Partition, POLICIES, report, Reporter).
"""

from .arena import Arena, POLICIES
from ._arenainit import Partition

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
