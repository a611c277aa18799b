"""`umalloc advise`: the proposed layout replays cleanly and tightly on generated traces."""

import json
import random

import pytest

import umalloc
from umalloc_host import advisor, heapmodel, simulate, traces
from umalloc_host.cli import main
from umalloc_host.errors import UserError

# Embedded-style workloads: a few buffer sizes, churned (sizes not all multiples of 4).
POOLS = [traces.generate(seed=1, events=1000, max_live=120, sizes=(24, 64, 256), name="pools-a"),
         traces.generate(seed=2, events=1000, max_live=150, sizes=(18, 18, 60, 200), name="pools-b")]

# shared/traces/hole.trace at 1/16 scale: 24 x 128 B live, every 5th kept, then 256..1024 B.
HOLE = traces.parse("".join("a %d 128\n" % i for i in range(24))
                    + "".join("f %d\n" % i for i in range(24) if i % 5)
                    + "a 100 256\na 101 512\na 102 768\na 103 1024\n", "hole16")


def _arena(layout, size=None):
    return umalloc.Arena(size or layout.arena_size, partitions=layout.partitions,
                         policy=layout.policy, **layout.options())


def test_advised_layouts_replay_cleanly_within_1_15_peak():
    for trace in POOLS:
        advice = advisor.advise(trace, budget=400)
        layout = advice.layout
        assert layout.arena_size == advice.arena
        assert advice.arena <= 1.15 * trace.peak_live, (trace.name, advice.arena / trace.peak_live)
        a = _arena(layout)
        r = traces.replay(a, trace)
        a.check()
        assert r["failed"] == 0 and r["fails"] == 0
        assert advice.arena <= advice.baseline          # never worse than the heap alone
        _assert_smallest(advice, trace)


def _assert_smallest(advice, trace):
    """First fit: no smaller arena passes; best fit and two-ended: sim --min-arena's figure."""
    layout = advice.layout
    if layout.policy == "first":
        assert not advisor.fits_at(layout, advice.arena - advisor.STEP, trace)
    else:
        assert advice.arena == simulate.min_arena(simulate.umalloc_factory(layout), trace,
                                                  step=advisor.SIM_STEP)


def test_the_search_does_not_depend_on_the_number_of_workers():
    trace = traces.generate(seed=5, events=300, max_live=40, sizes=(12, 12, 40, 100), name="w")
    one = advisor.advise(trace, budget=150, workers=1)
    two = advisor.advise(trace, budget=150, workers=2)
    assert (one.arena, one.layout.to_json()) == (two.arena, two.layout.to_json())


def test_judge_finds_the_same_minimum_as_min_arena():
    trace = POOLS[1]
    layout = simulate.Layout(((18, 60), (60, 20)), "best")
    want = simulate.min_arena(simulate.umalloc_factory(layout), trace, step=advisor.SIM_STEP)
    judge = advisor._Judge(trace, 1000)
    assert judge.exact(layout) == want
    # from above, in 4-byte steps: the same minimum, or a passing size inside the rule's last 8-byte step
    got = advisor._Judge(trace, 1000).beats(layout, want + 400)
    assert want - advisor.SIM_STEP < got <= want and judge.fits(layout, got)
    assert judge.beats(layout, want) is None                 # not below itself


def test_build_gives_only_arenas_that_hold_their_layout():
    layout = simulate.Layout(((100, 2), (10, 30)), "first")
    built = 0
    for size in range(600, 1200, 4):
        a = advisor.build(layout, size)
        if a is not None:
            built += 1
            a.check()
            st = a.stats()
            assert st["meta"] + sum(p["block_size"] * p["nblks"] for p in st["partitions"]) <= size
    assert built > 100


def test_class_peaks_route_to_the_smallest_block():
    t = traces.parse("a 0 10\na 1 12\na 2 13\nf 0\na 3 40\na 4 100\n", "t")
    peaks = advisor.class_peaks(t, [12, 40])
    assert peaks[12] == 2 and peaks[40] == 2 and peaks[None] == 1


def test_block_sizes_are_exact_where_the_core_takes_them(monkeypatch):
    for n in range(0, 80):
        s = advisor.block_size_for(n)
        assert s >= max(n, 4)
        umalloc.Arena(4096, partitions=((s, 2),))           # the core takes it
        if advisor.ALIGN == 1 and n >= 7:
            assert s == n
    monkeypatch.setattr(advisor, "ALIGN", 4)                 # the switch back to word multiples
    assert [advisor.block_size_for(n) for n in (1, 4, 5, 10, 13)] == [4, 4, 8, 12, 16]


