"""`umalloc trace pull` from a fresh virtual board, and its checks on what comes back."""

import shutil

import pytest

from umalloc_host import LIB_DIR, traces
from umalloc_host.cli import main
from umalloc_host.commands.trace import extract
from umalloc_host.errors import UserError
from umalloc_host.vboard import VirtualBoard


def test_pull_from_the_virtual_board(tmp_path, capsys):
    workload = tmp_path / "app.py"
    workload.write_text("import umalloc\n"
                        "a = umalloc.init(4096, partitions=(), trace=16)\n"
                        "ps = [a.malloc(100 + i) for i in range(5)]\n"
                        "a.free(ps[1])\n"
                        "a.realloc(ps[2], 300)\n")
    out = tmp_path / "app.trace"
    assert main(["trace", "pull", "--run", str(workload), "-o", str(out)]) == 0
    t = traces.load(str(out))
    assert t.events == [("a", 0, 100), ("a", 1, 101), ("a", 2, 102), ("a", 3, 103), ("a", 4, 104),
                        ("f", 1, 0), ("r", 2, 300)]
    assert "peak live" in capsys.readouterr().out


def test_pull_with_run_on_a_board_starts_from_a_fresh_interpreter(tmp_path, capsys):
    # the same --run twice on one board gives the same trace (the second run does not find
    # the first one's arena still holding its RAM: two of them do not fit the 192k heap)
    workload = tmp_path / "app.py"
    workload.write_text("import umalloc\n"
                        "a = umalloc.init(80 * 1024, partitions=(), trace=16)\n"
                        "a.free(a.malloc(100))\n")
    with VirtualBoard() as vb:
        shutil.copytree(LIB_DIR / "umalloc", vb.root + "/lib/umalloc",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for n in (1, 2):
            out = tmp_path / ("run%d.trace" % n)
            assert main(["trace", "pull", "--port", vb.port, "--run", str(workload), "-o", str(out)]) == 0
    assert traces.load(str(tmp_path / "run1.trace")).events == traces.load(str(tmp_path / "run2.trace")).events
    assert capsys.readouterr().out.count("wrote ") == 2


def test_extract_explains_what_is_missing():
    with pytest.raises(UserError, match="umalloc.init"):
        extract("UMALLOC_NO_ARENA\n")
    with pytest.raises(UserError, match="trace=N"):
        extract("UMALLOC_TRACE_BEGIN\r\nUMALLOC_TRACE_END\r\n")
    assert extract("noise\nUMALLOC_TRACE_BEGIN\r\na 0 8\r\n# x\r\nf 0\r\nUMALLOC_TRACE_END\r\n") == \
        ["a 0 8", "# x", "f 0"]


class _MainLoopBoard:
    """A board whose --run program never returns (an app's main loop)."""

    def exec(self, code, on_output=None, timeout=None):
        from umalloc_host.board import BoardTimeout
        raise BoardTimeout(timeout)


def test_a_run_program_that_never_ends_says_how_to_pull_instead():
    # it said "the device raised no answer within 120.0 s (code still running?); ..."
    from umalloc_host.commands.trace import pull
    with pytest.raises(UserError) as err:
        pull(_MainLoopBoard(), "while True:\n    pass\n", "app.py")
    msg = str(err.value)
    assert msg.startswith("app.py was still running after 120 s") and "--port alone" in msg
