# umalloc demo workload: fragment the arena step by step and report its figures.
# `umalloc demo` sends this file to the board (setting the DEMO_* names first);
# by hand on a board with umalloc deployed: mpremote run firmware/demo.py
import gc
import time
import umalloc

try:
    DEMO_SECONDS
except NameError:
    DEMO_SECONDS = 20
try:
    DEMO_TRACE             # path of a trace file on the board, or None: generated churn
except NameError:
    DEMO_TRACE = None
try:
    DEMO_TRACE_EVENTS
except NameError:
    DEMO_TRACE_EVENTS = 0
try:
    DEMO_TRACE_SLOTS       # IDs renumbered 0..N-1 by the host (umalloc demo does it)
except NameError:
    DEMO_TRACE_SLOTS = 0

from umalloc.reporter import report

TICK_MS = 250              # one report per tick
_ticks = max(8, DEMO_SECONDS * 1000 // TICK_MS)


def _arena():
    a = umalloc.default_arena()
    if a is not None:
        return a
    try:
        import umalloc_board as cfg
        size, parts, policy = cfg.ARENA_SIZE, cfg.PARTITIONS, cfg.POLICY
    except ImportError:
        size, parts, policy = 32 * 1024, ((16, 64), (64, 32)), "first"
    # The GC heap may already be in pieces (that is why boot.py reserves the arena
    # first thing); take the biggest size that fits now and say so.
    want = size
    while size >= want // 4:
        gc.collect()
        try:
            a = umalloc.init(size, partitions=parts, policy=policy)
            if size < want:
                print("# arena: %d bytes did not fit in the GC heap now, using %d "
                      "(boot.py reserves the full size at reset)" % (want, size))
            return a
        except MemoryError:
            size = size * 3 // 4 // 4 * 4
    raise MemoryError("no room for a %d-byte arena; reset the board and try again" % want)


A = _arena()
_phase = ["start"]
_t0 = time.ticks_ms()
_next = [time.ticks_add(_t0, TICK_MS)]


_worst = {"frag": 0.0, "t": 0.0, "free": 0, "largest_free": 0, "phase": "start"}
_reports = [0]


def emit():
    """Send one report, then wait for the next tick so the demo lasts DEMO_SECONDS."""
    s = A.stats()
    _reports[0] += 1
    if s["frag"] > _worst["frag"]:
        _worst.update(frag=s["frag"], t=time.ticks_diff(time.ticks_ms(), _t0) / 1000,
                      free=s["free"], largest_free=s["largest_free"], phase=_phase[0])
    report(arena=A)
    wait = time.ticks_diff(_next[0], time.ticks_ms())
    if wait > 0:
        time.sleep_ms(wait)
    _next[0] = time.ticks_add(_next[0], TICK_MS)


def phase(n, name, what, of=4):
    _phase[0] = name
    print("# phase %d/%d %s: %s" % (n, of, name, what))


_seed = [12345]


def rnd(n):
    _seed[0] = (_seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return (_seed[0] >> 8) % n


def size_for(heap):
    r = rnd(100)
    if r < 55:
        return 8 + rnd(56)                       # fits a partition
    if r < 90:
        return 100 + rnd(500)
    return 800 + rnd(max(1, min(3000, heap // 12) - 800))


def _spread(work, ticks):
    """Work units per tick so `work` units take `ticks` reports."""
    return max(1, (work + ticks - 1) // max(1, ticks))


def generated():
    heap = A.stats()["heap_size"]
    live = []                                    # short-lived: freed during churn
    pinned = []                                  # long-lived: they pin the holes
    t_fill, t_churn, t_ask = _ticks * 2 // 10, _ticks * 5 // 10, _ticks * 15 // 100
    t_release = max(2, _ticks - t_fill - t_churn - t_ask)

    phase(1, "fill", "allocate mixed sizes until 70% of the heap is used")
    per = _spread(heap * 7 // 10 // 300, t_fill)
    for _ in range(t_fill):
        for _ in range(per):
            if A.stats()["free"] < heap * 3 // 10:
                break
            p = A.malloc(size_for(heap))
            if p is not None:
                live.append(p)
        emit()

    phase(2, "churn", "free random blocks, allocate new ones; some live for good")
    pinned_bytes = 0
    per = _spread(6 * len(live) + 200, t_churn)
    for _ in range(t_churn):
        for _ in range(per):
            if live:
                A.free(live.pop(rnd(len(live))))
            if rnd(4) == 0 and pinned_bytes < heap // 5:
                n = 300 + rnd(300)               # heap-sized, so it sits between the holes
                p = A.malloc(n)
                if p is not None:
                    pinned.append(p)
                    pinned_bytes += n
            else:
                p = A.malloc(size_for(heap))
                if p is not None:
                    live.append(p)
        emit()

    phase(3, "big asks", "free the short-lived blocks, then ask for big ones: free is plenty, "
          "but in pieces")
    while live:
        A.free(live.pop())
    for i in range(t_ask):
        s = A.stats()
        want = s["free"] * (i + 2) // (t_ask + 3)
        if want > s["largest_free"]:
            p = A.malloc(want)
            print("# malloc(%d) -> %s  (free %d, largest piece %d)"
                  % (want, p, s["free"], s["largest_free"]))
            if p is not None:
                A.free(p)
        emit()

    phase(4, "release", "free the long-lived blocks: the holes merge back")
    per = _spread(len(pinned), t_release)
    for _ in range(t_release):
        for _ in range(per):
            if pinned:
                A.free(pinned.pop(rnd(len(pinned))))
        emit()


class Slots:
    """ID -> pointer for tracefmt.replay in one list allocated up front (0 = no block).

    A dict grows by reallocating as IDs go live (1000 live IDs: a 10-20 KB resize
    that fails in a fragmented GC heap); with IDs renumbered into slots the list
    never grows.  Without DEMO_TRACE_SLOTS (a trace run by hand) it falls back to a dict.
    """

    def __init__(self, n):
        self.v = [0] * n

    def __setitem__(self, i, p):
        self.v[i] = p

    def get(self, i, default=None):
        return self.v[i] or default

    def pop(self, i, default=None):
        p = self.v[i]
        self.v[i] = 0
        return p or default

    def __len__(self):
        return len(self.v) - self.v.count(0)

    def values(self):
        return (p for p in self.v if p)      # no list: the trace can leave ~1000 live


def replay(path, total):
    from umalloc.tracefmt import replay as run_trace
    phase(1, "replay", "%s, %d events" % (path, total), of=2)
    ids = Slots(DEMO_TRACE_SLOTS) if DEMO_TRACE_SLOTS else {}
    done = [0, 0]                # events replayed, reports sent

    def tick():
        # Spread the reports evenly over the events, so the replay lasts _ticks
        # reports whatever the event count (several reports per event for short traces).
        done[0] += 1
        while done[1] * total < done[0] * _ticks:
            done[1] += 1
            emit()

    with open(path) as f:
        run_trace(A, f, tick=tick, every=1, live=ids)
    phase(2, "release", "free what the trace left allocated", of=2)
    for p in ids.values():
        A.free(p)
    emit()


emit()
if DEMO_TRACE:
    replay(DEMO_TRACE, DEMO_TRACE_EVENTS)
else:
    generated()
A.check()
_s = A.stats()
# One line for the host's summary (the host does not show it as output).
print("@umdemo-summary", repr({
    "seconds": time.ticks_diff(time.ticks_ms(), _t0) / 1000, "reports": _reports[0],
    "worst": _worst, "heap_size": _s["heap_size"], "free": _s["free"],
    "min_ever_free": _s["min_ever_free"], "fail": _s["fail"],
    "fail_fragmented": _s["fail_fragmented"], "partitions": _s["partitions"],
    "policy": _s["policy"], "arena_size": _s["arena_size"], "check": "passed"}))
