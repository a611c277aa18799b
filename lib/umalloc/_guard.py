"""GUARD: the critical section around free-list updates (`with GUARD:`).

On a board it masks interrupts (machine.disable_irq), so an IRQ handler may
allocate too; where _thread exists without that (the unix port) it is a lock;
on CPython the tools are single-threaded and it does nothing.  None of them
allocates on entry or exit.  Note: on the RP2040 disable_irq masks only the
calling core - share an arena between cores only under your own lock.
"""

import sys

try:
    from machine import disable_irq, enable_irq
except ImportError:
    disable_irq = None


class _IrqOff:
    def __init__(self):
        self.state = 0

    def __enter__(self):
        self.state = disable_irq()

    def __exit__(self, exc_type, exc, tb):   # no *args: that would allocate a tuple
        enable_irq(self.state)


class _Nothing:
    def __enter__(self):
        pass

    def __exit__(self, exc_type, exc, tb):
        pass


if disable_irq is not None:
    GUARD = _IrqOff()
elif sys.implementation.name == "micropython":
    try:
        import _thread
        GUARD = _thread.allocate_lock()
    except ImportError:
        GUARD = _Nothing()
else:
    GUARD = _Nothing()
