"""`umalloc demo` end to end on the virtual board, as a newcomer (no TTY) runs it."""

import os
import subprocess
import sys
from pathlib import Path

from umalloc_host.cli import main



def _umalloc(*args, timeout=120):
    exe = Path(sys.executable).with_name("umalloc")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=dict(os.environ, TERM="dumb"))


def test_demo_on_the_virtual_board_ends_with_a_summary():
    done = _umalloc("demo", "--seconds", "4", "--plain")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for needle in ("starting the virtual board", "[1/2] deploying umalloc", "phase 1/4 fill",
                   "phase 2/4 churn", "phase 3/4 big asks", "phase 4/4 release", "summary",
                   "arena check() passed", "next:"):
        assert needle in out, needle
    # the story the demo tells: big requests fail although enough bytes are free
    assert "-> None  (free" in out
    worst = [l for l in out.splitlines() if "worst fragmentation" in l][0]
    assert float(worst.split()[2]) > 0.3
    fails = [l for l in out.splitlines() if "requests failed" in l][0].split()
    assert int(fails[0]) > 0 and int(fails[3]) > 0


def test_demo_default_view_works_without_a_tty():
    done = _umalloc("demo", "--seconds", "3")
    assert done.returncode == 0, done.stderr
    assert "summary" in done.stdout and "arena check() passed" in done.stdout


def test_demo_replays_a_trace(tmp_path):
    trace = tmp_path / "hole.trace"
    lines = ["# fill, free all but every 5th, ask for a big block"]
    lines += ["a %d 2048" % i for i in range(24)]              # 49 KB of the 52 KB heap
    lines += ["f %d" % i for i in range(24) if i % 5]
    lines += ["a 100 4096", "a 101 8192", "a 102 12288", "a 103 16384"]
    trace.write_text("\n".join(lines) + "\n")
    done = _umalloc("demo", "--seconds", "2", "--plain", "--trace", str(trace))
    assert done.returncode == 0, done.stderr
    assert "replaying hole.trace" in done.stdout and "arena check() passed" in done.stdout
    fails = [l for l in done.stdout.splitlines() if "requests failed" in l][0].split()
    assert int(fails[3]) >= 1          # 12288 bytes do not fit in any hole


def test_demo_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.trace"
    bad.write_text("a 1 10\nx 2\n")
    assert main(["demo", "--trace", str(bad)]) == 2
    assert "bad.trace:2" in capsys.readouterr().err
    empty = tmp_path / "empty.trace"
    empty.write_text("# nothing\n")
    assert main(["demo", "--trace", str(empty)]) == 2
    assert "no events" in capsys.readouterr().err
    assert main(["demo", "--port", "/dev/ttyNOPE3"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["demo", "--seconds", "1"]) == 2


def test_demo_on_a_board_given_by_port_with_the_boot_app(capsys):
    """The real-board path (--port): here a virtual board that already runs boot.py/main.py."""
    from umalloc_host.deploy import deploy
    from umalloc_host.vboard import VirtualBoard
    with VirtualBoard() as vb:
        deploy(vb.port, board="unix", with_app=True, progress=None)
        assert main(["demo", "--port", vb.port, "--seconds", "2", "--plain"]) == 0
    out = capsys.readouterr().out
    assert "umalloc demo on Virtual board" in out and "arena check() passed" in out
    assert "arena 65536 bytes" in out          # the arena boot.py reserved at the soft reset
