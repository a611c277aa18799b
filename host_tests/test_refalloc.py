"""The reference allocators used by `umalloc sim`: buddy and first-fit-8."""

import random

import pytest

from umalloc_host.refalloc import BuddyAllocator, FirstFit8
from umalloc_host.refalloc.buddy import order_for


def test_buddy_rounds_to_a_power_of_two():
    b = BuddyAllocator(128 * 1024)
    p = b.malloc(33 * 1024)
    assert b.size_of(p) == 64 * 1024
    assert b.stats()["free"] == 64 * 1024
    assert order_for(0) == order_for(16) == 4 and order_for(17) == 5


def test_buddy_coalesces_back_to_one_block():
    b = BuddyAllocator(4096)
    ptrs = [b.malloc(100) for _ in range(32)]          # 32 x 128 B fill it
    assert None not in ptrs and b.malloc(1) is None
    for p in ptrs:
        b.free(p)
    st = b.stats()
    assert st["largest_free"] == 4096 and st["free_fragments"] == 1


def test_buddy_fail_fragmented():
    b = BuddyAllocator(1024)
    ptrs = [b.malloc(256) for _ in range(4)]
    b.free(ptrs[0])
    b.free(ptrs[2])                     # 512 free, but not one buddy pair
    assert b.malloc(300) is None
    st = b.stats()
    assert st["fail"] == 1 and st["fail_fragmented"] == 1 and st["largest_free"] == 256


def test_firstfit8_header_alignment_and_split():
    f = FirstFit8(1024)
    p = f.malloc(1)
    q = f.malloc(20)
    assert p % 8 == 0 and q % 8 == 0
    assert q - p == 16                  # 1 byte + 8-byte header, 16-byte minimum block
    assert f.size_of(q) == 24           # 20 rounded to 8 plus header -> 32-byte block
    assert f.stats()["free"] == 1024 - 16 - 32


def test_firstfit8_coalesces_both_sides():
    f = FirstFit8(1024)
    a, b, c = f.malloc(100), f.malloc(100), f.malloc(100)
    f.free(a)
    f.free(c)
    assert f.stats()["free_fragments"] == 2      # a's hole, and c merged into the tail
    f.free(b)
    st = f.stats()
    assert st["free_fragments"] == 1 and st["largest_free"] == 1024 - 8
    f.check()


def test_firstfit8_takes_the_first_hole_that_fits():
    f = FirstFit8(4096)
    ptrs = [f.malloc(56) for _ in range(6)]    # 64-byte blocks
    f.free(ptrs[1])
    f.free(ptrs[3])
    assert f.malloc(40) == ptrs[1]             # lowest address first


@pytest.mark.parametrize("cls", [BuddyAllocator, FirstFit8])
def test_random_churn_never_overlaps(cls):
    rng = random.Random(7)
    a = cls(16 * 1024)
    live = {}
    for _ in range(3000):
        if live and rng.random() < 0.45:
            p = rng.choice(list(live))
            a.free(p)
            del live[p]
        elif live and rng.random() < 0.1:
            p = rng.choice(list(live))
            q = a.realloc(p, rng.randrange(1, 700))
            if q is not None:
                del live[p]
                live[q] = True
        else:
            p = a.malloc(rng.randrange(0, 900))
            if p is not None:
                assert p not in live
                live[p] = True
        a.check()
    spans = sorted((p, a.size_of(p)) for p in live)
    for (p, n), (q, _) in zip(spans, spans[1:]):
        assert p + n <= q
    st = a.stats()
    assert st["live_blocks"] == len(live)
    assert 0 <= st["free"] <= 16 * 1024 and st["min_ever_free"] <= st["free"]
