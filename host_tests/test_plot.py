"""`umalloc plot`: a real PNG from a recorded log, with the instants and failures asked for."""

import json
import struct

import pytest

from umalloc import frame
from umalloc_host import framebench
from umalloc_host.cli import main
from umalloc_host.errors import UserError
from umalloc_host.monitor import watch
from umalloc_host.plot import failure_times, pick_instants


def _record(path, n=120, start=1000.0):
    """A log the way `umalloc monitor --log` writes it, from a workload that fails sometimes
    (host clock from start seconds)."""
    a = framebench.layout_arena("esp32")
    lines, live = [], []
    for i, _ in enumerate(framebench.churn(a, steps=n * 3, seed=4)):
        if i % 3 == 0:
            if i == 150:
                live.append(a.malloc(a.stats()["free"] + 100))     # surely fails
            lines.append(frame.encode(a, seq=i // 3, ms=50 * (i // 3)))
    clock = iter(start + 0.05 * k for k in range(10 ** 6))
    watch(iter(lines), log_path=path, plain=True, clock=lambda: next(clock))
    return lines


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR" and data.rstrip().endswith(b"IEND\xaeB`\x82")
    return struct.unpack(">II", data[16:24])


def test_plot_writes_a_png_of_sensible_size(tmp_path, capsys):
    log = tmp_path / "run.jsonl"
    _record(log)
    png = tmp_path / "frag.png"
    assert main(["plot", str(log), "-o", str(png), "--at", "0", "2.5", "5.9"]) == 0
    w, h = _png_size(png)
    assert 800 <= w <= 2000 and 700 <= h <= 2000, (w, h)
    assert 20_000 < png.stat().st_size < 2_000_000
    said = capsys.readouterr().out
    assert "120 frames" in said and "maps at 0, 2.5, 5.9 s" in said


def test_failures_and_instants_come_from_the_log(tmp_path):
    log = tmp_path / "run.jsonl"
    _record(log)
    frames = [json.loads(ln) for ln in log.read_text().splitlines()]
    ts = [f["t"] - frames[0]["t"] for f in frames]
    fails = failure_times(frames, ts)
    assert fails and all(0 < t <= ts[-1] for t in fails)
    rises = sum(1 for a, b in zip(frames, frames[1:])
                if b["fail"] + sum(q["fail"] for q in b["partitions"])
                > a["fail"] + sum(q["fail"] for q in a["partitions"]))
    assert len(fails) == rises
    assert pick_instants(ts, []) == [0, 60, 119]
    assert pick_instants(ts, [3.0]) == [60]
    for outside in (-5, ts[-1] + 1):      # past either end: one line, not the last frame again
        with pytest.raises(UserError, match="the log spans"):
            pick_instants(ts, [outside])


def test_a_piped_log_is_drawn_on_the_device_clock():
    # captured output piped into the monitor: every frame arrives at once on the host, but
    # the device's ms clock moved on, and that is the time axis then
    from umalloc_host.plot import times
    frames = [{"t": 12.5, "ms": 1000 + 250 * k} for k in range(5)]
    assert times(frames) == [0.0, 0.25, 0.5, 0.75, 1.0]
    live = [{"t": 12.5 + 0.3 * k, "ms": 1000 + 250 * k} for k in range(5)]
    assert times(live) == pytest.approx([0.3 * k for k in range(5)])    # host time when it moved


def test_a_log_of_two_runs_is_drawn_as_two_lines(tmp_path, capsys):
    # a log appended to by a second monitor session: the device's counters start again, and
    # no line joins the end of the first run to the start of the second
    from umalloc_host.plot import broken, session_starts, times
    frames = [{"seq": k, "ms": 500 * k} for k in range(4)] + [{"seq": k, "ms": 500 * k} for k in range(3)]
    assert session_starts(frames) == [4]
    assert times(frames) == [0.0, 0.5, 1.0, 1.5, 1.5, 2.0, 2.5]      # device clock: run after run
    xs, ys = broken([0, 1, 2, 3], [10, 11, 12, 13], [2])
    assert xs == [0, 1, 2, 2, 3] and ys[:2] == [10, 11] and ys[2] != ys[2] and ys[3:] == [12, 13]
    log = tmp_path / "two.jsonl"
    _record(log, n=20)
    first = log.read_text()
    _record(log, n=20, start=1060.0)   # a minute later a second session appends to the file
    assert log.read_text().startswith(first)
    assert main(["plot", str(log), "-o", str(tmp_path / "two.png")]) == 0
    said = capsys.readouterr().out
    assert "40 frames over 61.0 s, 2 runs of the device (drawn apart)" in said


def test_plot_errors_are_one_line(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "none.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("not json\n{}\n")
    assert main(["plot", str(empty), "-o", str(tmp_path / "x.png")]) == 2
    assert "no frames" in capsys.readouterr().err
    assert main(["plot", str(empty), "-o", str(tmp_path / "x.jpg")]) == 2


@pytest.mark.parametrize("field, value", [("free", "abc"), ("partitions", 5), ("map", 7),
                                          ("t", None), ("frag", [1]), ("partitions", [{"x": 1}]),
                                          ("fail", True)])
def test_a_log_line_of_the_wrong_shape_is_skipped_not_a_traceback(tmp_path, capsys, field, value):
    # a log edited by hand or damaged: each of these raised a Python traceback in the drawing
    log = tmp_path / "run.jsonl"
    _record(log, n=10)
    rows = log.read_text().splitlines()
    bad = dict(json.loads(rows[4]), **{field: value})
    log.write_text("\n".join(rows[:4] + [json.dumps(bad)] + rows[5:]) + "\n")
    assert main(["plot", str(log), "-o", str(tmp_path / "x.png")]) == 0, capsys.readouterr().err
    assert "wrote" in capsys.readouterr().out and _png_size(tmp_path / "x.png")[0] > 0
