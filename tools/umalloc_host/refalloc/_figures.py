"""Figure bookkeeping shared by the reference allocators (same names as Arena.stats)."""


class Figures:
    def __init__(self, arena_size, free, policy, overhead, meta=0):
        self.arena_size = arena_size
        self.free = free
        self.min_ever_free = free
        self.fail = 0
        self.fail_fragmented = 0
        self.live = 0
        self.policy = policy
        self.overhead = overhead
        self.meta = meta

    def took(self, nbytes):
        self.free -= nbytes
        self.live += 1
        if self.free < self.min_ever_free:
            self.min_ever_free = self.free

    def gave_back(self, nbytes):
        self.free += nbytes
        self.live -= 1

    def failed(self, request):
        self.fail += 1
        if self.free >= request:
            self.fail_fragmented += 1

    def stats(self, largest_free, fragments):
        free = self.free
        return {
            "arena_size": self.arena_size, "heap_size": self.arena_size - self.meta,
            "free": free, "used": self.arena_size - self.meta - free,
            "largest_free": largest_free, "free_fragments": fragments,
            "frag": (1 - largest_free / free) if free else 0.0,
            "min_ever_free": self.min_ever_free, "fail": self.fail,
            "fail_fragmented": self.fail_fragmented, "live_blocks": self.live,
            "overhead": self.overhead, "meta": self.meta, "policy": self.policy,
            "partitions": [],
        }


class MoveOnResize:
    """realloc for the reference allocators: keep a block whose size still fits, else move it."""

    def realloc(self, p, n):
        if p is None:
            return self.malloc(n)
        if self._keeps(p, n):
            return p
        q = self.malloc(n)
        if q is not None:
            self.free(p)
        return q
