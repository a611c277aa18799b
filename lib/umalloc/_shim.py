"""Stand-ins that let the viper-decorated core run unchanged on CPython.

On MicroPython the compiler handles @micropython.viper and ptr32/ptr8 itself;
this module is imported only where `import micropython` fails.  The arena
passes a memoryview cast to 32-bit words where viper code expects ptr32, so
ptr32/ptr8 are the identity here.  Like viper, the stand-in refuses an
argument annotated `int` that is not one, so bad input fails the same way
on both VMs.
"""


def const(value):
    return value


def int_checked(fn, positions):
    """fn, refusing a non-int at the given argument positions (as viper's `int` does)."""
    if not positions:
        return fn

    def checked(*args):
        for i in positions:
            if not isinstance(args[i], int):
                raise TypeError("can't convert %s to int" % type(args[i]).__name__)
        return fn(*args)

    return checked


def _viper(fn):
    annotations = fn.__annotations__
    names = fn.__code__.co_varnames[:fn.__code__.co_argcount]
    return int_checked(fn, tuple(i for i, name in enumerate(names) if annotations.get(name) is int))


class _MicroPython:
    viper = staticmethod(_viper)
    native = staticmethod(_viper)
    const = staticmethod(const)

    @staticmethod
    def heap_lock():
        return 0

    @staticmethod
    def heap_unlock():
        return 0


micropython = _MicroPython()


def ptr32(obj):
    return obj


ptr8 = ptr32
uint = ptr32      # viper's cast to a native unsigned int; arena handles pass through


class _WordsAt:
    """Words w from word `off` on: what ptr32(uint(a) + bytes) is on CPython (_corepart)."""

    def __init__(self, w, off):
        self.w = w
        self.off = off

    def __add__(self, nbytes):
        return _WordsAt(self.w, self.off + (nbytes >> 2))

    def __getitem__(self, i):
        return self.w[self.off + i]

    def __setitem__(self, i, v):
        self.w[self.off + i] = v


def words_at(w):
    """_corepart's uint(a): an address that ptr32() and `+ bytes` accept."""
    return w if isinstance(w, _WordsAt) else _WordsAt(w, 0)


def words_ptr(x):
    """_corepart's ptr32(): the plain word view at offset 0 (the faster one on CPython)."""
    return x.w if isinstance(x, _WordsAt) and x.off == 0 else x


class SizeOk:
    """CPython's stand-in for the core's mask 0xFFFFFF in `(x & mask) is x`.

    On MicroPython every int below 2**24 is a small int, unique by value, so the
    test passes exactly such ints (a bool fails: True & mask is the int 1).
    CPython keeps only a few ints unique, so here `x & SIZE_OK` returns x itself
    for an int in range and None otherwise, and refuses other types with the
    words MicroPython's own `&` uses: the same TypeError on both VMs.
    _corepart's masks carry a partition index above bit 23: int(mask) is their value.
    """

    def __init__(self, value=0xFFFFFF):
        self.value = value

    def __int__(self):
        return self.value

    def __rand__(self, x):
        if type(x) is int:
            return x if 0 <= x < 0x1000000 else None
        if isinstance(x, int):          # a bool
            return None
        raise TypeError("unsupported types for __and__: '%s', 'int'" % type(x).__name__)


SIZE_OK = SizeOk()
