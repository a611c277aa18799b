"""A fast model of umalloc's placement, for searching arena sizes and layouts on long traces.

The real core (lib/umalloc) runs on CPython through the viper shim at about
8 us an event; this model decides the same placements in plain Python data
structures several times faster.  It is a search aid only: every answer the
advisor and `sim --min-arena` print is checked against the real core at the end.

What it models, exactly as the core does it: partitions taken smallest block
first (a request goes to the smallest partition whose blocks hold it and that
has one free, else to the heap); heap blocks of max(16, n + 4 rounded to the
granule); good fit (first fit in the request's size class, else the lowest
hole of the smallest larger class, the hole ending the heap last), first fit (lowest address), best fit (smallest, lowest address on
ties), two-ended (small blocks last fit, carved from the top of their hole);
a split only when the rest is a block of its own (>= 16 B); free coalescing
with both neighbours; realloc in place into the free block above, else
malloc (partitions first) + free.  Positions are relative to the heap's start,
which is all placement depends on.

First fit and good fit have one more property the search uses (`first_fit_top`;
good fit takes the hole that ends the heap only when no other fits): in an
unbounded heap their placements do not depend on the heap's size, so one run
gives the highest byte ever used, and every heap at least that large replays
the trace identically, with zero failures.  A smaller heap fails at the event
that first reached past its end, unless that event grew a block in place by
realloc (a bounded heap would have moved it instead): `maybe` says how far
down that can happen.
"""

from bisect import bisect_left, insort

MIN_BLOCK = 16
HEADER = 4
MAX_REQUEST = 0x1000000      # the core refuses requests at or above this (24-bit sizes)
UNBOUNDED = 1 << 40


class Result:
    """ok: zero failures; top: highest heap byte used (relative to the heap's start);
    maybe: in an unbounded first- or good-fit run, the smallest heap that might also replay cleanly
    (top, unless a realloc grew a block in place past the highest byte used so far: a
    heap ending below that block would have moved it instead, and may do well);
    failed_at: index of the failing event, or None; unsure: the [a, b) ranges of heaps
    whose first step past their end was such a growth (every other heap below top fails:
    its first step past the end was a malloc, which finds no block there)."""

    def __init__(self, ok, top, maybe, failed_at, unsure=()):
        self.ok, self.top, self.maybe, self.failed_at = ok, top, maybe, failed_at
        self.unsure = unsure

    def decided(self, heap):
        """True/False when the unbounded run settles whether `heap` passes, else None."""
        if heap >= self.top:
            return True
        if any(a <= heap < b for a, b in self.unsure):
            return None
        return False


def granule(align):
    """The heap granule of an Arena made with align= (None: the default, 8 bytes)."""
    return 4 if align == 4 else 8


# Policies whose placements do not depend on the heap's size (see first_fit_top): first fit,
# and good fit, which takes the block ending the heap only when no other fits.
SIZE_FREE = ("first", "good")


def size_class(size):
    """The core's size class of a free block (_core.size_class: 4 per power of two)."""
    fl = 4 + (size >> 5).bit_length()
    return ((fl - 4) << 2) | ((size >> (fl - 2)) & 3)


def class_start(c):
    """The smallest block size in size class c (size classes grow with the size)."""
    return (4 | (c & 3)) << ((c >> 2) + 2)


def heap_need(n, gran):
    need = (n + HEADER + gran - 1) & -gran
    return need if need >= MIN_BLOCK else MIN_BLOCK


