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
