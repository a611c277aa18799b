"""What keeps an interrupt from seeing the arena half-updated.

On a board, IRQ is (disable_irq, enable_irq): the core's malloc/free/get/put
mask interrupts around their list updates, so a hard IRQ handler may allocate
too, and GUARD (`with GUARD:`) does the same for the few Python-level steps
that span several core calls (realloc).  Elsewhere (the unix port, CPython)
there are no interrupts: IRQ is None and GUARD does nothing.

IRQ and Nothing live in arena.py (every Arena needs them: `import umalloc` does
not load this module); GUARD loads here with the cold code that uses it.

Threads are a different matter: the unix port and the RP2040's second core run
Python in parallel (no GIL), and disable_irq masks one core only.  An arena
shared between threads takes a lock: Arena(..., lock=_thread.allocate_lock()).
None of this allocates on entry or exit.
"""

try:
    from machine import disable_irq, enable_irq
except ImportError:
    disable_irq = None

from .arena import IRQ, Nothing   # (IRQ, Nothing: in arena, which every Arena() needs)


class _IrqOff:
    def __init__(self):
        self.state = 0

    def __enter__(self):
        self.state = disable_irq()

    def __exit__(self, exc_type, exc, tb):   # no *args: that would allocate a tuple
        enable_irq(self.state)


if disable_irq is not None:
    GUARD = _IrqOff()
else:
    GUARD = Nothing()