def replay(events, partitions=(), heap=UNBOUNDED, gran=8, policy="first", small=256):
    """Run (op, id, size) events through the model; stops at the first failure."""
    if heap is None:
        heap = UNBOUNDED
    if heap >= UNBOUNDED and policy not in SIZE_FREE:
        raise ValueError("only first and good fit are independent of the heap's size")
    psize = [s for s, _ in partitions]
    pfree = [c for _, c in partitions]
    np_ = len(psize)
    starts, sizes = [], []         # free holes in address order, and their sizes alongside
    ends = {}                      # hole end -> hole start (to merge with the block below)
    bysize = []                    # (size, start) of every hole: best fit and the largest
    used = {}                      # heap block start -> size
    live = {}                      # id -> heap block start, or -(partition index + 1)
    if heap >= MIN_BLOCK:
        starts.append(0)
        sizes.append(heap)
        ends[heap] = 0
        bysize.append((heap, 0))
    top = 0
    maybe = None
    unsure = []                    # heaps in [a, b) meet an in-place growth first, not a malloc
    two = policy == "twoended"
    best = policy == "best"
    good = policy == "good"

    sized = policy not in SIZE_FREE    # first and good fit walk `sizes`: no size order needed

    def add_hole(b, s):
        i = bisect_left(starts, b)
        starts.insert(i, b)
        sizes.insert(i, s)
        ends[b + s] = b
        if sized:
            insort(bysize, (s, b))

    def drop_hole(i):
        b = starts.pop(i)
        s = sizes.pop(i)
        del ends[b + s]
        if sized:
            del bysize[bisect_left(bysize, (s, b))]
        return b, s

    def heap_malloc(need):
        if good:                       # first fit in need's class, else the lowest hole of the
            nxt = class_start(size_class(need) + 1)    # smallest larger class; the hole
            n = len(sizes)                             # ending the heap last
            wild = n - 1 if n and starts[-1] + sizes[-1] == heap else n
            i, lim = -1, UNBOUNDED     # a hole below lim is in a smaller class than hole i's
            for k in range(wild):
                s = sizes[k]
                if s >= need:
                    if s < nxt:        # need's own class
                        i = k
                        break
                    if s < lim:
                        i, lim = k, class_start(size_class(s))
            if i < 0:
                if wild < n and sizes[wild] >= need:
                    i = wild
                else:
                    return -1
        elif not sized:                # first fit: the lowest hole that fits, if any
            i = 0
            for s in sizes:
                if s >= need:
                    break
                i += 1
            else:
                return -1
        elif not bysize or bysize[-1][0] < need:
            return -1
        elif best:
            s, b = bysize[bisect_left(bysize, (need, -1))]
            i = bisect_left(starts, b)
        elif two and need <= small:
            i = len(sizes) - 1
            while sizes[i] < need:
                i -= 1
        else:
            i = 0
            for s in sizes:
                if s >= need:
                    break
                i += 1
        b, s = drop_hole(i)
        rest = s - need
        if rest >= MIN_BLOCK:
            if two and need <= small:
                add_hole(b, rest)
                b += rest
            else:
                add_hole(b + need, rest)
            s = need
        used[b] = s
        return b

    def heap_free(b):
        s = used.pop(b)
        nb = b + s
        i = bisect_left(starts, nb)
        if i < len(starts) and starts[i] == nb:       # the free block above
            s += drop_hole(i)[1]
        below = ends.get(b)
        if below is not None:                          # the free block below
            s += drop_hole(bisect_left(starts, below))[1]
            b = below
        add_hole(b, s)

    def malloc(n):
        """Block for n bytes: partition index as -(k + 1), heap start, or None."""
        if n >= MAX_REQUEST:
            return None
        for k in range(np_):
            if psize[k] >= n and pfree[k]:
                pfree[k] -= 1
                return -(k + 1)
        b = heap_malloc(heap_need(n, gran))
        return b if b >= 0 else None

    def free(p):
        if p < 0:
            pfree[-p - 1] += 1
        else:
            heap_free(p)

    def resize(b, n):
        """heap_resize: grow or shrink in place using the free block above; False: cannot."""
        need = heap_need(n, gran)
        s = used[b]
        nb = b + s
        i = bisect_left(starts, nb)
        nsize = sizes[i] if i < len(starts) and starts[i] == nb else 0
        avail = s + nsize
        if need > avail:
            return False
        if nsize:
            drop_hole(i)
        rest = avail - need
        if rest >= MIN_BLOCK:
            add_hole(b + need, rest)
            used[b] = need
        else:
            used[b] = avail
        return True

    for index, (op, ident, n) in enumerate(events):
        if op == "a":
            p = malloc(n)
        elif op == "f":
            free(live.pop(ident))
            continue
        else:
            p = live[ident]
            if n >= MAX_REQUEST:
                p = None
            elif p < 0:
                if psize[-p - 1] < n:
                    q = malloc(n)
                    if q is not None:
                        free(p)
                    p = q
            elif resize(p, n):
                end = p + used[p]
                if end > top:
                    if maybe is None:
                        maybe = top     # a bounded heap of this size moves the block instead
                    unsure.append((top, end))
                    top = end
                live[ident] = p
                continue
            else:
                q = malloc(n)
                if q is not None:
                    free(p)
                p = q
        if p is None:
            return Result(False, top, maybe, index, unsure)
        live[ident] = p
        if p >= 0:
            end = p + used[p]
            if end > top:
                top = end
    return Result(True, top, top if maybe is None else maybe, None, unsure)


def first_fit_top(events, partitions=(), gran=8, policy="first"):
    """Result of first fit in an unbounded heap: every heap of at least .top bytes replays
    the trace with zero failures; none below .maybe does (see the module doc).
    .ok is False only when a request can never be met (at or above the 16 MiB limit)."""
    return replay(events, partitions, UNBOUNDED, gran, policy)
