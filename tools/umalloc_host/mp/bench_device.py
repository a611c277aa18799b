# Runs ON MicroPython (unix port or a board): times umalloc against MicroPython's
# own allocator in one process, interleaved rep by rep so both see the same
# machine state.  The host prepends REPS and N; prints `BENCH name total_us`
# lines per rep and `FRAGS k` lines.  Host side: umalloc_host.speedbench.
import gc
import time

import umalloc
from umalloc import _core
from umalloc._guard import GUARD

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


def t_core(n, get, put, w, d):
    # the viper primitives alone, without Arena's method, guard and checks
    if get is _core.alloc:          # heap: alloc(w, size) / release(w, p)
        t = ticks_us()
        for _ in range(n):
            put(w, get(w, d))
        return ticks_diff(ticks_us(), t)
    t = ticks_us()
    for _ in range(n):
        put(w, d, get(w, d))
    return ticks_diff(ticks_us(), t)


def t_guard(n, guard):
    # the critical section every malloc/free/get/put enters (irq off on a board)
    t = ticks_us()
    for _ in range(n):
        with guard:
            pass
    return ticks_diff(ticks_us(), t)


def fragmented(k):
    """A heap whose free list holds k small holes below one large free block."""
    a = umalloc.Arena(k * 64 + 8192, partitions=(), policy="first")
    keep = []
    for i in range(2 * k):
        p = a.malloc(24)
        if i % 2:
            keep.append(p)
        else:
            keep.append(-p)
    for p in keep:
        if p < 0:
            a.free(-p)
    print("FRAGS", k, a.stats()["free_fragments"])
    return a, keep


parts_arena = umalloc.Arena(4096, partitions=((32, 16),))
part = parts_arena.partitions[0]
heap_arena = umalloc.Arena(4096, partitions=())
few, _few_keep = fragmented(10)
many, _many_keep = fragmented(1000)
gc.collect()
for rep in range(REPS):
    print("BENCH loop", t_loop(N))
    print("BENCH call", t_call(N))
    print("BENCH guard", t_guard(N, GUARD))
    print("BENCH bytearray32", t_bytearray(N, 32))
    print("BENCH part_pair", t_part(N, part.get, part.put))
    print("BENCH part_core", t_core(N, _core.part_get, _core.part_put, part._w, part._d))
    print("BENCH bytearray64", t_bytearray(N, 64))
    print("BENCH heap_pair64", t_pair(N, heap_arena.malloc, heap_arena.free, 64))
    print("BENCH heap_core", t_core(N, _core.alloc, _core.release, heap_arena._w, 64))
    print("BENCH frag10", t_pair(N, few.malloc, few.free, 64))
    print("BENCH frag1000", t_pair(N, many.malloc, many.free, 64))
few.check()
many.check()
print("BENCH_DONE", REPS, N)
