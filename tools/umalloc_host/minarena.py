"""Smallest arenas and safe bands: the figures `sim --min-arena` and `advise` print.

For every allocator two sizes count: the smallest arena that replays the trace with
zero failures (found by the bisection of simulate.min_arena: double from the peak,
then halve the interval), and the size from which every larger arena passes (the
band's top).  They differ when a larger arena places blocks differently and
fragments worse, which TLSF and umm_malloc do on real traces.

umalloc's figures come from heapmodel, then the smallest is replayed once through
the real core (lib/umalloc) to confirm it.  For first fit the band is exact: one
unbounded run proves that every heap from its highest byte up replays cleanly
(heapmodel.first_fit_top), so only the sizes below it need replays.  The reference
allocators get the same proof where it holds (first-fit-8); elsewhere the band is
sampled above the smallest size, and says so.
"""

import umalloc

from . import heapmodel, traces
from .errors import UserError
from .refalloc import FirstFit8
from .refalloc import firstfit8 as ff8

STEP = 4                      # umalloc arena sizes: whole words
MAX_ARENA = umalloc.arena.MAX_ARENA
SAMPLE_FINE = 8               # no proof of safety: check every step for this many steps,
SAMPLE_SPAN = 0.25            # then this far above the smallest (a fraction of it),
SAMPLE_COARSE = 8             # at this many evenly spread sizes
LONG = 200000                # events: a trace this long samples fewer sizes (2 + 3)
SCAN_LIMIT = 64               # replays spent walking down from a proven-safe size


class Band:
    """smallest: smallest passing size by bisection; safe: every size from here up passes
    (proven up to infinity when `proven`, else checked up to `checked_to`)."""

    def __init__(self, smallest, safe, proven, checked_to=None):
        self.smallest, self.safe, self.proven, self.checked_to = smallest, safe, proven, checked_to

    def note(self):
        if self.proven:
            return "proven"
        return "sampled..%d" % self.checked_to


def check_requests(trace):
    """UserError naming the first request no arena can meet (at or above the 16 MiB limit)."""
    for i, (op, _, n) in enumerate(trace.events):
        if op != "f" and n >= MAX_ARENA:
            raise UserError("%s: event %d asks for %d bytes, more than any arena holds (below %d); "
                            "remove that request from the trace or split it"
                            % (trace.name, i + 1, n, MAX_ARENA))


# -- umalloc: layout arithmetic through the real Arena --------------------------

def _build(layout, size):
    try:
        return umalloc.Arena(size, partitions=layout.partitions, policy=layout.policy, **layout.options())
    except (umalloc.MemError, ValueError):
        return None


def heap_size(layout, size):
    """Bytes of heap an arena of `size` bytes with the layout has; None when it cannot hold it."""
    a = _build(layout, size)
    return None if a is None else a.stats()["heap_size"]


