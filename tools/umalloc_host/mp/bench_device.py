# Runs ON MicroPython (unix port or a board): times umalloc against MicroPython's
# own allocator in one process.  The host prepends PHASE, REPS, N, WORST, LIVE and
# FIRST, and runs each phase in a fresh interpreter (soft reset or new process):
#   "import": RAM taken by `import umalloc` and the first Arena  -> IMPORT lines
#   "speed":  REPS x N interleaved ops                            -> BENCH, FRAGS lines
#   "worst":  the longest single op over WORST ops, LIVE bytes of
#             live GC objects so bytearray() pays for collections -> LIVE, WORST lines
# Host side: umalloc_host.speedbench.
import gc
import sys
import time
from array import array

try:
    PHASE
except NameError:
    PHASE, REPS, N, WORST, LIVE, FIRST = "speed", 7, 2000, 100000, 100000, None

ticks_diff = time.ticks_diff
ARENA = 4096                # the first Arena's buffer, left out of its RAM figure


def _clock():
    """(now, ns per tick): time.ticks_us, or on QEMU's mps2 boards a race-free timer.

    QEMU's Cortex-M ticks_us reads the ms count and the SysTick counter apart, so
    some readings land 1000 us low when the counter wraps in between (and runs
    of them while the tick interrupt is held back).  The CMSDK timer 0 there is
    one free-running 25 MHz counter: counting down from 2**30 - 1, so up-counts
    wrap like ticks_us and ticks_diff applies.
    """
    try:
        import os
        if "mps2" not in os.uname().machine:
            raise ValueError
        import machine
        import micropython
    except (ImportError, AttributeError, ValueError):
        return time.ticks_us, 1000
    for offset in (8, 4):                 # RELOAD, VALUE
        machine.mem32[0x40000000 + offset] = 0x3FFFFFFF
    machine.mem32[0x40000000] = 1         # CTRL: enable
    code = ("@micropython.viper\ndef now() -> int:\n"
            "    return 0x3FFFFFFF - ptr32(0x40000004)[0]\n")
    names = {"micropython": micropython}
    exec(code, names)
    return names["now"], 40


ticks_us, NS_PER_TICK = _clock()    # "us" below: ticks of this clock
print("CLOCK", NS_PER_TICK)


def phase_import():
    # Where umalloc comes from: FIRST ("/lib" or ".frozen") is tried first.
    if FIRST and FIRST in sys.path:
        sys.path.remove(FIRST)
        sys.path.insert(0, FIRST)
    if "umalloc" in sys.modules:
        print("IMPORT preloaded - 0 0")
        return
    gc.collect()
    before = gc.mem_alloc()
    import umalloc
    gc.collect()
    imported = gc.mem_alloc()
    arena = umalloc.Arena(ARENA)
    gc.collect()
    after = gc.mem_alloc()
    where = umalloc.__file__
    kind = "mpy" if where.endswith(".mpy") else ("py" if where.startswith("/") else "frozen")
    print("IMPORT", kind, where, imported - before, after - imported - ARENA)
    # What the first use of each further part keeps, so that a cost moved out of
    # `import umalloc` still shows: FIRST kind step bytes (arena buffers left out).
    first(kind, "malloc", _use_heap, arena, 0)
    first(kind, "partitions", _use_partitions, umalloc, ARENA)
    first(kind, "report", _use_report, arena, 0)
    first(kind, "cold", _use_cold, arena, 0)


def first(kind, step, use, arg, buffers):
    gc.collect()
    before = gc.mem_alloc()
    kept = use(arg)                 # alive while measured: an arena the step made counts
    gc.collect()
    print("FIRST", kind, step, gc.mem_alloc() - before - buffers)
    return kept


def _use_heap(arena):
    arena.free(arena.malloc(8))


def _use_partitions(umalloc):
    a = umalloc.Arena(ARENA, partitions=((32, 8),))
    part = a.partitions[0]
    part.put(part.get())
    return a


def _use_report(arena):
    arena.stats()                   # what a report (umalloc.report, Reporter) reads
    arena.map(32)


def _use_cold(arena):
    arena.check()
    p = arena.realloc(arena.malloc(8), 100)
    arena.view(p)
    arena.size_of(p)
    arena.free(p)


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
# Usable sizes are 4 less than a block, a multiple of the heap's 8-byte granule.
TOP = 3004
TOP_AT_BOUNDARY = 3584 + 20


def heap_with(umalloc, k, top=TOP, **options):
    """A heap with k small free holes below one large free block of `top` usable bytes."""
    a = umalloc.Arena(k * 36 + top + 4096, partitions=(), **options)   # 2k blocks of 16 B
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


