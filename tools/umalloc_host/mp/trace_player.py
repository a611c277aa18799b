# Runs ON MicroPython (unix port or a board): replays a packed trace either with
# bytearrays from MicroPython's own GC heap or through a umalloc Arena, and
# prints one RESULT line.  The loop itself allocates nothing: events come from a
# fixed read buffer (6 bytes each: op, slot u16, size u24) and live blocks sit
# in a preallocated slot list, so every byte the GC hands out goes to the trace.
#
# usage: micropython trace_player.py gc|umalloc|setup PACKED NSLOTS BUDGET [PARTS POLICY]
#   PARTS like 16x64,64x32 or - ; BUDGET is the arena size in umalloc mode.
import gc
import sys

gc.collect()
start_alloc = gc.mem_alloc()
mode = sys.argv[1]
path = sys.argv[2]
nslots = int(sys.argv[3])
budget = int(sys.argv[4])
slots = [0] * nslots
buf = bytearray(6 * 64)
f = open(path, "rb")
f.readinto(buf, 0)           # the first read may allocate the file's own buffer
f.seek(0)
arena = None
if mode == "umalloc":
    import umalloc
    parts = []
    if len(sys.argv) > 5 and sys.argv[5] != "-":
        for item in sys.argv[5].split(","):
            s, c = item.split("x")
            parts.append((int(s), int(c)))
    small = int(sys.argv[7]) if len(sys.argv) > 7 else 256     # Arena's defaults
    align = (int(sys.argv[8]) if len(sys.argv) > 8 else 0) or None   # 0: Arena's default
    try:
        arena = umalloc.Arena(budget, partitions=parts, policy=sys.argv[6] if len(sys.argv) > 6 else "good",
                              small_threshold=small, align=align)
    except umalloc.MemError:
        print("LAYOUT_DOES_NOT_FIT")     # the budget cannot hold the partitions: all requests fail
        sys.exit(0)
    malloc = arena.malloc
    free = arena.free
    realloc = arena.realloc
fails = 0
events = 0
gc.collect()
setup_alloc = gc.mem_alloc()
setup_free = gc.mem_free()
print("SETUP_DONE")
if mode == "gc":
    while True:
        n = f.readinto(buf)
        if not n:
            break
        i = 0
        while i < n:
            op = buf[i]
            s = buf[i + 1] | (buf[i + 2] << 8)
            size = buf[i + 3] | (buf[i + 4] << 8) | (buf[i + 5] << 16)
            i += 6
            events += 1
            if op == 1:
                slots[s] = 0
                continue
            try:
                slots[s] = bytearray(size)   # a realloc keeps the old one alive meanwhile, as it must
            except MemoryError:
                fails += 1
                if op == 0:
                    slots[s] = 0
elif mode == "umalloc":
    while True:
        n = f.readinto(buf)
        if not n:
            break
        i = 0
        while i < n:
            op = buf[i]
            s = buf[i + 1] | (buf[i + 2] << 8)
            size = buf[i + 3] | (buf[i + 4] << 8) | (buf[i + 5] << 16)
            i += 6
            events += 1
            p = slots[s]
            if op == 1:
                if p:
                    free(p)
                slots[s] = 0
                continue
            q = realloc(p, size) if (op == 2 and p) else malloc(size)
            if q is None:
                fails += 1
            else:
                slots[s] = q
f.close()
for i in range(nslots):      # drop the trace's blocks: the report below needs a little heap
    slots[i] = 0
gc.collect()
print("RESULT", mode, events, fails, start_alloc, setup_alloc, setup_free,
      gc.mem_alloc() + gc.mem_free(), arena.stats()["min_ever_free"] if arena else -1)
