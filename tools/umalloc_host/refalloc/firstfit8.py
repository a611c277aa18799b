"""First fit with an 8-byte header and 8-byte alignment (FreeRTOS heap_4 style).

Free blocks sit on an address-ordered list; malloc takes the first that fits and
splits it when the rest is at least a minimum block; free coalesces with both
neighbours.  realloc is malloc + copy + free, as heap_4 offers no realloc.
"""

from bisect import bisect_left, insort

from ._figures import Figures, MoveOnResize

HEADER = 8
ALIGN = 8
MIN_BLOCK = 2 * HEADER


def block_for(n):
    need = (n + HEADER + ALIGN - 1) & -ALIGN
    return need if need >= MIN_BLOCK else MIN_BLOCK


class FirstFit8(MoveOnResize):
    def __init__(self, size, **_ignored):
        usable = size & -ALIGN
        if usable < MIN_BLOCK:
            raise ValueError("a first-fit arena needs at least %d bytes" % MIN_BLOCK)
        self.size = size
        self._starts = [0]            # free block starts, address order
        self._len = {0: usable}       # free block start -> length (header included)
        self._live = {}               # live block start -> length
        self._fig = Figures(size, usable, "firstfit8", overhead=HEADER)

    def malloc(self, n):
        if n < 0:
            raise ValueError("malloc size must be >= 0")
        need = block_for(n)
        for i, b in enumerate(self._starts):
            size = self._len[b]
            if size >= need:
                break
        else:
            self._fig.failed(n)
            return None
        del self._len[b]
        if size - need >= MIN_BLOCK:
            self._starts[i] = b + need
            self._len[b + need] = size - need
        else:
            del self._starts[i]
            need = size
        self._live[b] = need
        self._fig.took(need)
        return b + HEADER

    def free(self, p):
        b = p - HEADER
        size = self._live.pop(b)          # KeyError: not a live block (a bug in the caller)
        self._fig.gave_back(size)
        i = bisect_left(self._starts, b)
        if i < len(self._starts) and self._starts[i] == b + size:     # merge with the next
            size += self._len.pop(b + size)
            del self._starts[i]
        if i > 0:
            prev = self._starts[i - 1]
            if prev + self._len[prev] == b:                              # merge into the previous
                self._len[prev] += size
                return
        insort(self._starts, b)
        self._len[b] = size

    def _keeps(self, p, n):
        return block_for(n) == self._live[p - HEADER]

    def size_of(self, p):
        return self._live[p - HEADER] - HEADER

    def free_fragments(self):
        return len(self._starts)

    def stats(self):
        largest = max(self._len.values(), default=0)
        # free counts whole free blocks (as heap_4's xFreeBytesRemaining); largest is usable payload
        return self._fig.stats(largest - HEADER if largest else 0, len(self._starts))

    def check(self):
        spans = sorted([(b, n, "live") for b, n in self._live.items()]
                       + [(b, self._len[b], "free") for b in self._starts])
        end = 0
        prev_free = False
        for b, n, kind in spans:
            if b < end or b % ALIGN:
                raise AssertionError("first-fit block %d+%d overlaps or is misaligned" % (b, n))
            if kind == "free" and prev_free and b == end:
                raise AssertionError("adjacent free blocks at %d were not coalesced" % b)
            prev_free = kind == "free"
            end = b + n
        if end > self.size:
            raise AssertionError("first-fit block beyond the arena")
