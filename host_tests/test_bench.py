"""`umalloc bench` runs in MicroPython with a tiny rep count (structure, not speed)."""

from umalloc_host import speedbench
from umalloc_host.cli import main


def test_bench_prints_every_ratio(capsys):
    assert main(["bench", "--reps", "3", "--n", "200"]) == 0
    out = capsys.readouterr().out
    for what in ("empty function call (floor)", "partition get+put pair", "heap malloc+free (64 B)",
                 "1000 free fragments"):
        assert what in out
    assert "x bytearray32" in out and "x bytearray64" in out and "x frag10" in out
    assert "1001 (asked 1000)" in out and "11 (asked 10)" in out


def test_reduce_takes_medians_and_subtracts_the_loop():
    lines = ["BENCH loop 100", "BENCH loop 300", "BENCH loop 200",
             "BENCH bytearray32 400", "BENCH bytearray32 900", "BENCH bytearray32 500",
             "BENCH part_pair 600", "BENCH part_pair 700", "BENCH part_pair 650",
             "FRAGS 10 11", "BENCH_DONE 3 100"]
    net, frags, reps, n = speedbench.reduce("\n".join(lines))
    assert (reps, n, frags) == (3, 100, {10: 11})
    assert net["bytearray32"] == 3000.0 and net["part_pair"] == 4500.0 and net["loop"] == 2000.0
    rows = {r[0]: r for r in speedbench.table(net)}
    assert rows["partition get+put pair"][2] == "1.50x bytearray32"
    assert rows["partition get+put pair"][4] == "MISSED by 1.50x"
