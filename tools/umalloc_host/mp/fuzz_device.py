# Runs ON MicroPython (unix port) or CPython: the memory-safety fuzz.  Each trial
# builds a random arena with random live and freed blocks, scribbles 1-4 bytes
# the way a buggy application does (past a block's end, through a stale pointer
# to a freed block, anywhere among the blocks, or anywhere in the arena: its
# header, descriptors, bitmaps and class lists too), then runs 60 more
# malloc/free/realloc calls and a check()/stats()/map().  Every call must end
# normally or with MemError; anything else is printed as an OTHER line.  A VM
# crash shows on the host as a dead process.
# The host prepends SEED, FIRST, TRIALS; trial i uses its own generator seeded
# from (SEED, i), so one trial can be replayed alone.  Prints `P i` progress
# lines and `DONE trials normal memerror corrupt other` (a trial counts once, by
# the worst it saw: another MemError such as a stale double free, then damage found).  Host side: umalloc_host.fuzz.
import umalloc
from umalloc import Arena, MemError

try:
    SEED
except NameError:
    SEED, FIRST, TRIALS = 1, 0, 100

OPS_AFTER = 60
# 4-byte values a scribble writes: bytes that look like a free header, a huge
# or negative link, or zero
ODD_WORDS = (0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10, 0x20000010, 1, 0xFFFFFF)


class Rng:
    """xorshift32: the same numbers on both VMs, no `random` module needed."""

    def __init__(self, seed):
        self.s = (seed * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF or 1

    def below(self, n):
        x = self.s
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.s = x
        return x % n


def make_arena(r):
    size = 768 + 4 * r.below(1800)                 # 768 B .. 7.9 KB
    align = (8, 4, None, None)[r.below(4)]       # None: Arena's default (8-byte heap granule)
    parts = []
    for _ in range(r.below(3)):
        bs = (7, 9, 12, 16, 24, 32, 48, 64)[r.below(8)]
        if (align == 8 and bs % 8) or bs in [p[0] for p in parts]:
            continue
        parts.append((bs, 2 + r.below(10)))
    policy = umalloc.POLICIES[r.below(3)]
    debug = r.below(4) == 0
    try:
        return Arena(size, partitions=tuple(parts), policy=policy, align=align, debug=debug,
                     small_threshold=16 * r.below(20))
    except MemError:                                # partitions too large for this size
        return Arena(size, partitions=(), policy=policy, align=align, debug=debug)


def request(r, a):
    k = r.below(8)
    if k < 4:
        return r.below(33)
    if k < 7:
        return r.below(300)
    return r.below(len(a._buf) // 2)


def op(r, a, live, freed):
    """One random call: 0, or 2 when it found damage (ERR_MEM_CORRUPT), 1 for another MemError."""
    k = r.below(12)
    try:
        if k < 5 or not live:
            p = a.malloc(request(r, a))
            if p:
                v = a.view(p)
                if len(v):                          # the application uses its block
                    v[0] = r.below(256)
                    v[len(v) - 1] = r.below(256)
                live.append(p)
        elif k < 8:
            p = live.pop(r.below(len(live)))
            freed.append(p)
            a.free(p)
        elif k < 11:
            i = r.below(len(live))
            q = a.realloc(live[i], request(r, a))
            if q:
                live[i] = q
        elif freed:                                 # a stale pointer freed again
            a.free(freed[r.below(len(freed))])
    except MemError as exc:
        return 2 if exc.code == umalloc.ERR_MEM_CORRUPT else 1
    return 0


def put_word(buf, off, value, n):
    for i in range(n):
        if 0 <= off + i < len(buf):
            buf[off + i] = (value >> (8 * i)) & 0xFF


def scribble(r, a, live, freed):
    """Write 1-4 bytes where a buggy application would."""
    buf = a._buf
    n = 1 + r.below(4)
    first = a.stats()["meta"]                       # the first block's byte
    mode = r.below(5)
    if mode == 0 and live:                          # just past a live block's end
        p = live[r.below(len(live))]
        try:                                        # (a stale double free may have freed it)
            off = p + (len(a.view(p)) if r.below(2) else a.size_of(p)) + r.below(8) - 2
        except MemError:
            off = p
    elif mode <= 2 and freed:                       # through a pointer to a freed block
        off = freed[r.below(len(freed))] - 4 + r.below(24)
    elif mode == 3:                                 # anywhere among the blocks
        off = first + r.below(len(buf) - first)
    else:                                           # anywhere at all: header, tables, blocks
        off = r.below(len(buf))
    if off < 0:
        off = 0
    k = r.below(3)
    if k == 0:
        value = ODD_WORDS[r.below(len(ODD_WORDS))]
    elif k == 1 and live + freed:                   # a plausible pointer: another block's offset
        value = (live + freed)[r.below(len(live + freed))] + r.below(9) - 4
    else:
        value = r.below(1 << 16) | (r.below(1 << 16) << 16)
    put_word(buf, off, value, n)


def figures(a):
    """check(), stats(), map() on the damaged arena: 2 when any found the damage."""
    found = 0
    for fn in (a.check, a.stats, a.map):
        try:
            fn()
        except MemError as exc:
            found = 2 if exc.code == umalloc.ERR_MEM_CORRUPT else max(found, 1)
    return found


def trial(i):
    r = Rng(SEED * 1000003 + i)
    a = make_arena(r)
    live, freed = [], []
    for _ in range(2 + r.below(14)):
        op(r, a, live, freed)
    scribble(r, a, live, freed)
    worst = 0
    for _ in range(OPS_AFTER):
        worst = max(worst, op(r, a, live, freed))
    return max(worst, figures(a))


def main():
    counts = [0, 0, 0, 0]       # normal, another MemError only, damage found, other exception
    for i in range(FIRST, FIRST + TRIALS):
        if (i - FIRST) % 50 == 0:
            print("P", i - FIRST)
        try:
            counts[trial(i)] += 1
        except Exception as exc:                    # not MemError: a failure the host reports
            counts[3] += 1
            print("OTHER", SEED, i, repr(exc))
    print("DONE", TRIALS, counts[0], counts[1], counts[2], counts[3])


main()
