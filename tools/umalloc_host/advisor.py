"""Propose a partition layout for a trace: the one that needs the smallest arena.

Partitions cost nothing per block but reserve their blocks for good; the heap
costs a 4-byte header and rounding per block but shares its space.  So a size
that is requested often, and whose live count stays steady, belongs in a
partition sized to its peak live count; the rest belongs in the heap.  The
search is greedy and empirical: every candidate layout is judged by the
smallest arena with which the real umalloc code replays the trace with zero
failures (simulate.min_arena), not by a formula.
"""

from collections import Counter

from .simulate import POLICIES, Layout, min_arena, umalloc_factory

ALIGN = 4
MAX_PARTITIONS = 4
MAX_CANDIDATES = 10
PARTITION_CAP = 2048     # larger blocks are rare enough to leave to the heap


def block_size_for(n):
    return max(ALIGN, (n + ALIGN - 1) & -ALIGN)


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


MIN_SHARE = 0.03         # a block size asked for less often than this is left to the heap


def candidates(trace):
    """Block sizes worth trying: the most requested (rounded) sizes, small ones first."""
    sizes = trace.sizes()
    counts = Counter(block_size_for(n) for n in sizes if n <= PARTITION_CAP)
    return sorted(s for s, c in counts.most_common(MAX_CANDIDATES) if c >= MIN_SHARE * len(sizes))


def layout_for(trace, block_sizes, policy="first", share=1.0):
    """Partitions for these block sizes, each with `share` of its class's peak live count."""
    peaks = class_peaks(trace, block_sizes)
    parts = []
    for s in sorted(block_sizes):
        count = int(peaks[s] * share + 0.5)
        if count >= 2:
            parts.append((s, count))
    return Layout(parts, policy, None, "advised")


class Advice:
    def __init__(self, layout, arena, trace, tried, baseline):
        self.layout = layout
        self.arena = arena
        self.trace = trace
        self.tried = tried
        self.baseline = baseline      # min arena with the heap alone, first fit

    @property
    def ratio(self):
        return self.arena / self.trace.peak_live if self.trace.peak_live else 0.0

    def reasons(self):
        t = self.trace
        peaks = class_peaks(t, [s for s, _ in self.layout.partitions])
        lines = ["peak live: %d bytes in %d blocks (event %d); heap alone, first fit, needs %d bytes (%.2fx)"
                 % (t.peak_live, t.peak_blocks, t.peak_index + 1, self.baseline,
                    self.baseline / t.peak_live)]
        lo = 0
        for s, c in self.layout.partitions:
            lines.append("partition %d x %d B: requests of %d..%d B, up to %d live at once; "
                         "no header per block, so %d B saved over the heap at peak"
                         % (c, s, lo + 1, s, peaks[s], 4 * min(c, peaks[s])))
            lo = s
        if not self.layout.partitions:
            lines.append("no partition pays for itself: each would reserve blocks the heap can share")
        lines.append("policy %s: smallest arena of the policies tried with these partitions (%s)"
                     % (self.layout.policy, ", ".join("%s %d" % kv for kv in sorted(self.tried))))
        lines.append("arena: %d bytes = %.2fx peak live, with zero failed requests"
                     % (self.arena, self.ratio))
        lines.append(self.peak_breakdown())
        return lines

    def peak_breakdown(self):
        """Where the arena goes at the trace's peak: why the ratio cannot reach 1.00x."""
        import umalloc
        from . import traces
        lay = self.layout
        a = umalloc.Arena(self.arena, partitions=lay.partitions, policy=lay.policy)
        r = traces.replay(a, self.trace)
        meta = a.stats()["meta"]
        held = r["overhead"] or 0
        free = self.arena - self.trace.peak_live - held
        return ("at the peak: %d B live; %d B metadata; %d B block headers, 4-byte rounding and idle "
                "partition blocks; %d B free but in holes or needed later"
                % (self.trace.peak_live, meta, held - meta, free))


def advise(trace, progress=None):
    """Greedy search over partition sets, then each partition's count, then the policy.

    Two starting points: no partitions, and one partition for each of the most
    requested sizes (sizes that only pay off together are found from there).
    """
    def cost(layout, hint=None):
        if progress:
            progress()
        return min_arena(umalloc_factory(layout), trace, hint=hint)

    # the heap policy that suits the trace best decides how partitions are judged
    heap_only = [(cost(Layout((), p), hint=None), p) for p in POLICIES]
    baseline = heap_only[0][0]
    best, policy0 = min(heap_only, key=lambda r: (r[0], POLICIES.index(r[1])))   # ties: the simpler policy
    pool = candidates(trace)
    starts = [[]]
    if len(pool) > 1:
        starts.append(sorted(pool, key=lambda s: -trace.sizes().count(s))[:MAX_PARTITIONS])
    best_layout = Layout((), policy0, None, "advised")
    for start in starts:
        arena, layout = _refine(trace, sorted(start), pool, cost, best, policy0)
        if arena < best:
            best, best_layout = arena, layout
    # with the partitions chosen, the policy again
    tried = [(best_layout.policy, best)]
    for policy in POLICIES:
        if policy == best_layout.policy:
            continue
        layout = Layout(best_layout.partitions, policy, None, "advised")
        arena = cost(layout, hint=best)
        tried.append((policy, arena))
        if arena < best:
            best, best_layout = arena, layout
    best_layout.arena_size = best
    return Advice(best_layout, best, trace, tried, baseline)


def _refine(trace, chosen, pool, cost, bound, policy):
    """From block sizes `chosen`: add sizes while that helps, then tune each count."""
    layout = layout_for(trace, chosen, policy)
    best = cost(layout, hint=bound)
    # 1. which block sizes: add the one that shrinks the arena most, while one does
    while len(chosen) < MAX_PARTITIONS:
        round_best = None
        for s in pool:
            if s in chosen:
                continue
            trial = layout_for(trace, chosen + [s], policy)
            arena = cost(trial, hint=best)
            if arena < best and (round_best is None or arena < round_best[0]):
                round_best = (arena, s, trial)
        if round_best is None:
            break
        best, s, layout = round_best
        chosen = chosen + [s]
    # 2. how many blocks each: fewer than the class's peak lets the rare peak spill into a
    #    larger partition or the heap instead of reserving blocks that sit idle; none at
    #    all when the partition does not pay for itself
    for _ in range(2):
        improved = False
        i = 0
        while i < len(layout.partitions):
            size, count = layout.partitions[i]
            for factor in (0, 0.25, 0.5, 0.75, 0.9, 1.1, 1.25):
                n = int(count * factor + 0.5)
                if (n < 2 and factor) or n == count:
                    continue
                parts = list(layout.partitions)
                if n:
                    parts[i] = (size, n)
                else:
                    del parts[i]
                trial = Layout(parts, policy, None, "advised")
                arena = cost(trial, hint=best)
                if arena < best:
                    best, layout, improved = arena, trial, True
                    if not n:
                        break
                    count = n
            if i < len(layout.partitions) and layout.partitions[i][0] == size:
                i += 1
        if not improved:
            break
    return best, layout
