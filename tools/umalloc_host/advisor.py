"""Propose a partition layout for a trace: the one that needs the smallest arena.

Partitions cost nothing per block but reserve their blocks for good; the heap
costs a 4-byte header and rounding per block but shares its space.  So a size
that is requested often, and whose live count stays steady, belongs in a
partition sized to its peak live count; the rest belongs in the heap.  The
search is empirical: every candidate layout (partition sizes and counts, heap
policy, twoended small_threshold, heap align) is judged by the smallest arena
with which it replays the trace with zero failures, on heapmodel (an exact model
of the core's placement: a layout is first replayed once in the arena that the
best so far needs, less a word, which a worse layout fails partway through;
then one unbounded run per first- or good-fit layout, a bisection for the
others).  Hill climbs from a few starting layouts, then restarts near the best
end found alternating with seeds from elsewhere (the frequent sizes at several
shares of their peak counts under every heap configuration), then random
changes around the best until they stop paying; two at a time in worker
processes within a budget of model replays.  The climbs' ends are ranked by
`sim --min-arena`'s own bisection and the winner is replayed on the real core
(lib/umalloc) before it is advised.

Block sizes are exact (10-byte requests get 10-byte blocks) when the core takes
any block size; ALIGN = 4 forces multiples of 4, as older cores require.
"""

import random
from collections import Counter

import umalloc
import umalloc._arenainit    # validated(): the core's checks of partitions

from . import heapmodel, minarena, traces
from .errors import UserError
from .idealheap import ideal_arena
from .simulate import POLICIES, Layout, bisect_min, umalloc_factory


def _block_align():
    """Partition block sizes the core accepts: any size >= 4 (1), or multiples of 4 (4)."""
    try:
        umalloc.Arena(4096, partitions=((10, 4),))
    except (umalloc.MemError, ValueError):
        return 4
    return 1         # any size the core accepts (_accepted): e.g. 4, 8, 12 and everything from 7


ALIGN = _block_align()   # set to 4 to propose only multiples of 4 even when the core takes any size
STEP = 4                 # arena sizes are whole words: the answers are exact to the byte that counts
SIM_STEP = 8             # best fit and two-ended: sim --min-arena's bisection, step and all
FINALISTS = 12           # climb ends whose sim --min-arena figures decide the advice
LONG_FINALISTS = 3       # ... on traces over LONG events (each figure is a bisection), and
VERY_LONG_FINALISTS = 1  # over VERY_LONG events
TAIL = 3                 # and the best climb's last layouts before its end (best fit, two-ended;
                         # up to VERY_LONG events)
MAX_PARTITIONS = 8
MAX_CANDIDATES = 12
PARTITION_CAP = 2048     # larger blocks are rare enough to leave to the heap
MIN_SHARE = 0.01         # a block size that would serve fewer requests than this is left to the heap
TARGET = 1.15            # the ratio to peak live the explanation measures the result against
DEFAULT_SMALL = 256      # Arena's small_threshold when none is given
DEFAULT_POLICY = "good"  # Arena's policy when none is given
# Budgets in events replayed through heapmodel (about 2 us an event on one core of a laptop;
# a climb runs in a worker process, two side by side): issue 14's goals are 20 s for 10,000
# events and 60 s for 100,000 on a shared 2-core machine, so budgets shrink on long traces.
CLIMB_EVENTS = 2000000   # one climb's budget
TOTAL_EVENTS = 7000000   # the whole search's budget (10,000 events: about 6 s on 2 idle cores)
LONG = 5000              # over this many events: fewer finalists, the other policies not re-measured
VERY_LONG = 50000        # over this many events: budgets times VERY_LONG_SHARE (time is what counts
VERY_LONG_SHARE = 0.43   # there; 100,000 events: 30 replays)
MIN_REPLAYS, MAX_CLIMB, MAX_TOTAL = 30, 1000, 8000
SEEDS = (("best", 0.5), ("good", 1.0), ("twoended", 0.5))   # besides the heap alone
PORTFOLIO_SHARES = (0.5, 1.0, 0.75, 0.25)    # later seeds: these shares under every configuration,
PORTFOLIO_STEP = 4       # queued between restarts near a new best, or this many at a time
PERTURB_STEP = 4         # random restarts around the best queued at a time, once the rest is done
PERTURB_TRIES = 8        # ... given up when this many draws in a row hold only layouts already tried,
PERTURB_PATIENCE = 6     # or when this many draws in a row found nothing better
BATCH = 2                # climbs per batch, run side by side when there are as many CPUs


