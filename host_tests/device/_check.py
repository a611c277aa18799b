"""Assertion helpers for device tests: MicroPython has no pytest on the device."""


def raises(exc_type, fn, *args):
    """Call fn(*args); return the exception if it is exc_type, else fail."""
    try:
        fn(*args)
    except exc_type as exc:
        return exc
    raise AssertionError("expected %s from %r%r" % (exc_type.__name__, fn, args))


def on_micropython():
    import sys
    return sys.implementation.name == "micropython"


def fill(a, p, value):
    """Write value into every byte of block p's view."""
    v = a.view(p)
    for i in range(len(v)):
        v[i] = value


def intact(a, p, value):
    """True when every byte of block p's view still holds value."""
    for x in a.view(p):
        if x != value:
            return False
    return True
