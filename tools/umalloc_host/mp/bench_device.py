# Runs ON MicroPython (unix port or a board): times umalloc against MicroPython's
# own allocator in one process, interleaved rep by rep so both see the same
# machine state.  The host prepends REPS and N; prints `BENCH name total_us`
# lines per rep and `FRAGS k` lines.  Host side: umalloc_host.speedbench.
import gc
import time
from array import array

import umalloc

try:
    REPS
except NameError:
    REPS, N = 7, 2000

ticks_us = time.ticks_us
ticks_diff = time.ticks_diff


def _nop():
    pass


def t_loop(n):
    t = ticks_us()
    for _ in range(n):
        pass
    return ticks_diff(ticks_us(), t)


def t_call(n):
    f = _nop
    t = ticks_us()
    for _ in range(n):
        f()
    return ticks_diff(ticks_us(), t)


def t_bytearray(n, size):
    t = ticks_us()
    for _ in range(n):
        bytearray(size)
    return ticks_diff(ticks_us(), t)


def t_pair(n, get, put, arg):
    t = ticks_us()
    for _ in range(n):
        put(get(arg))
    return ticks_diff(ticks_us(), t)


def t_part(n, get, put):
    t = ticks_us()
    for _ in range(n):
        put(get())
    return ticks_diff(ticks_us(), t)


# Usable bytes of each test heap's one large free block: mid size class, so a
# 64-byte split or merge keeps it in its class list (the common case).  The
# `heap_moving` row puts it just above a class boundary, so every malloc and
# free moves it between lists (the slower path, a few percent of real splits).
TOP = 3000
TOP_AT_BOUNDARY = 3584 + 16


def heap_with(k, top=TOP):
    """A heap with k small free holes below one large free block of `top` usable bytes."""
    a = umalloc.Arena(k * 36 + top + 4096, partitions=(), policy="first")   # 2k blocks of 16 B
    holes = array("i", bytes(4 * k))
    for i in range(k):
        holes[i] = a.malloc(12)
        a.malloc(12)                    # stays live: it keeps the holes apart
    for p in holes:
        a.free(p)
    a.malloc(a.stats()["largest_free"] - top - 4)   # a filler below leaves `top` bytes
    assert a.stats()["largest_free"] == top
    print("FRAGS", k, a.stats()["free_fragments"])
    return a


try:
    from _thread import allocate_lock
except ImportError:            # a board built without threads: no locked rows
    allocate_lock = None
gc.collect()
many = heap_with(1000)      # the big ones first, while the GC heap is whole
heap_arena = heap_with(0)
moving = heap_with(0, TOP_AT_BOUNDARY)
few = heap_with(10)
parts_arena = umalloc.Arena(4096, partitions=((32, 16),))
part = parts_arena.partitions[0]
if allocate_lock:
    locked = umalloc.Arena(4096, partitions=((32, 16),), lock=allocate_lock())
gc.collect()
for rep in range(REPS):
    print("BENCH loop", t_loop(N))
    print("BENCH call", t_call(N))
    print("BENCH bytearray32", t_bytearray(N, 32))
    print("BENCH part_pair", t_part(N, part.get, part.put))
    if allocate_lock:
        print("BENCH part_locked", t_part(N, locked.partitions[0].get, locked.partitions[0].put))
    print("BENCH bytearray64", t_bytearray(N, 64))
    print("BENCH heap_pair64", t_pair(N, heap_arena.malloc, heap_arena.free, 64))
    print("BENCH heap_moving", t_pair(N, moving.malloc, moving.free, 64))
    if allocate_lock:
        print("BENCH heap_locked", t_pair(N, locked.malloc, locked.free, 64))
    print("BENCH frag10", t_pair(N, few.malloc, few.free, 64))
    print("BENCH frag1000", t_pair(N, many.malloc, many.free, 64))
few.check()
many.check()
print("BENCH_DONE", REPS, N)