def test_ideal_arena_is_the_high_water_of_an_overhead_free_heap():
    # kept blocks sit at 0, 640, 1280, 1920, 2560 (x 128 B): the 256 and 512 B requests fit
    # the 512 B holes; 768 and 1024 B go above the last kept block, from 21 x 128 = 2688
    for policy in ("first", "best"):
        assert advisor.ideal_arena(HOLE, policy) == 2688 + 768 + 1024
    # realloc grows in place into free space above, else moves (old and new live at once)
    t = traces.parse("a 0 100\na 1 50\nf 1\nr 0 150\na 2 10\nr 0 400\n", "r")
    assert advisor.ideal_arena(t) == 160 + 400
    # best fit takes the smallest hole, first fit the lowest
    t = traces.parse("a 0 300\na 1 10\na 2 100\na 3 10\nf 0\nf 2\na 4 100\n", "b")
    assert advisor.ideal_arena(t, "first") == 420 and advisor.ideal_arena(t, "best") == 420
    t = traces.parse("a 0 300\na 1 10\na 2 100\na 3 10\nf 0\nf 2\na 4 100\na 5 300\n", "b2")
    assert advisor.ideal_arena(t, "first") == 720 and advisor.ideal_arena(t, "best") == 420


def test_advice_explains_when_the_order_of_requests_rules_out_1_15():
    advice = advisor.advise(HOLE, budget=200)
    assert advice.ratio > 1.15
    text = "\n".join(advice.reasons())
    assert "needs %d B (1.40x) first fit, %d B (1.40x) best fit" % ((2688 + 1792,) * 2) in text
    assert "out of reach for a single first- or best-fit heap" in text


def test_layout_options_round_trip_through_json(tmp_path):
    layout = simulate.Layout(((10, 50),), "twoended", 4096, "t", small_threshold=520, align=8)
    assert layout.to_json() == {"arena_size": 4096, "partitions": [[10, 50]], "policy": "twoended",
                                "small_threshold": 520, "align": 8}
    assert "small_threshold 520" in layout.describe() and "align 8" in layout.describe()
    back = simulate.layout_from_dict(dict(layout.to_json(), partitions=[[16, 50]]), "t")
    assert back.options() == {"small_threshold": 520, "align": 8}
    assert simulate.Layout(((16, 4),)).to_json() == {"arena_size": None, "partitions": [[16, 4]],
                                                     "policy": "good"}   # Arena's default
    for bad in ({"align": 2}, {"small_threshold": -1}, {"small_threshold": "big"}):
        with pytest.raises(UserError):
            simulate.layout_from_dict(dict({"partitions": [], "policy": "twoended"}, **bad), "t")


