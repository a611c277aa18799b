"""heapmodel decides what the real core decides, and minarena's bands hold up under replay."""

import pytest

import umalloc
from umalloc_host import families, heapmodel, minarena, simulate, traces
from umalloc_host.refalloc import BuddyAllocator, FirstFit8

L = simulate.Layout
LAYOUTS = [L((), "good"), L(((16, 64), (64, 32)), "good"), L(((10, 20), (24, 12)), "good", align=4),
           L((), "first"), L(((16, 64), (64, 32)), "first"), L(((10, 20), (24, 12)), "first"),
           L(((16, 20),), "first", align=8), L((), "best"), L(((12, 10),), "best", align=8),
           L((), "twoended"), L(((16, 8),), "twoended", small_threshold=64)]
TRACES = [traces.generate(seed=11, events=500, max_live=40, sizes=(0, 3, 12, 40, 100, 300)),
          families.generate("uniform", 600, 3), families.generate("netbuf", 600, 3)]


def _arena(layout, size):
    return umalloc.Arena(size, partitions=layout.partitions, policy=layout.policy, **layout.options())


@pytest.mark.parametrize("trace", TRACES, ids=lambda t: t.name)
def test_model_passes_exactly_where_the_real_core_does(trace):
    compared = 0
    for layout in LAYOUTS:
        for f in (1.0, 1.04, 1.08, 1.12, 1.16, 1.2, 1.3, 1.45, 1.7):
            size = int(trace.peak_live * f) // 4 * 4
            try:
                a = _arena(layout, size)
            except umalloc.MemError:
                continue
            heap = a.stats()["heap_size"]
            model = heapmodel.replay(trace.events, layout.partitions, heap, heapmodel.granule(layout.align),
                                     layout.policy, layout.small_threshold or 256)
            assert model.ok == traces.replays_cleanly(a, trace), (layout.describe(), size)
            compared += 1
    assert compared > 40


@pytest.mark.parametrize("policy", ["first", "good"])
def test_first_fit_top_is_the_smallest_heap_and_every_larger_one_passes(policy):
    trace = families.generate("bimodal", 800, 4)
    layout = L(((12, 30),), policy)
    top = heapmodel.first_fit_top(trace.events, layout.partitions, policy=policy)
    assert top.ok and top.maybe == top.top       # no realloc in this family
    for heap in (top.top, top.top + 8, top.top + 24, top.top + 1000):
        assert heapmodel.replay(trace.events, layout.partitions, heap, policy=policy).ok
    assert not heapmodel.replay(trace.events, layout.partitions, top.top - 8, policy=policy).ok
    band = minarena.umalloc_band(layout, trace)
    assert band.proven and band.smallest == band.safe
    assert minarena.heap_size(layout, band.smallest) >= top.top > minarena.heap_size(layout, band.smallest - 4)
    for size in range(band.smallest, band.smallest + 400, 4):    # the proof, checked on the core
        assert traces.replays_cleanly(_arena(layout, size), trace), size
    assert not traces.replays_cleanly(_arena(layout, band.smallest - 4), trace)


def test_a_request_no_arena_holds_fails_in_the_model():
    t = traces.parse("a 0 10\na 1 16777216\n", "huge")
    assert not heapmodel.first_fit_top(t.events).ok
    with pytest.raises(Exception, match="event 2 asks for 16777216 bytes"):
        minarena.check_requests(t)


def test_bands_of_the_reference_allocators():
    trace = TRACES[0]
    ff = minarena.ref_band(FirstFit8, trace)
    assert ff.proven and ff.smallest == simulate.min_arena(FirstFit8, trace)
    for size in range(ff.safe, ff.safe + 200, 8):
        assert simulate.fits(FirstFit8, size, trace)
    buddy = minarena.ref_band(BuddyAllocator, trace)
    assert not buddy.proven and buddy.checked_to > buddy.safe >= buddy.smallest
    assert simulate.fits(BuddyAllocator, buddy.smallest, trace)


def test_families_are_reproducible_valid_and_distinct():
    for family in families.FAMILIES:
        a, b = families.generate(family, 2000, 7), families.generate(family, 2000, 7)
        assert a.events == b.events and len(a) == 2000
        assert a.events != families.generate(family, 2000, 8).events
        traces.parse(a.text(), family)           # the parser's validity rules hold
        assert 0 < a.peak_live < 200000
    assert families.parse_spec("netbuf:500:3") == ("netbuf", 500, 3)
    assert set(families.TUNING).isdisjoint(families.HELD_OUT)


def test_first_fit_8_without_realloc_passes_exactly_from_its_unbounded_top():
    trace = families.generate("bimodal", 700, 5)            # no realloc in this family
    top = minarena.firstfit8_top(trace)
    band = minarena.ref_band(FirstFit8, trace)
    assert band.proven and band.smallest == band.safe == (top + 7) // 8 * 8
    assert band.smallest == simulate.min_arena(FirstFit8, trace)     # replayed bisection agrees
    for size in range(band.smallest - 64, band.smallest + 64, 8):
        assert simulate.fits(FirstFit8, size, trace) == (size >= band.smallest), size


def test_gentrace_writes_the_family_trace_the_tools_read(tmp_path, capsys):
    from umalloc_host.cli import main
    out = tmp_path / "nb.trace"
    assert main(["gentrace", "netbuf", "--events", "300", "--seed", "4", "-o", str(out)]) == 0
    assert traces.load(str(out)).events == families.generate("netbuf", 300, 4).events
    assert main(["gentrace", "netbuf", "--events", "0"]) == 2
    assert "--events must be at least 1" in capsys.readouterr().err


def test_the_unbounded_run_settles_every_heap_outside_its_growth_ranges():
    trace = families.generate("netbuf", 900, 6)                 # buffers grown by realloc
    run = heapmodel.first_fit_top(trace.events)
    assert run.unsure                                            # some growth set a new top
    settled = 0
    for heap in range(max(0, run.top - 3000), run.top + 200, 4):
        known = run.decided(heap)
        if known is not None:
            settled += 1
            assert known == heapmodel.replay(trace.events, (), heap).ok, heap
    assert settled > 500


def test_class_start_is_the_smallest_size_of_each_core_size_class():
    from umalloc import _core
    starts = {}
    for size in range(heapmodel.MIN_BLOCK, 1 << 17):
        assert heapmodel.size_class(size) == _core.size_class(size)
        starts.setdefault(heapmodel.size_class(size), size)
    assert len(starts) > 40
    assert all(heapmodel.class_start(c) == s for c, s in starts.items())