_ACCEPTED = {}


def _accepted(size):
    """True when the core takes partitions of `size`-byte blocks (with the default align)."""
    if size not in _ACCEPTED:
        try:
            umalloc._arenainit.validated(((size, 2),), 4)
            _ACCEPTED[size] = True
        except (umalloc.MemError, ValueError, TypeError):
            _ACCEPTED[size] = False
    return _ACCEPTED[size]


def block_size_for(n):
    """The smallest partition block size the core takes that holds an n-byte request."""
    s = max(4, (n + ALIGN - 1) // ALIGN * ALIGN)
    while not _accepted(s):
        s += ALIGN
    return s


def heap_block(n, align=8):
    """Bytes a heap block for an n-byte request takes (4-byte header, granule, 16 minimum);
    the granule is Arena's default unless given."""
    return max(16, (n + 4 + align - 1) & -align)


def class_peaks(trace, block_sizes):
    """Peak simultaneous live requests per block size, each request routed to the smallest
    block that holds it (requests larger than all go to the heap, key None)."""
    sizes = sorted(block_sizes)

    def route(n):
        for s in sizes:
            if n <= s:
                return s
        return None
    live = {}
    now = Counter()
    peak = Counter()
    for op, ident, n in trace.events:
        if ident in live:
            now[live.pop(ident)] -= 1
        if op != "f":
            k = route(n)
            live[ident] = k
            now[k] += 1
            if now[k] > peak[k]:
                peak[k] = now[k]
    return peak


def candidates(trace):
    """Block sizes worth trying, smallest first: those that would serve many requests for
    fewer bytes than a heap block (no header, no rounding, no 16-byte minimum)."""
    sizes = Counter(n for n in trace.sizes() if n <= PARTITION_CAP)
    total = len(trace.sizes())
    gain = {}
    for s in set(block_size_for(n) for n in sizes):
        served = [(n, c) for n, c in sizes.items() if n <= s < heap_block(n)]
        if sum(c for _, c in served) >= MIN_SHARE * total:
            gain[s] = sum((heap_block(n) - s) * c for n, c in served)
    return sorted(sorted(gain, key=lambda s: (-gain[s], s))[:MAX_CANDIDATES])


def block_sizes(trace):
    """Every block size that is the smallest to hold some request (up to PARTITION_CAP)."""
    return sorted(set(block_size_for(n) for n in trace.sizes() if n <= PARTITION_CAP))


def layout_for(trace, block_sizes, policy="good", share=1.0):
    """Partitions for these block sizes, each with `share` of its class's peak live count."""
    peaks = class_peaks(trace, block_sizes)
    parts = []
    for s in sorted(block_sizes):
        count = int(peaks[s] * share + 0.5)
        if count >= 2:
            parts.append((s, count))
    return Layout(parts, policy, None, "advised")


# -- the search ------------------------------------------------------------------

def build(layout, size):
    """Arena(size) with the layout, or None when that size cannot hold it."""
    try:
        return umalloc_factory(layout)(size)
    except (umalloc.MemError, ValueError):
        return None


def fits_at(layout, size, trace):
    """simulate.fits, where an arena that cannot truly hold its layout (build) is no fit."""
    alloc = build(layout, size)
    return alloc is not None and traces.replays_cleanly(alloc, trace)


def _key(layout):
    return layout.partitions, layout.policy, layout.small_threshold, layout.align


class _Judge:
    """Smallest zero-failure arenas of layouts within a budget of model replays.

    Each layout's answer comes from heapmodel (minarena.ModelJudge): one unbounded run
    for first fit, a bisection for the other policies; the advisor confirms the winner
    with the real core (advise -> _confirm).  Answers are remembered per layout.
    """

    def __init__(self, trace, budget, progress=None):
        self.trace = trace
        self.left = budget
        self.replays = 0
        self.progress = progress
        self.model = minarena.ModelJudge(trace, self._count)
        self.known = {}    # layout key -> smallest arena, or None
        self.ruled = {}    # layout key -> sim --min-arena's figure
        self.floor = max(STEP, trace.peak_live // STEP * STEP)   # nothing does with less than the peak

    def _count(self, share=1):
        """A replay spent, or the share of one that ran before its first failure."""
        ticks = int(self.replays + share) - int(self.replays)
        self.left -= share
        self.replays += share
        if self.progress:
            for _ in range(ticks):
                self.progress()

    def fits(self, layout, size):
        """One bounded replay; a failing one stops at its failure and costs only that share
        (most layouts a climb tries fail where the best so far passes, about halfway)."""
        h = minarena.heap_size(layout, size)
        if h is None:
            return False
        small = layout.small_threshold if layout.small_threshold is not None else DEFAULT_SMALL
        r = heapmodel.replay(self.trace.events, layout.partitions, h, heapmodel.granule(layout.align),
                             layout.policy, small)
        self._count(1 if r.ok else (r.failed_at + 1) / max(1, len(self.trace.events)))
        return r.ok

    def exact(self, layout, hint=None):
        """The layout's smallest arena (a multiple of STEP) that replays with zero failures."""
        k = _key(layout)
        if k not in self.known:
            self.known[k] = self._exact(layout, hint)
        return self.known[k]

    def _exact(self, layout, hint):
        if layout.policy in heapmodel.SIZE_FREE:
            small, safe = self.model.min_heap(layout)
            if small is None:
                return None
            if small == safe:       # proven: no size below fits, every size above does
                return minarena.arena_for_heap(layout, small, STEP)
        if hint:                # during the search: the smallest passing size near the hint
            return self._gallop(layout, hint)
        return self.by_rule(layout)

    def by_rule(self, layout):
        """sim --min-arena's figure for the layout: its bisection, 8-byte steps, no hint.
        Best fit and two-ended can fail between passing sizes, so this is what is advised
        (the lowest passing size may have failing sizes just above it)."""
        k = _key(layout)
        if k not in self.ruled:
            if layout.policy in heapmodel.SIZE_FREE:
                self.ruled[k] = self.exact(layout)
            else:
                try:
                    self.ruled[k] = bisect_min(lambda size: self.fits(layout, size), self.trace, SIM_STEP)
                except UserError:
                    self.ruled[k] = None
        return self.ruled[k]

    def _gallop(self, layout, hint):
        """Smallest fitting arena near a size expected to be close: steps of 1/128 of it,
        doubling, to bracket the answer, then bisection (about 10 replays, not 16)."""
        d = max(STEP, hint // 128 // STEP * STEP)
        hi = hint // STEP * STEP
        if self.fits(layout, hi):
            lo = hi - d
            while lo >= self.floor and self.fits(layout, lo):
                hi, lo, d = lo, lo - 2 * d, 2 * d
            lo = max(lo, self.floor - STEP)
        else:
            lo, hi = hi, hi + d
            while not self.fits(layout, hi):
                if hi >= umalloc.arena.MAX_ARENA:
                    return None
                lo, hi, d = hi, hi + 2 * d, 2 * d
        while hi - lo > STEP:
            mid = (lo + hi) // 2 // STEP * STEP
            if self.fits(layout, mid):
                hi = mid
            else:
                lo = mid
        return hi


    def beats(self, layout, best):
        """The layout's smallest arena when it is below `best`, else None."""
        k = _key(layout)
        if k not in self.known:
            if best - STEP < self.floor or not self.fits(layout, best - STEP):
                return None     # one bounded replay tells (not remembered: not known)
            self.known[k] = self._exact(layout, best - STEP)
        got = self.exact(layout)
        return got if got is not None and got < best else None


def _confirm(layout, arena, trace):
    """The model's answer, replayed on the real core: one replay when they agree (always,
    in the tests); if the core fails there, the next size up where it passes."""
    while not fits_at(layout, arena, trace):
        arena += STEP
        if arena >= umalloc.arena.MAX_ARENA:
            return None
    if layout.policy in heapmodel.SIZE_FREE and arena - STEP >= STEP and fits_at(layout, arena - STEP, trace):
        raise UserError("%s: the heap model and the real core disagree at %d bytes (%s); "
                        "please report this trace" % (trace.name, arena - STEP, layout.describe()))
    return arena


def thresholds(trace):
    """twoended small_threshold values worth trying: heap block sizes that split the requests
    at their deciles (a request goes top-down when its block is at most the threshold)."""
    needs = sorted(heap_block(n, 8) for n in trace.sizes())   # right for align 4 and 8
    out = {DEFAULT_SMALL}
    for q in range(1, 10):
        out.add(needs[len(needs) * q // 10])
    return sorted(out)


def _layout(parts, policy, small=None, align=None):
    if policy != "twoended" or small == DEFAULT_SMALL:
        small = None
    return Layout(sorted(parts.items()) if isinstance(parts, dict) else parts, policy, None,
                  "advised", small, align)


def _moves(trace, space, layout):
    """Layouts one change away, the likeliest gains first: a partition added, a count
    changed (or dropped), another heap policy or option, a block size moved."""
    pool, smalls, shapes, peaks = space
    parts, policy = layout.partitions, layout.policy
    small, align = layout.small_threshold, layout.align
    sizes = [s for s, _ in parts]
    counts = dict(parts)

    def lay(d, p=policy, sm=small, al=align):
        return _layout(d, p, sm, al)
    if len(parts) < MAX_PARTITIONS:
        for s in pool:
            if s not in counts:
                k = tuple(sorted(sizes + [s]))
                if k not in peaks:
                    peaks[k] = class_peaks(trace, k)
                peak = peaks[k][s]
                for c in sorted({peak, (3 * peak + 2) // 4}, reverse=True):
                    if c >= 2:
                        yield lay({**counts, s: c})
    for s, c in parts:                      # big steps first; _climb repeats a step that pays
        for n in (0, c // 2, c + c // 2, 3 * c // 4, c + c // 4, 9 * c // 10, c + c // 10,
                  c - 2, c + 2, c - 1, c + 1):
            if n == c or 0 < n < 2:
                continue
            d = dict(counts)
            if n:
                d[s] = n
            else:
                del d[s]
            yield lay(d)
    for p in POLICIES:
        if p != policy:
            yield lay(counts, p)
    if policy == "twoended":
        now = small if small is not None else DEFAULT_SMALL
        for t in sorted(smalls, key=lambda t: abs(t - now)):
            if t != now:
                yield lay(counts, sm=t)
    yield lay(counts, al=4 if align is None else None)
    for i, (s, c) in enumerate(parts):
        lo = sizes[i - 1] if i else 0
        hi = sizes[i + 1] if i + 1 < len(sizes) else PARTITION_CAP + 1
        below = [q for q in shapes if lo < q < s][-2:]
        above = [q for q in shapes if s < q < hi][:2]
        for t in sorted(set(below + above + [q for q in pool if lo < q < hi and q != s]),
                        key=lambda q: abs(q - s)):
            d = dict(counts)
            del d[s]
            d[t] = c
            yield lay(d)


def _count_step(old, new):
    """(block size, count change) when `new` differs from `old` in one partition's count only."""
    a, b = dict(old.partitions), dict(new.partitions)
    if a.keys() != b.keys() or _key(old)[1:] != _key(new)[1:]:
        return None
    diff = [s for s in a if a[s] != b[s]]
    return (diff[0], b[diff[0]] - a[diff[0]]) if len(diff) == 1 else None


def _climb(trace, judge, space, arena, layout, path):
    """First-improvement hill climb over _moves until no single change helps or the budget
    ends; a count change that pays is repeated, doubling, while it keeps paying.  Each
    layout the climb moves on from is appended to `path`."""
    tried = 0
    while True:
        for trial in _moves(trace, space, layout):
            if judge.left <= 0:
                return arena, layout, tried, False
            tried += 1
            got = judge.beats(trial, arena)
            if got is None:
                continue
            step = _count_step(layout, trial)
            path.append(layout)
            arena, layout = got, trial
            while step and judge.left > 0:
                size, delta = step
                step = (size, 2 * delta)
                counts = dict(layout.partitions)
                n = counts[size] + 2 * delta
                if n < 2:
                    break
                counts[size] = n
                trial = _layout(counts, layout.policy, layout.small_threshold, layout.align)
                tried += 1
                got = judge.beats(trial, arena)
                if got is None:
                    break
                path.append(layout)
                arena, layout = got, trial
            break
        else:
            return arena, layout, tried, True


_COUNTER = None


def _climb_job(args):
    """One climb from a seed layout with its own budget:
    (arena, layout, layouts, done, replays, the last layouts it passed through)."""
    trace, space, seed, budget = args
    return _climb_from(trace, space, seed, budget, _tick if _COUNTER is not None else None)


def _tick():
    with _COUNTER.get_lock():
        _COUNTER.value += 1


def _climb_from(trace, space, seed, budget, progress):
    judge = _Judge(trace, budget, progress)
    arena = judge.exact(seed)
    if arena is None:
        return None, seed, 0, True, judge.replays, []
    path = []           # the layouts the climb passed through, the last TAIL of them returned
    out = _climb(trace, judge, space, arena, seed, path)
    return out + (judge.replays, path[-TAIL:])


def _init_worker(counter):
    global _COUNTER
    _COUNTER = counter
    ignore_ctrl_c()


def ignore_ctrl_c():
    """In a worker process: Ctrl-C reaches the whole process group, and a worker that took
    it would print its own 'Process ForkPoolWorker-N:' lines; the parent ends the pool."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Runner:
    """Runs batches of climbs, side by side in worker processes when there are cores to spare."""

    def __init__(self, workers, progress):
        self.progress = progress
        self.pool = None
        if workers > 1:
            import multiprocessing
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
            self.counter = ctx.Value("i", 0)
            self.pool = ctx.Pool(workers, _init_worker, (self.counter,))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()

    def run(self, jobs):
        if self.pool is None:
            return [_climb_from(*job, self.progress) for job in jobs]
        start = self.counter.value
        seen = start
        result = self.pool.map_async(_climb_job, jobs, chunksize=1)
        while not result.ready():
            result.wait(0.2)
            now = self.counter.value
            if self.progress:
                for _ in range(now - seen):
                    self.progress()
            seen = now
        return result.get()


def _seeds(trace, pool, heap, policy0):
    """Starting layouts: the heap alone under the best heap policy, and the candidate sizes
    at a share of their classes' peak counts (sizes that only pay off together)."""
    out = [Layout((), policy0, None, "advised")]
    if pool:
        top = sorted(pool[:MAX_PARTITIONS])
        for policy, share in SEEDS:
            lay = layout_for(trace, top, policy, share)
            if lay.partitions:
                out.append(lay)
    return out


def _portfolio(trace, pool, space):
    """More starting layouts, in groups (one per align and share): the candidate sizes at
    several shares of their peaks under every heap configuration (each policy, each
    twoended threshold).  A climb changes one thing at a time, so a layout that
    pays only with a threshold and counts changed together (netbuf: two-ended 520 with half
    the peak counts) is reached from such a seed and not from the others."""
    if not pool:
        return []
    top = sorted(pool[:MAX_PARTITIONS])
    configs = [(p, None) for p in POLICIES if p != "twoended"]
    configs += [("twoended", t) for t in space[1]]
    out = []
    for align in (None, 4):
        for share in PORTFOLIO_SHARES:
            parts = layout_for(trace, top, DEFAULT_POLICY, share).partitions
            if parts:
                out.append([_layout(parts, policy, small, align) for policy, small in configs])
    return out


def _perturbed(layout, space, trace, rng, n):
    """n layouts a few random changes away from `layout` (counts scaled, a partition added
    or dropped): restarts around the best so far, where the climbs' single changes stop."""
    pool, _, shapes, peaks = space
    reach = [q for q in shapes if q <= 2 * max(pool or [16])]
    out = []
    for _ in range(n):
        d = dict(layout.partitions)
        for _ in range(rng.randint(1, 3)):
            r = rng.random()
            if r < 0.45 and d:
                s = rng.choice(sorted(d))
                d[s] = max(2, int(d[s] * rng.uniform(0.5, 1.5) + 0.5))
            elif r < 0.8 and len(d) < MAX_PARTITIONS and reach:
                s = rng.choice(reach)
                k = tuple(sorted(set(d) | {s}))
                if k not in peaks:
                    peaks[k] = class_peaks(trace, k)
                d[s] = max(2, peaks[k][s] * rng.randint(1, 4) // 4)
            elif d:
                del d[rng.choice(sorted(d))]
        out.append(_layout(d, layout.policy, layout.small_threshold, layout.align))
    return out


def _kicks(layout, space):
    """Restarts near a climb's end: its partitions under every other heap configuration,
    and with every count scaled; a climb from there may find a better basin."""
    smalls = space[1]
    configs = [(p, None) for p in POLICIES if p != "twoended"]
    configs += [("twoended", t) for t in smalls]
    out = []
    for align in (layout.align, 4 if layout.align is None else None):
        for policy, small in configs:
            out.append(_layout(layout.partitions, policy, small, align))
    counts = dict(layout.partitions)
    for f in (0.75, 1.25):
        scaled = {s: max(2, int(c * f + 0.5)) for s, c in counts.items()}
        out.append(_layout(scaled, layout.policy, layout.small_threshold, layout.align))
    return [k for k in out if _key(k) != _key(layout)]


def replay_budget(trace):
    """How many replays one climb may spend on this trace."""
    return max(MIN_REPLAYS, min(MAX_CLIMB, int(CLIMB_EVENTS * _share(trace)) // max(1, len(trace))))


def total_budget(trace):
    """How many replays the whole search may spend on this trace (a batch may overshoot it)."""
    return max(2 * MIN_REPLAYS, min(MAX_TOTAL, int(TOTAL_EVENTS * _share(trace)) // max(1, len(trace))))


def _finalists(trace):
    if len(trace) > VERY_LONG:
        return VERY_LONG_FINALISTS
    return LONG_FINALISTS if len(trace) > LONG else FINALISTS


def _share(trace):
    return VERY_LONG_SHARE if len(trace) > VERY_LONG else 1.0


def progress_total(trace):
    """Roughly how many replays advise() makes: the length of its progress bar."""
    return total_budget(trace) + replay_budget(trace)


class Advice:
    def __init__(self, layout, arena, trace, tried, baseline, searched=None):
        self.layout = layout
        self.arena = arena
        self.trace = trace
        self.tried = tried
        self.baseline = baseline      # min arena with the heap alone under Arena's default policy
        self.searched = searched or {}

    @property
    def ratio(self):
        return self.arena / self.trace.peak_live if self.trace.peak_live else 0.0

    def reasons(self):
        t = self.trace
        peaks = class_peaks(t, [s for s, _ in self.layout.partitions])
        lines = ["peak live: %d bytes in %d blocks (event %d); heap alone (Arena(size)'s defaults) needs %d bytes (%.2fx)"
                 % (t.peak_live, t.peak_blocks, t.peak_index + 1, self.baseline,
                    self.baseline / max(1, t.peak_live))]
        blocks = heapmodel.first_fit_top(t.events, policy=DEFAULT_POLICY).top
        if t.peak_live and blocks < self.baseline:
            lines.append("of that, its blocks (4-byte headers, 8-byte rounding, %s fit) reach %d B "
                         "(%.2fx); the other %d B are the arena's fixed metadata (header, size-class "
                         "lists, the page index that lets free() refuse a bad pointer)"
                         % (DEFAULT_POLICY, blocks, blocks / t.peak_live, self.baseline - blocks))
        lo = 0
        gran = heapmodel.granule(self.layout.align)
        for s, c in self.layout.partitions:
            h1, h2 = heap_block(lo + 1, gran), heap_block(s, gran)
            lines.append("partition %dx%d: requests of %s B, up to %d live at once%s; "
                         "as heap blocks they would take %s B each (header, rounding, 16 B minimum)"
                         % (s, c, s if lo + 1 == s else "%d..%d" % (lo + 1, s), peaks[s],
                            " (the rest spill to a larger partition or the heap)" if c < peaks[s] else "",
                            h1 if h1 == h2 else "%d..%d" % (h1, h2)))
            lo = s
        if not self.layout.partitions:
            lines.append("no partition pays for itself: each would reserve blocks the heap can share")
        if len(self.tried) > 1:
            lines.append("policy %s: smallest arena of the policies tried with these partitions (%s)"
                         % (self.layout.policy, ", ".join("%s %d" % kv for kv in sorted(self.tried))))
        else:
            lines.append("policy %s: the search's choice (on a trace this long the other policies are "
                         "not measured again with these partitions)" % self.layout.policy)
        if self.layout.small_threshold is not None:
            lines.append("small_threshold %d: twoended places blocks of up to %d B (header included) "
                         "top-down, larger ones bottom-up" % ((self.layout.small_threshold,) * 2))
        if self.layout.align == 4:
            lines.append("align 4: heap blocks rounded to 4 bytes, not 8 (payloads 4-byte aligned): "
                         "less rounding on this trace")
        elif self.layout.align == 8:
            lines.append("align 8: partition blocks are multiples of 8 bytes")
        if self.searched:
            s = self.searched
            lines.append("search: %d layouts judged in %d replays over %d hill climbs; %s"
                         % (s["layouts"], s["replays"], s["climbs"],
                            "each ended where no single change (a partition added, dropped, resized or "
                            "recounted, another policy or option) needs less"
                            if s["converged"] == s["climbs"] else
                            "%d stopped at their replay budget" % (s["climbs"] - s["converged"])))
        lines.append("arena: %d bytes = %.2fx peak live, with zero failed requests"
                     % (self.arena, self.ratio))
        lines.append(self.peak_breakdown())
        lines.extend(self.limits())
        sizes, bad = self.steadiness()
        if bad:
            unbuilt = sum(1 for n in bad if minarena.heap_size(self.layout, n) is None)
            lines.append("a bigger arena is not always safe here: %d of %d sizes sampled up to %d B "
                         "(+%.0f%%) fail, the largest at %d B (%s); use exactly %d B, or check "
                         "another size with `umalloc sim --arena`"
                         % (len(bad), len(sizes), sizes[-1], 100.0 * (sizes[-1] - self.arena) / self.arena,
                            bad[-1], "the heap fragments differently at each size" if not unbuilt else
                            "%d of them cannot hold the layout's metadata and partitions" % unbuilt,
                            self.arena))
        return lines

    def steadiness(self, samples=None, spread=0.04):
        """Sizes sampled up to `spread` above the advised arena, and those of them that fail
        (first fit: none when the heap model proves every larger arena passes)."""
        samples = samples or (16 if len(self.trace) <= 20000 else 6)
        d = max(STEP, int(self.arena * spread / samples) // STEP * STEP)
        sizes = [self.arena + i * d for i in range(1, samples + 1)]
        judge = _Judge(self.trace, 1 << 30)
        if self.layout.policy in heapmodel.SIZE_FREE:
            small, safe = judge.model.min_heap(self.layout)
            if small == safe:                   # proven: every larger heap replays cleanly
                return sizes, [n for n in sizes if minarena.heap_size(self.layout, n) is None
                               or minarena.heap_size(self.layout, n) < safe]
        return sizes, [n for n in sizes if not judge.fits(self.layout, n)]

    def limits(self):
        """What the order of requests and frees alone costs: one heap without any overhead."""
        t = self.trace
        if not t.peak_live:
            return []
        first, best = ideal_arena(t, "first"), ideal_arena(t, "best")
        ideal = min(first, best)
        line = ("placement alone: one heap with no header, metadata or rounding that never moves a "
                "block needs %d B (%.2fx) first fit, %d B (%.2fx) best fit"
                % (first, first / t.peak_live, best, best / t.peak_live))
        if self.arena < ideal:
            line += "; this layout needs less by keeping sizes apart (partitions, two-ended placement)"
        elif ideal > TARGET * t.peak_live:
            line += ("; so %.2fx is out of reach for a single first- or best-fit heap whatever its "
                     "overhead: the holes come from the order of requests and frees, and only keeping "
                     "sizes apart or moving blocks could get around them (no layout tried did)" % TARGET)
        elif self.arena > TARGET * t.peak_live:
            line += ("; the rest of the way to %.2fx is umalloc's own: metadata, block headers, "
                     "rounding, idle partition blocks and the extra holes they make" % self.ratio)
        return [line]

    def peak_breakdown(self):
        """Where the arena goes at the trace's peak: why the ratio cannot reach 1.00x."""
        lay = self.layout
        a = umalloc.Arena(self.arena, partitions=lay.partitions, policy=lay.policy, **lay.options())
        r = traces.replay(a, self.trace, frag_every=len(self.trace) + 1)    # figures at the peak only
        meta = a.stats()["meta"]
        held = r["overhead"] or 0
        free = self.arena - self.trace.peak_live - held
        return ("at the peak: %d B live; %d B metadata; %d B block headers, rounding and idle "
                "partition blocks; %d B free but in holes or needed later"
                % (self.trace.peak_live, meta, held - meta, free))


def advise(trace, progress=None, budget=None, workers=None, on_best=None):
    """Hill climbs over layouts (partition sizes and counts, heap policy and options): from a
    few starting layouts, then restarts near the best end found, BATCH climbs at a time
    until the budget of replays is spent or no restart is left; the smallest arena wins.
    on_best(arena, layout) hears of each better layout as the search finds it.
    The outcome depends on the trace and the budget only, not on the number of workers."""
    import os
    minarena.check_requests(trace)
    judge = _Judge(trace, 1 << 30, progress)
    heap = {DEFAULT_POLICY: judge.exact(Layout((), DEFAULT_POLICY, None, "advised"))}
    for p in POLICIES:
        if p != DEFAULT_POLICY:
            heap[p] = judge.exact(Layout((), p, None, "advised"), hint=heap[DEFAULT_POLICY])
    if None in heap.values():
        raise UserError("%s: no arena below %d bytes replays without failures"
                        % (trace.name, umalloc.arena.MAX_ARENA))
    baseline = heap[DEFAULT_POLICY]
    policy0 = min(POLICIES, key=lambda p: (heap[p], p != DEFAULT_POLICY, POLICIES.index(p)))   # ties: the default
    pool = candidates(trace)
    space = (pool, thresholds(trace), block_sizes(trace), {})   # {} caches class peaks
    total = budget or total_budget(trace)
    cap = min(replay_budget(trace), total)
    if workers is None:
        workers = min(BATCH, os.cpu_count() or 1)
    queue = _seeds(trace, pool, heap, policy0)
    later = [k for g in _portfolio(trace, pool, space) for k in g]   # after the first restarts
    rng = random.Random(len(trace))      # restarts depend on the trace and the budget only
    started = set()
    results = []
    spent = judge.replays
    kicked = set()
    stale = idle = 0
    shown = None
    with _Runner(min(workers, BATCH), progress) as runner:
        while spent < total or not results:
            batch = []
            while queue and len(batch) < BATCH:
                seed = queue.pop(0)
                if _key(seed) not in started:
                    started.add(_key(seed))
                    batch.append((trace, space, seed, cap))
            if not batch:
                done = [r for r in results if r[0] is not None]
                if not done:
                    break
                best = min(done, key=lambda r: r[0])[1]
                if _key(best) not in kicked:     # restarts near the best, every other one
                    kicked.add(_key(best))          # a seed from elsewhere (another basin)
                    near = [k for k in _kicks(best, space) if _key(k) not in started]
                    far, later = later[:len(near)], later[len(near):]
                    queue = [k for pair in zip(near, far) for k in pair] + near[len(far):]
                elif later:
                    queue, later = later[:PORTFOLIO_STEP], later[PORTFOLIO_STEP:]
                elif stale < PERTURB_TRIES and idle < PERTURB_PATIENCE:
                    queue = _perturbed(best, space, trace, rng, PERTURB_STEP)
                    stale += 1      # reset by a batch that runs: a tiny space ends here
                    idle += 1       # reset by a better layout
                else:
                    break
                continue
            stale = 0
            out = runner.run(batch)
            results.extend(out)
            spent += sum(r[4] for r in out)
            done = [r for r in results if r[0] is not None]
            if done:
                now = min(done, key=lambda r: r[0])
                if shown is None or now[0] < shown:
                    shown, idle = now[0], 0
                    if on_best:
                        on_best(now[0], now[1])
    done = [r for r in results if r[0] is not None]
    # the climbs' ends, judged again by sim --min-arena's own rule (ties: the earlier climb)
    ends = [(baseline, Layout((), DEFAULT_POLICY, None, "advised"))]    # never worse than the heap alone
    ranked = sorted(done, key=lambda r: r[0])
    finalists = [r[1] for r in ranked[:_finalists(trace)]]
    if ranked and len(trace) <= VERY_LONG:    # best fit and two-ended: the rule's bisection may
        # miss a climb's lowest size, which one more step made fragile; the steps before it
        # may be sturdier (over VERY_LONG events each bisection costs seconds)
        finalists += [k for k in reversed(ranked[0][5]) if k.policy not in heapmodel.SIZE_FREE]
    for k in finalists:
        if all(_key(k) != _key(e[1]) for e in ends):
            ends.append((judge.by_rule(k), k))
    best, layout = min((e for e in reversed(ends) if e[0] is not None), key=lambda e: e[0])
    confirmed = _confirm(layout, best, trace)       # the real core has the last word
    if confirmed is None:
        raise UserError("%s: the real core finds no arena for the advised layout (%s); "
                        "please report this trace" % (trace.name, layout.describe()))
    best = confirmed
    tried = [(layout.policy, best)]
    for p in POLICIES:
        if p != layout.policy and len(trace) <= LONG:     # long traces: the time goes to the search
            other = _layout(layout.partitions, p, layout.small_threshold, layout.align)
            tried.append((p, judge.by_rule(other)))
    layout.arena_size = best
    searched = {"layouts": sum(r[2] for r in results) + len(POLICIES),
                "replays": judge.replays + sum(r[4] for r in results),
                "climbs": len(results), "converged": sum(1 for r in results if r[3])}
    return Advice(layout, best, trace, tried, baseline, searched)
