"""Hypothesis state machine: random operations against a reference model (CPython).

The seeded generator in device/test_arena_random.py does the same on both VMs;
this one lets hypothesis search for and shrink failing sequences.
"""

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import umalloc

STEPS = {"count": 0}


class ArenaModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.arena = None
        self.live = {}        # ptr -> bytes written there

    @rule(policy=st.sampled_from(umalloc.POLICIES), debug=st.booleans(),
          parts=st.sampled_from([(), ((16, 4),), ((8, 6), (32, 3))]))
    @precondition(lambda self: self.arena is None)
    def create(self, policy, debug, parts):
        self.arena = umalloc.Arena(2048, partitions=parts, policy=policy, debug=debug,
                                   small_threshold=48)

    @rule(n=st.integers(0, 700), data=st.data())
    @precondition(lambda self: self.arena is not None)
    def malloc(self, n, data):
        p = self.arena.malloc(n)
        if p is not None:
            assert p not in self.live
            payload = data.draw(st.binary(min_size=n, max_size=n))
            self.arena.view(p)[:n] = payload
            self.live[p] = payload

    @rule(data=st.data())
    @precondition(lambda self: self.live)
    def free(self, data):
        p = data.draw(st.sampled_from(sorted(self.live)))
        assert bytes(self.arena.view(p)[:len(self.live[p])]) == self.live.pop(p)
        self.arena.free(p)

    @rule(data=st.data(), n=st.integers(0, 900))
    @precondition(lambda self: self.live)
    def realloc(self, data, n):
        p = data.draw(st.sampled_from(sorted(self.live)))
        old = self.live[p]
        q = self.arena.realloc(p, n)
        if q is None:
            assert bytes(self.arena.view(p)[:len(old)]) == old
            return
        assert bytes(self.arena.view(q)[:min(n, len(old))]) == old[:n]
        del self.live[p]
        self.live[q] = bytes(self.arena.view(q)[:n])

    @rule(p=st.integers(-4, 2100))
    @precondition(lambda self: self.arena is not None)
    def free_garbage(self, p):
        if p in self.live:
            return
        before = bytes(self.arena._buf)
        try:
            self.arena.free(p)
        except umalloc.MemError:
            assert bytes(self.arena._buf) == before
        else:
            raise AssertionError("free(%d) of a pointer never handed out succeeded" % p)

    @invariant()
    def consistent(self):
        STEPS["count"] += 1
        if self.arena is not None:
            self.arena.check()
            for p, payload in self.live.items():
                assert bytes(self.arena.view(p)[:len(payload)]) == payload


TestArenaModel = ArenaModel.TestCase
TestArenaModel.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)


def test_report_step_count():
    # runs after the state machine in file order; prints how many steps were checked
    print("hypothesis state-machine steps checked:", STEPS["count"])
    assert STEPS["count"] > 1000
