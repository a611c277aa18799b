"""`umalloc advise`: the proposed layout replays cleanly and tightly on generated traces."""

import json

import umalloc
from umalloc_host import advisor, simulate, traces
from umalloc_host.cli import main

# Embedded-style workloads: a few buffer sizes, churned (sizes not all multiples of 4).
POOLS = [traces.generate(seed=1, events=1000, max_live=120, sizes=(24, 64, 256), name="pools-a"),
         traces.generate(seed=2, events=1000, max_live=150, sizes=(18, 18, 60, 200), name="pools-b")]


def test_advised_layouts_replay_cleanly_within_1_15_peak():
    for trace in POOLS:
        advice = advisor.advise(trace)
        layout = advice.layout
        assert layout.arena_size == advice.arena
        assert advice.arena <= 1.15 * trace.peak_live, (trace.name, advice.arena / trace.peak_live)
        a = umalloc.Arena(layout.arena_size, partitions=layout.partitions, policy=layout.policy)
        r = traces.replay(a, trace)
        a.check()
        assert r["failed"] == 0 and r["fails"] == 0
        assert advice.arena <= advice.baseline          # never worse than the heap alone


def test_class_peaks_route_to_the_smallest_block():
    t = traces.parse("a 0 10\na 1 12\na 2 13\nf 0\na 3 40\na 4 100\n", "t")
    peaks = advisor.class_peaks(t, [12, 40])
    assert peaks[12] == 2 and peaks[40] == 2 and peaks[None] == 1


def test_advise_command_writes_a_layout_sim_accepts(tmp_path, capsys):
    trace_path = tmp_path / "z.trace"
    trace_path.write_text("".join("a %d 10\n" % i for i in range(200)))   # Zebra in small
    out = tmp_path / "layout.json"
    assert main(["advise", str(trace_path), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "partition 200 x 12 B" in text
    layout = json.loads(out.read_text())
    assert layout["partitions"] == [[12, 200]] and layout["policy"] in umalloc.POLICIES
    assert simulate.fits(simulate.umalloc_factory(simulate.load_layout(out)), layout["arena_size"],
                         traces.load(str(trace_path)))
    assert main(["sim", str(trace_path), "--layout", str(out)]) == 0
    assert main(["advise", str(trace_path), "--arena", "100"]) == 2
    assert "raise --arena" in capsys.readouterr().err
