# Arena(irq=False): an arena never touched from an interrupt handler skips the
# masking; the default masks around every update.  Stand-in IRQ functions (the
# unix port has no interrupts) count the calls, under heap_lock().
try:
    import micropython
except ImportError:                       # CPython: the shim's heap_lock does nothing
    from umalloc._shim import micropython
from umalloc import Arena
from umalloc import arena as arena_module


def _arena_with_standin_irq(**options):
    state = [0, 0, 0]         # masked now, disable calls, enable calls

    def disable():
        state[0] += 1
        state[1] += 1
        return 3

    def enable(saved):
        state[0] -= 1
        state[2] += 1

    saved_irq = arena_module.IRQ
    arena_module.IRQ = (disable, enable)
    try:
        a = Arena(4096, partitions=((32, 8),), **options)
    finally:
        arena_module.IRQ = saved_irq
    return a, state


def _pairs(a, n):
    part = a.partitions[0]
    micropython.heap_lock()
    try:
        for _ in range(n):
            a.free(a.malloc(64))
            part.put(part.get())
    finally:
        micropython.heap_unlock()


def test_default_masks_every_operation_balanced():
    a, state = _arena_with_standin_irq()
    _pairs(a, 100)
    assert state == [0, 400, 400]
    a.check()


def test_irq_false_never_masks():
    a, state = _arena_with_standin_irq(irq=False)
    _pairs(a, 100)
    assert state == [0, 0, 0]
    a.check()
    assert a.stats()["live_blocks"] == 0