def arena_for_heap(layout, heap, step=STEP):
    """The smallest arena (a multiple of step) that holds the layout with at least `heap`
    bytes of heap; None above the 16 MiB limit."""
    STEP = step
    reserved = sum(s * c for s, c in layout.partitions)
    size = max(64, (heap + reserved + 256) // STEP * STEP)
    for _ in range(8):                    # fixed point: size = heap + what the size costs
        if size >= MAX_ARENA:
            return None
        h = heap_size(layout, size)
        if h is not None and h >= heap:
            break
        short = heap - (h if h is not None else 0)
        size += max(STEP, (short + STEP - 1) // STEP * STEP)
    else:
        return None
    while size - STEP > 0:                # walk down to the smallest that still holds it
        h = heap_size(layout, size - STEP)
        if h is None or h < heap:
            break
        size -= STEP
    # metadata grows in steps (a size class, a page-index word), so the heap can lose a few
    # bytes when the arena grows by one word, and a tiny arena may not hold its tables at
    # one size but at a smaller one: look lower until 16 sizes in a row do not do
    below, misses = size - STEP, 0
    while below > 0 and misses < 16:
        h = heap_size(layout, below)
        if h is not None and h >= heap:
            size, misses = below, 0
        else:
            misses += 1
        below -= STEP
    return size


def safe_arena_for_heap(layout, heap, start, step=STEP):
    """The smallest arena from `start` up from which every larger arena has >= heap bytes
    (every size, not only multiples of step: the answer is a multiple of step)."""
    STEP = 4
    size = start
    k = 1
    while k <= 16:                        # a dip is at most a class's 12 bytes: 16 words covers it
        h = heap_size(layout, size + k * STEP)
        if h is None or h < heap:
            size = size + (k + 1) * STEP
            k = 1
            continue
        k += 1
    return (size + step - 1) // step * step


# -- umalloc through the model -----------------------------------------------------

class ModelJudge:
    """Smallest heaps of layouts for one trace, from heapmodel replays (counted in .passes)."""

    def __init__(self, trace, on_pass=None):
        self.events = trace.events
        self.trace = trace
        self.passes = 0
        self.on_pass = on_pass

    def _run(self, layout, heap):
        self.passes += 1
        if self.on_pass:
            self.on_pass()
        return heapmodel.replay(self.events, layout.partitions, heap, heapmodel.granule(layout.align),
                                layout.policy, _small(layout))

    def heap_fits(self, layout, heap):
        return self._run(layout, heap).ok

    def min_heap(self, layout):
        """First and good fit only: (smallest heap that passes, heap from which every larger passes);
        (None, None) when no heap does (a request over the 16 MiB limit).  The first is
        the second unless a realloc grew a block in place past the highest byte used."""
        gran = heapmodel.granule(layout.align)
        self.passes += 1
        if self.on_pass:
            self.on_pass()
        top = heapmodel.first_fit_top(self.events, layout.partitions, gran, layout.policy)
        if not top.ok:
            return None, None
        if top.maybe == top.top:
            return top.top, top.top
        return self._bisect(layout, top.maybe - gran, top.top, gran, top), top.top

    def _bisect(self, layout, lo, hi, gran, unbounded):
        """lo fails (or is 0), hi fits: the smallest fitting heap, a multiple of gran; a
        replay only where the unbounded run leaves it open."""
        while hi - lo > gran:
            mid = (lo + hi) // 2 // gran * gran
            if mid <= lo:
                break
            known = unbounded.decided(mid)
            if known if known is not None else self.heap_fits(layout, mid):
                hi = mid
            else:
                lo = mid
        return hi


def _small(layout):
    return layout.small_threshold if layout.small_threshold is not None else 256


def umalloc_band(layout, trace, step=STEP, on_pass=None, verify=True):
    """Band of arenas for umalloc with the layout: smallest from the model (confirmed by the
    real core), safe from the model's proof (first and good fit) or samples (other policies)."""
    from .simulate import bisect_min
    judge = ModelJudge(trace, on_pass)
    unbounded = None
    if layout.policy in heapmodel.SIZE_FREE:
        unbounded = heapmodel.first_fit_top(trace.events, layout.partitions, heapmodel.granule(layout.align),
                                            layout.policy)

    def fits(size):
        h = heap_size(layout, size)
        if h is None:
            return False
        known = unbounded.decided(h) if unbounded is not None and unbounded.ok else None
        return known if known is not None else judge.heap_fits(layout, h)
    if layout.policy in heapmodel.SIZE_FREE:
        small_heap, safe_heap = judge.min_heap(layout)
        if small_heap is None:
            return None
        if small_heap == safe_heap:      # proven monotone: the bisection would land here
            smallest = arena_for_heap(layout, small_heap, step)
        else:
            smallest = bisect_min(fits, trace, step)
    else:       # size-dependent placement: the bisection rule itself, on the model
        smallest = bisect_min(fits, trace, step)
    if smallest is None:
        return None
    if verify and not _real_fits(layout, smallest, trace):
        raise AssertionError("the heap model and the real core disagree at %d bytes (%s): "
                             "please report this trace" % (smallest, layout.describe()))
    if layout.policy in heapmodel.SIZE_FREE:
        proven = safe_arena_for_heap(layout, safe_heap, arena_for_heap(layout, safe_heap, step), step)
        return _walk_down(fits, smallest, proven, step)
    return _sample_up(fits, smallest, step, long_trace(trace))


def _real_fits(layout, size, trace):
    a = _build(layout, size)
    return a is not None and traces.replays_cleanly(a, trace)


# -- any allocator ---------------------------------------------------------------

def _walk_down(fits, smallest, proven, step):
    """Every size from `proven` up passes: walk down to the largest that fails."""
    size = proven
    for _ in range(SCAN_LIMIT):
        if size - step < smallest or not fits(size - step):
            return Band(smallest, max(smallest, size), True)
        size -= step
    return Band(smallest, size, False, proven)      # gave up walking: checked from here up


def _sample_up(fits, smallest, step, few=False):
    """No proof: check sizes above the smallest; safe from just above the largest failure."""
    fine, coarse = (SAMPLE_FINE, SAMPLE_COARSE) if not few else (2, 3)
    sizes = [smallest + k * step for k in range(1, fine + 1)]
    span = int(smallest * SAMPLE_SPAN)
    sizes += [smallest + (span * k // coarse) // step * step for k in range(1, coarse + 1)]
    sizes = sorted(set(s for s in sizes if s > smallest))
    safe = smallest
    for s in sizes:
        if not fits(s):
            safe = s + step
    return Band(smallest, safe, False, sizes[-1] if sizes else smallest)


def _fits(make, size, trace):
    try:
        alloc = make(size)
    except (umalloc.MemError, ValueError):
        return False
    return traces.replays_cleanly(alloc, trace)


def ref_band(make, trace, step=8, on_pass=None):
    """Band for a reference allocator factory (FirstFit8, BuddyAllocator...)."""
    from .simulate import bisect_min
    proven = exact = None
    if make is FirstFit8:
        top = firstfit8_top(trace)
        if top is not None:
            # from here up no carve ever leaves a rest too small to split: every run is the
            # unbounded one (see firstfit8_top); arena sizes round down to ALIGN
            proven = (top + ff8.MIN_BLOCK + step - 1) // step * step
            if not any(op == "r" for op, _, _ in trace.events):
                exact = top     # no realloc: a smaller pool fails where the unbounded one passed top

    def fits(size):
        if exact is not None:
            return size & -ff8.ALIGN >= exact
        if proven is not None and size >= proven:
            return True             # proven above: no replay needed
        if on_pass:
            on_pass()
        return _fits(make, size, trace)
    smallest = bisect_min(fits, trace, step, hint=proven)
    if proven is not None:
        return _walk_down(fits, smallest, max(proven, smallest), step)
    return _sample_up(fits, smallest, step, long_trace(trace))


def long_trace(trace):
    """Over LONG events, sampling checks fewer sizes (each replay takes seconds)."""
    return len(trace) > LONG


def firstfit8_top(trace):
    """Highest byte first-fit-8 ever uses in an unbounded pool, or None when a request fails.

    In a pool of at least top + MIN_BLOCK bytes every carve from the top free block
    leaves a rest it splits off, exactly as in the unbounded pool, and first fit picks
    the same blocks (the lowest that fits), so the run is the same and succeeds.  In a
    smaller pool a carve may keep a rest under MIN_BLOCK inside its block; that changes
    only what a later realloc of that block does, so without reallocs a pool passes
    exactly when its usable bytes reach top: below, the request that went past them in
    the unbounded pool finds no block."""
    pool = FirstFit8(1 << 40)
    live = {}
    top = 0
    sizes = pool._live
    for op, ident, n in trace.events:
        if op == "a":
            p = pool.malloc(n)
        elif op == "f":
            pool.free(live.pop(ident))
            continue
        else:
            p = pool.realloc(live[ident], n)
        if p is None:
            return None
        live[ident] = p
        end = p - ff8.HEADER + sizes[p - ff8.HEADER]
        if end > top:
            top = end
    return top
