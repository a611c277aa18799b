# Model-based random testing: seeded operations against a reference model,
# check() after every one.  Same seeds, same results on CPython and MicroPython.
from umalloc import Arena

MICROPYTHON_HEAP = "512k"
OPS_PER_POLICY = 34000          # x 3 policies: > 100,000 operations per VM


class XorShift:
    def __init__(self, seed):
        self.s = seed & 0xFFFFFF or 1

    def next(self):
        # 24-bit xorshift keeps every value a small int on 32-bit ports
        s = self.s
        s ^= (s << 7) & 0xFFFFFF
        s ^= s >> 9
        s ^= (s << 8) & 0xFFFFFF
        self.s = s
        return s

    def below(self, n):
        return self.next() % n


def _size(rng):
    r = rng.below(100)
    if r < 60:
        return rng.below(65)
    if r < 92:
        return 65 + rng.below(300)
    return 365 + rng.below(1200)


def _mark(a, p, n, tag):
    if n:
        v = a.view(p)
        v[0] = tag
        v[n - 1] = tag


def _intact(a, p, n, tag):
    if n:
        v = a.view(p)
        assert len(v) >= n, "block shrank"
        assert v[0] == tag and v[n - 1] == tag, "block %d overwritten" % p


def run_random(policy, seed, ops):
    rng = XorShift(seed)
    a = Arena(3072, partitions=((16, 12), (48, 6)), policy=policy, small_threshold=64)
    live = {}      # ptr -> (requested size, tag)
    keys = []      # the same pointers, for picking one at random
    fails = 0
    for i in range(ops):
        op = rng.below(100)
        tag = i & 0xFF
        if op < 45 or not keys:
            n = _size(rng)
            p = a.calloc(1, n) if op < 5 else a.malloc(n)
            if p is None:
                fails += 1
            else:
                assert p not in live, "live block handed out twice"
                if op < 5:
                    assert a.view(p)[n - 1 if n else 0:n] == bytes(min(n, 1))
                _mark(a, p, n, tag)
                live[p] = (n, tag)
                keys.append(p)
        else:
            k = rng.below(len(keys))
            p = keys[k]
            n, old_tag = live[p]
            _intact(a, p, n, old_tag)
            if op < 85:
                a.free(p)
                del live[p]
                keys[k] = keys[-1]
                keys.pop()
            else:
                m = _size(rng)
                q = a.realloc(p, m)
                if q is None:
                    fails += 1
                    _intact(a, p, n, old_tag)
                else:
                    if m and n:
                        assert a.view(q)[0] == old_tag, "realloc lost the contents"
                    del live[p]
                    live[q] = (m, tag)
                    keys[k] = q
                    _mark(a, q, m, tag)
        a.check()
        st_live = a.stats()["live_blocks"] if i % 97 == 0 else None
        if st_live is not None:
            in_parts = 0
            for part in a.partitions:
                in_parts += part.query()["nused"]
            assert st_live + in_parts == len(live), "model and arena disagree on live blocks"
    for p in keys:
        a.free(p)
    a.check()
    st = a.stats()
    assert st["live_blocks"] == 0 and st["free_fragments"] == 1
    assert st["fail"] >= fails > 0, "the workload never ran out: too easy"
    return ops


def test_random_good_fit():
    print("random ops:", run_random("good", 4, OPS_PER_POLICY))


def test_random_first_fit():
    print("random ops:", run_random("first", 1, OPS_PER_POLICY))


def test_random_best_fit():
    print("random ops:", run_random("best", 2, OPS_PER_POLICY))


def test_random_twoended():
    print("random ops:", run_random("twoended", 3, OPS_PER_POLICY))
