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


def test_a_search_that_raises_leaves_interrupts_unmasked():
    # The first / best / two-ended policies' search (_core._find) is Python run with
    # interrupts masked; if it raises (say the recursion limit, malloc called deep in a
    # program's stack), the exception must not leave them masked.
    from umalloc import _core

    def failing_search(a, need, small):
        raise RuntimeError("search failed")

    for policy in ("first", "best", "twoended"):
        real = _core._find
        _core._find = failing_search
        try:
            a, state = _arena_with_standin_irq(policy=policy)
        finally:
            _core._find = real
        try:
            a.malloc(100)                  # past the partitions: the heap's search
        except RuntimeError as exc:
            assert str(exc) == "search failed"
        else:
            raise AssertionError("the failing search did not raise")
        assert state[0] == 0 and state[1] == state[2] == 1, (policy, state)
        a.free(a.malloc(16))               # a partition block: no search, still balanced
        assert state == [0, 3, 3], (policy, state)   # malloc and free: masked once each


def test_b_on_a_board_a_failing_search_restores_the_interrupt_state():
    # The same with the board's own masking (on Cortex-M the C core's PRIMASK): after
    # the exception, interrupts are enabled again.  The unix port has nothing to mask
    # (arena.IRQ is None); the test above covers it with stand-ins.
    if arena_module.IRQ is None:
        return
    import machine
    from umalloc import _core

    def failing_search(a, need, small):
        raise RuntimeError("search failed")

    real = _core._find
    _core._find = failing_search
    try:
        a = Arena(4096, policy="best")
    finally:
        _core._find = real
    enabled = machine.disable_irq()      # what masking finds while interrupts are on
    machine.enable_irq(enabled)
    try:
        a.malloc(100)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the failing search did not raise")
    after = machine.disable_irq()
    machine.enable_irq(enabled)          # on, whatever happened (a failed test must not hang)
    assert after == enabled, (after, enabled)