def phase_speed():
    import umalloc
    from umalloc._guard import IRQ
    print("USING", umalloc.__file__)
    try:
        from _thread import allocate_lock
    except ImportError:            # a board built without threads: no locked rows
        allocate_lock = None
    # The fragment rows first, while the GC heap is whole enough for their big arena.
    gc.collect()
    many = heap_with(umalloc, 1000)
    few = heap_with(umalloc, 10)
    for rep in range(REPS):
        print("BENCH frag10", t_pair(N, few.malloc, few.free, 64))
        print("BENCH frag1000", t_pair(N, many.malloc, many.free, 64))
    few.check()
    many.check()
    many = few = None
    # Then the ratio rows, with only their own small arenas on the GC heap: every
    # collection scans live bytearrays, so big arenas would make bytearray() dearer.
    gc.collect()
    heap_arena = heap_with(umalloc, 0)
    part = umalloc.Arena(1024, partitions=((32, 16),)).partitions[0]
    moving = heap_with(umalloc, 0, TOP_AT_BOUNDARY)
    if IRQ:                        # a board: the same pairs on arenas that skip masking
        quiet_heap = heap_with(umalloc, 0, irq=False)
        quiet = umalloc.Arena(1024, partitions=((32, 16),), irq=False).partitions[0]
    if allocate_lock:
        locked = umalloc.Arena(4096, partitions=((32, 16),), lock=allocate_lock())
    gc.collect()
    print("HEAP", gc.mem_alloc(), gc.mem_free())
    for rep in range(REPS):
        print("BENCH loop", t_loop(N))
        print("BENCH call", t_call(N))
        print("BENCH bytearray32", t_bytearray(N, 32))
        print("BENCH part_pair", t_part(N, part.get, part.put))
        if IRQ:
            print("BENCH part_noirq", t_part(N, quiet.get, quiet.put))
        if allocate_lock:
            print("BENCH part_locked", t_part(N, locked.partitions[0].get, locked.partitions[0].put))
        print("BENCH bytearray64", t_bytearray(N, 64))
        print("BENCH heap_pair64", t_pair(N, heap_arena.malloc, heap_arena.free, 64))
        if IRQ:
            print("BENCH heap_noirq", t_pair(N, quiet_heap.malloc, quiet_heap.free, 64))
        print("BENCH heap_moving", t_pair(N, moving.malloc, moving.free, 64))
        if allocate_lock:
            print("BENCH heap_locked", t_pair(N, locked.malloc, locked.free, 64))
    gc_bytes("heap_pair64", t_pair, heap_arena.malloc, heap_arena.free, 64)
    gc_bytes("part_pair", t_part, part.get, part.put)
    gc_bytes("bytearray64", t_bytearray, 64)


def gc_bytes(name, timer, *args):
    """GCBYTES name n: GC heap bytes 100 ops leave allocated, per op (collections off)."""
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    timer(100, *args)
    after = gc.mem_alloc()
    gc.enable()
    print("GCBYTES", name, (after - before) // 100)


# -- worst case ---------------------------------------------------------------
# Each op is timed alone; durations below CAP us go to a histogram, longer ones
# (the collections) to a list, so p99.9 is exact and the loop allocates nothing.

CAP = 100000 // NS_PER_TICK      # ticks: 100 us on any clock, longer ones go to a list
GLITCH = 500000 // NS_PER_TICK   # half the 1000 us a racing ticks_us reading is low by


def _record(d, hist, big, nbig):
    if d < 0:                      # cannot happen after _span; never index from the end
        d = 0
    if d < CAP:
        hist[d] += 1
    elif nbig < len(big):
        big[nbig] = d
        nbig += 1
    return nbig


# Where ticks_us can read low for a moment (see _clock), each end is read twice
# and a reading that went back is dropped; a real stall (a collection) happens
# between the two ends and is kept whole.

def _span(a, b, c, e):
    start = a if ticks_diff(b, a) < 0 else b
    end = e if ticks_diff(e, c) > GLITCH else c
    return ticks_diff(end, start)


def w_bytearray(n, hist, big):
    nbig = 0
    for _ in range(n):
        a = ticks_us()
        b = ticks_us()
        bytearray(64)
        c = ticks_us()
        nbig = _record(_span(a, b, c, ticks_us()), hist, big, nbig)
    return nbig


def w_pair(n, get, put, hist, big):
    nbig = 0
    for _ in range(n):
        a = ticks_us()
        b = ticks_us()
        put(get(64))
        c = ticks_us()
        nbig = _record(_span(a, b, c, ticks_us()), hist, big, nbig)
    return nbig


def w_part(n, get, put, hist, big):
    nbig = 0
    for _ in range(n):
        a = ticks_us()
        b = ticks_us()
        put(get())
        c = ticks_us()
        nbig = _record(_span(a, b, c, ticks_us()), hist, big, nbig)
    return nbig


def report_worst(name, n, hist, big, nbig):
    """WORST name ops max_us p99.9_us: p99.9 is the smallest d with >= 99.9 % of ops <= d."""
    rank = (n * 999 + 999) // 1000
    longest = 0
    seen = 0
    p999 = -1
    for d in range(CAP):
        if hist[d]:
            longest = d
            seen += hist[d]
            if p999 < 0 and seen >= rank:
                p999 = d
    tail = sorted(big[:nbig])
    if tail:
        longest = tail[-1]
        if p999 < 0:
            p999 = tail[min(rank - seen, len(tail)) - 1]
    print("WORST", name, n, longest, p999)
    for d in range(CAP):
        hist[d] = 0


def phase_worst():
    import umalloc
    heap = umalloc.Arena(4096, partitions=())
    part = umalloc.Arena(4096, partitions=((64, 16),)).partitions[0]
    hist = array("I", bytes(4 * CAP))
    big = array("I", bytes(4 * 1024))
    gc.collect()
    base = gc.mem_alloc()
    live = []
    for _ in range(2):                    # again after a collection took the list's old copies
        while gc.mem_alloc() - base < LIVE:   # many small objects: what a collection walks
            live.append(bytearray(48))
        gc.collect()
    print("LIVE", gc.mem_alloc() - base, gc.mem_free())
    report_worst("heap_pair64", WORST, hist, big, w_pair(WORST, heap.malloc, heap.free, hist, big))
    report_worst("part_pair64", WORST, hist, big, w_part(WORST, part.get, part.put, hist, big))
    report_worst("bytearray64", WORST, hist, big, w_bytearray(WORST, hist, big))
    live = None
    gc.collect()
    heap.check()


if PHASE == "import":
    phase_import()
elif PHASE == "worst":
    phase_worst()
else:
    phase_speed()
print("BENCH_DONE", PHASE, REPS, N)
