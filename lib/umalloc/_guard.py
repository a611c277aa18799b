"""The critical section around free-list updates.

On a board, interrupts are masked (machine.disable_irq), so an IRQ handler may
allocate too; where _thread exists without that (the unix port), a lock; on
CPython the tools are single-threaded and nothing is needed.  Note: on the
RP2040 disable_irq masks only the calling core - share an arena between cores
only with your own lock around it.
"""

try:
    import machine
    _disable, _enable = machine.disable_irq, machine.enable_irq
except (ImportError, AttributeError):
    _disable = None

if _disable is not None:
    def enter():
        return _disable()

    def leave(state):
        _enable(state)
else:
    try:
        import _thread
        _lock = _thread.allocate_lock()
    except (ImportError, AttributeError):
        _lock = None
    import sys
    if _lock is None or sys.implementation.name != "micropython":
        def enter():
            return 0

        def leave(state):
            pass
    else:
        def enter():
            _lock.acquire()
            return 0

        def leave(state):
            _lock.release()
