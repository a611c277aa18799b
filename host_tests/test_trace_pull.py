"""`umalloc trace pull` from a fresh virtual board, and its checks on what comes back."""

import pytest

from umalloc_host import traces
from umalloc_host.cli import main
from umalloc_host.commands.trace import extract
from umalloc_host.errors import UserError


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


def test_extract_explains_what_is_missing():
    with pytest.raises(UserError, match="umalloc.init"):
        extract("UMALLOC_NO_ARENA\n")
    with pytest.raises(UserError, match="trace=N"):
        extract("UMALLOC_TRACE_BEGIN\r\nUMALLOC_TRACE_END\r\n")
    assert extract("noise\nUMALLOC_TRACE_BEGIN\r\na 0 8\r\n# x\r\nf 0\r\nUMALLOC_TRACE_END\r\n") == \
        ["a 0 8", "# x", "f 0"]
