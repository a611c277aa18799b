"""Report frames over a serial line: the virtual board (or a real one with --port).

What the host decodes from the frames must be what stats() and map() say on the
device, read back over the raw REPL.  The last test watches the virtual board with
`umalloc monitor` while the board crashes and comes back.
"""

import json
import os
import shutil
import subprocess
import sys

import serial

from umalloc_host import LIB_DIR
from umalloc_host.monitor import scan_line
from umalloc_host.vboard import VirtualBoard

from _lines import reader, wait_for

SETUP = ("import umalloc\n"
         "a = umalloc.Arena(16384, partitions=((16, 32), (64, 16), (256, 4)))\n")
CHURN = """
x, live = 3, []
def churn(n):
    global x
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        if live and x % 5 < 2:
            a.free(live.pop(x % len(live)))
        else:
            p = a.malloc((8, 30, 64, 100, 250, 600, 1500)[x % 7])
            if p is not None:
                live.append(p)
"""
FIGURES = ("free", "used", "largest_free", "free_fragments", "min_ever_free", "fail",
           "fail_fragmented", "live_blocks", "arena_size", "heap_size")


def _frames(text):
    out = []
    for line in text.splitlines():
        for kind, value in scan_line(line):
            assert kind != "bad", value
            if kind == "frame":
                out.append(value)
    return out


def _same(frame, stats, cells):
    for k in FIGURES:
        assert frame[k] == stats[k], (k, frame[k], stats[k])
    assert frame["partitions"] == stats["partitions"]
    assert frame["map"] == cells


def test_report_frames_match_stats_read_over_the_raw_repl(umalloc_board):
    b = umalloc_board
    b.exec(SETUP + CHURN)
    out = b.exec("for step in range(10):\n    churn(25)\n    print('step', step)\n"
                 "    umalloc.report(arena=a)\n")
    frames = _frames(out)
    assert len(frames) == 10 and "step 9" in out
    seqs = [f["seq"] for f in frames]
    assert seqs == list(range(seqs[0], seqs[0] + 10))
    _same(frames[-1], b.eval("a.stats()"), b.eval("a.map(64)"))
    assert frames[-1]["used"] > 0


def test_periodic_reporter_over_serial(umalloc_board):
    b = umalloc_board
    b.exec(SETUP + CHURN)
    code = ("import time\n"
            "r = umalloc.Reporter(a, period_ms=40).start()\n"
            "for _ in range(8):\n    churn(20)\n    time.sleep_ms(30)\n"
            "time.sleep_ms(200)\n"          # frames of the final state
            "r.stop()\ntime.sleep_ms(100)\n")
    frames = list(b.frames(timeout=15, code=code))
    assert len(frames) >= 6, len(frames)
    _same(frames[-1], b.eval("a.stats()"), b.eval("a.map(64)"))
    assert b.eval("r.sent") == len(frames)


def test_monitor_keeps_the_log_across_a_board_crash(tmp_path):
    log = tmp_path / "run.jsonl"
    with VirtualBoard() as vb:
        # umalloc onto the board's filesystem (what `umalloc deploy --mode py` puts there)
        shutil.copytree(LIB_DIR / "umalloc", os.path.join(vb.root, "lib", "umalloc"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "umalloc_host.cli", "monitor", "--port", vb.port,
             "--plain", "--log", str(log), "--seconds", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        q, seen = reader(proc), []
        try:
            wait_for(q, lambda s: "connected to" in s, seen)
            tx = serial.Serial(vb.port, 115200)       # typing only; the monitor reads
            run = 'import umalloc; a = umalloc.Arena(16384, partitions=((16, 32),))\r'
            loop = 'exec("for i in range(%d):\\n p = a.malloc(100 + i)\\n umalloc.report(arena=a)")\r'
            tx.write((run + loop % 12).encode())
            wait_for(q, lambda s: s.startswith("#11 "), seen)
            vb.kill_child()                           # crash: the board restarts, port stays
            wait_for(q, lambda s: "MicroPython" in s, seen)
            tx.write((run + loop % 5).encode())
            wait_for(q, lambda s: s.startswith("#4 "), seen)
            tx.close()
        finally:
            proc.terminate()
            proc.wait(10)
    rows = [json.loads(ln) for ln in log.read_text().splitlines()]
    assert [r["seq"] for r in rows] == list(range(12)) + list(range(5))
    assert [r["live_blocks"] for r in rows] == list(range(1, 13)) + list(range(1, 6))
    assert all(rows[k]["t"] <= rows[k + 1]["t"] for k in range(len(rows) - 1))
