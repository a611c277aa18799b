# malloc/free/calloc/get/put allocate nothing: 10,000 pairs under heap_lock().
try:
    import micropython
except ImportError:                       # CPython: the shim's heap_lock does nothing
    from umalloc._shim import micropython
from umalloc import Arena
from _check import on_micropython

PAIRS = 10000


def _churn(a, part, pairs):
    i = 0
    while i < pairs:
        p = a.malloc(24 + (i & 127))        # partition or heap by size
        q = part.get()
        r = a.calloc(2, 20 + (i & 15))
        a.free(p)
        part.put(q)
        a.free(r)
        i += 1
    return i


def test_heap_lock_is_real_on_micropython():
    if not on_micropython():
        return
    micropython.heap_lock()
    try:
        bytearray(16)
        allocated = True
    except MemoryError:
        allocated = False
    micropython.heap_unlock()
    assert not allocated, "heap_lock() did not stop a GC allocation"


def test_ten_thousand_pairs_under_heap_lock():
    a = Arena(8192, partitions=((16, 16), (64, 8)))
    part = a.partitions[1]
    micropython.heap_lock()
    try:
        done = _churn(a, part, PAIRS)
    finally:
        micropython.heap_unlock()
    assert done == PAIRS
    a.check()
    st = a.stats()
    assert st["live_blocks"] == 0 and st["fail"] == 0


def test_board_irq_guard_allocates_nothing():
    # The guard used where machine.disable_irq exists (RP2040, ESP32), driven by
    # stand-in IRQ functions so the unix port can prove it under heap_lock().
    from umalloc import _guard
    calls = [0, 0]

    def disable():
        calls[0] += 1
        return 7

    def enable(state):
        calls[1] += state

    saved = _guard.disable_irq
    _guard.disable_irq, _guard.enable_irq = disable, enable
    guard = _guard._IrqOff()
    try:
        micropython.heap_lock()
        try:
            for _ in range(100):
                with guard:
                    pass
        finally:
            micropython.heap_unlock()
    finally:
        _guard.disable_irq = saved
    assert calls == [100, 700]


def test_core_masks_interrupts_where_a_board_has_them():
    # On a board the core's closures call disable_irq/enable_irq around every
    # update.  Stand-ins prove the calls balanced, never nested, and allocation-free.
    from umalloc import arena as arena_module
    state = [0, 0, 0, 0]      # masked now, deepest, disable calls, wrong states handed back

    def disable():
        state[0] += 1
        state[2] += 1
        if state[0] > state[1]:
            state[1] = state[0]
        return 5

    def enable(saved):
        state[0] -= 1
        if saved != 5:
            state[3] += 1

    saved_irq = arena_module.IRQ
    arena_module.IRQ = (disable, enable)
    try:
        a = Arena(8192, partitions=((16, 16), (64, 8)))
    finally:
        arena_module.IRQ = saved_irq
    part = a.partitions[1]
    micropython.heap_lock()
    try:
        done = _churn(a, part, 1000)
    finally:
        micropython.heap_unlock()
    assert done == 1000
    assert state == [0, 1, 6 * 1000, 0]     # malloc, get, calloc, free, put, free per round
    a.check()
