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
