"""Stand-ins that let the viper-decorated core run unchanged on CPython.

On MicroPython the compiler handles @micropython.viper and ptr32/ptr8 itself;
this module is imported only where `import micropython` fails.  The arena
passes a memoryview cast to 32-bit words where viper code expects ptr32, so
ptr32/ptr8 are the identity here.
"""


def const(value):
    return value


def _same(fn):
    return fn


class _MicroPython:
    viper = staticmethod(_same)
    native = staticmethod(_same)
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
