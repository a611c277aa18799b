"""`umalloc gcbench` on a tiny trace: both allocators really run on the unix port."""

from umalloc_host import gcbench, traces
from umalloc_host.cli import main

TINY = traces.parse("".join("a %d 100\n" % i for i in range(40))
                    + "".join("f %d\n" % i for i in range(0, 40, 2))
                    + "".join("a %d 200\n" % i for i in range(100, 110)), "tiny")


def test_pack_reuses_slots(tmp_path):
    t = traces.parse("a 5 10\nf 5\na 9 70000\nr 9 3\nf 9\n", "t")
    n = gcbench.pack(t, tmp_path / "p.bin")
    data = (tmp_path / "p.bin").read_bytes()
    assert n == 1 and len(data) == 5 * 6
    assert data[12:18] == bytes((0, 0, 0, 70000 & 255, (70000 >> 8) & 255, 70000 >> 16))
    assert data[18] == 2 and data[24] == 1


def test_both_runs_fail_when_starved_and_pass_when_fed():
    bench = gcbench.Bench(TINY)
    try:
        assert bench.baseline > bench.start_alloc > 0      # the player's own memory was measured
        for run in (bench.run_gc, bench.run_umalloc):
            starved = run(TINY.peak_live // 2)
            fed = run(TINY.peak_live * 4)
            assert starved["events"] == fed["events"] == len(TINY)
            assert starved["fails"] > 0 and fed["fails"] == 0
        gc_res = bench.run_gc(6000)
        assert abs(gc_res["setup_free"] - 6000) < 600      # heapsize hits the budget closely
        m = bench.min_budget(bench.run_umalloc, 64 * 1024)
        assert m >= TINY.peak_live and bench.run_umalloc(m)["fails"] == 0
    finally:
        bench.close()


def test_gcbench_command_prints_both(tmp_path, capsys):
    path = tmp_path / "tiny.trace"
    path.write_text(TINY.text())
    assert main(["gcbench", str(path), "--heap-max", "64k"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.startswith(("gc ", "umalloc "))}
    assert set(rows) == {"gc", "umalloc"}
    assert rows["gc"][-1].endswith("x") and rows["umalloc"][-1].endswith("x")
    assert "after the player's setup" in out
    assert main(["gcbench", str(path), "--heap-max", "lots"]) == 2