def test_advise_command_writes_a_layout_sim_accepts(tmp_path, capsys):
    trace_path = tmp_path / "z.trace"
    trace_path.write_text("".join("a %d 10\n" % i for i in range(200)))   # Zebra in small
    out = tmp_path / "layout.json"
    assert main(["advise", str(trace_path), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    size = advisor.block_size_for(10)          # 10 when the core takes any block size, else 12
    assert "partition %dx200:" % size in text          # block size x count
    layout = json.loads(out.read_text())
    assert layout["partitions"] == [[size, 200]] and layout["policy"] in umalloc.POLICIES
    assert layout["arena_size"] <= 200 * size + 600             # the partition plus metadata
    assert simulate.fits(simulate.umalloc_factory(simulate.load_layout(out)), layout["arena_size"],
                         traces.load(str(trace_path)))
    assert main(["sim", str(trace_path), "--layout", str(out)]) == 0
    assert main(["advise", str(trace_path), "--arena", "100"]) == 2
    assert "raise --arena" in capsys.readouterr().err


def test_advise_takes_zero_size_blocks_and_names_requests_no_arena_holds(tmp_path, capsys):
    # issue 13: a freed zero-size block crashed the placement bound; an oversized request crashed advise
    zero = traces.parse("a 0 0\nf 0\na 1 10\na 2 0\nr 2 30\nr 2 0\nf 1\na 3 10\nf 2\n", "zero")
    for policy in ("first", "best"):
        assert advisor.ideal_arena(zero, policy) == 40
    advice = advisor.advise(zero, budget=60)
    assert traces.replays_cleanly(_arena(advice.layout), zero)
    assert "placement alone" in "\n".join(advice.reasons())
    huge = tmp_path / "huge.trace"
    huge.write_text("a 0 100\na 1 %d\nf 0\n" % umalloc.arena.MAX_ARENA)
    assert main(["advise", str(huge)]) == 2
    err = capsys.readouterr().err
    assert "event 2 asks for %d bytes" % umalloc.arena.MAX_ARENA in err and "Traceback" not in err


def test_advise_reports_the_best_layout_so_far_and_confirms_it_on_the_core():
    seen = []
    trace = POOLS[0]
    advice = advisor.advise(trace, budget=120, on_best=lambda arena, layout: seen.append(arena))
    assert seen and seen == sorted(seen, reverse=True) and seen[-1] >= advice.arena - advisor.STEP
    assert advisor.fits_at(advice.layout, advice.arena, trace)                 # the real core
    _assert_smallest(advice, trace)


def _space(trace):
    pool = advisor.candidates(trace)
    return pool, (pool, advisor.thresholds(trace), advisor.block_sizes(trace), {})


def test_later_seeds_try_every_heap_configuration_half_peaks_first():
    trace = POOLS[1]
    pool, space = _space(trace)
    groups = advisor._portfolio(trace, pool, space)
    half = advisor.layout_for(trace, sorted(pool[:advisor.MAX_PARTITIONS]), "good", 0.5).partitions
    assert all(k.partitions == half and k.align is None for k in groups[0])
    assert {k.policy for k in groups[0]} == set(umalloc.POLICIES)
    assert ({k.small_threshold or advisor.DEFAULT_SMALL for k in groups[0] if k.policy == "twoended"}
            == set(space[1]))
    assert {k.align for g in groups for k in g} == {None, 4}
    assert len({k.partitions for g in groups for k in g}) > 2        # other shares of the peaks


def test_random_restarts_keep_the_heap_configuration_and_the_core_limits():
    trace = POOLS[1]
    _, space = _space(trace)
    best = advisor._layout({18: 40, 60: 10}, "twoended", 264, 4)
    drawn = advisor._perturbed(best, space, trace, random.Random(1), 60)
    again = advisor._perturbed(best, space, trace, random.Random(1), 60)
    assert [advisor._key(k) for k in drawn] == [advisor._key(k) for k in again]    # reproducible
    assert len({advisor._key(k) for k in drawn}) > 20
    for k in drawn:
        assert (k.policy, k.small_threshold, k.align) == ("twoended", 264, 4)
        assert len(k.partitions) <= advisor.MAX_PARTITIONS and all(c >= 2 for _, c in k.partitions)
        assert advisor.build(k, 16384) is not None                  # the core takes the layout


def test_the_search_ends_when_no_partition_is_worth_trying():
    big = traces.parse("".join("a %d 3000\n" % i for i in range(6)) + "f 1\nf 3\na 9 2500\n", "big")
    advice = advisor.advise(big)                  # no candidate sizes: nothing to restart from
    assert advice.layout.partitions == () and traces.replays_cleanly(_arena(advice.layout), big)


def test_the_search_finds_a_layout_that_needs_two_changes_at_once():
    # netbuf: two-ended placement with threshold 520 pays only with fewer small buffers in
    # partitions; from the climbs' other ends each of the two changes alone costs more
    trace = traces.load("netbuf")
    two = simulate.Layout(((128, 4), (256, 6), (512, 6), (1536, 7)), "twoended", small_threshold=520)
    judge = advisor._Judge(trace, 1 << 30)
    assert judge.by_rule(two) < judge.by_rule(advisor._layout(two.partitions, "best"))
    advice = advisor.advise(trace)
    assert advice.arena <= judge.by_rule(two)
    _assert_smallest(advice, trace)


def test_advice_splits_the_default_heap_into_its_blocks_and_its_fixed_metadata():
    advice = advisor.advise(HOLE, budget=200)
    line = next(l for l in advice.reasons() if l.startswith("of that, its blocks"))
    blocks = int(line.split(" reach ")[1].split()[0])
    meta = int(line.split("the other ")[1].split()[0])
    assert blocks + meta == advice.baseline
    # the blocks: 4-byte headers on 8-byte granules, placed by good fit in an unbounded heap
    # (24 x 132 B -> 136 B blocks, then 256..1024 B requests into the holes and above)
    assert blocks == heapmodel.first_fit_top(HOLE.events, policy="good").top
    # the smallest arena's heap is exactly that high; the rest is its metadata
    stats = umalloc.Arena(advice.baseline).stats()
    assert (stats["heap_size"], stats["meta"]) == (blocks, meta)
