"""A binary buddy allocator, as in Linux / uClinux without an MMU.

Every request is rounded up to a power of two (a 33 KiB request takes a 64 KiB
block), which is the internal fragmentation this model exists to show.  The
arena is cut into the largest power-of-two blocks that fit, as a zone with an
odd size would be.  The bookkeeping (free lists, order of each block) is kept
outside the arena, like Linux's struct page, so this model is, if anything,
flattered: no byte of the arena goes to metadata.
"""

from ._figures import Figures, MoveOnResize

MIN_ORDER = 4        # 16-byte smallest block


def order_for(n):
    """Smallest order whose block holds n bytes (n = 0 still takes a block)."""
    order = MIN_ORDER
    while (1 << order) < n:
        order += 1
    return order


class BuddyAllocator(MoveOnResize):
    def __init__(self, size, **_ignored):
        if size < (1 << MIN_ORDER):
            raise ValueError("a buddy arena needs at least %d bytes" % (1 << MIN_ORDER))
        self.size = size
        self._free = {}          # order -> set of free block offsets
        self._order = {}         # live offset -> order
        self.max_order = size.bit_length() - 1
        off, rest = 0, size
        while rest >= (1 << MIN_ORDER):
            order = rest.bit_length() - 1
            self._free.setdefault(order, set()).add(off)
            off += 1 << order
            rest -= 1 << order
        usable = off
        self._fig = Figures(size, usable, "buddy", overhead=0)

    def block_size(self, n):
        return 1 << order_for(n)

    def malloc(self, n):
        if n < 0:
            raise ValueError("malloc size must be >= 0")
        want = order_for(n)
        order = want
        while order <= self.max_order and not self._free.get(order):
            order += 1
        if order > self.max_order:
            self._fig.failed(n)
            return None
        off = self._free[order].pop()
        while order > want:          # split, keeping the upper halves free
            order -= 1
            self._free.setdefault(order, set()).add(off + (1 << order))
        self._order[off] = want
        self._fig.took(1 << want)
        return off

    def free(self, p):
        order = self._order.pop(p)        # KeyError: not a live block (a bug in the caller)
        self._fig.gave_back(1 << order)
        while order < self.max_order:
            buddy = p ^ (1 << order)
            peers = self._free.get(order)
            if not peers or buddy not in peers:
                break
            peers.discard(buddy)
            p = min(p, buddy)
            order += 1
        self._free.setdefault(order, set()).add(p)

    def _keeps(self, p, n):
        return order_for(n) == self._order[p]

    def size_of(self, p):
        return 1 << self._order[p]

    def stats(self):
        largest = max((1 << o for o, s in self._free.items() if s), default=0)
        fragments = sum(len(s) for s in self._free.values())
        return self._fig.stats(largest, fragments)

    def check(self):
        """No two blocks (live or free) overlap and together they stay inside the arena."""
        spans = [(p, 1 << o) for p, o in self._order.items()]
        spans += [(p, 1 << o) for o, s in self._free.items() for p in s]
        spans.sort()
        end = 0
        for p, n in spans:
            if p < end or p % n:
                raise AssertionError("buddy block %d+%d overlaps or is misaligned" % (p, n))
            end = p + n
        if end > self.size:
            raise AssertionError("buddy block beyond the arena")
