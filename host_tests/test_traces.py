"""Trace parsing, validation and figures (umalloc_host.traces)."""

import pytest

from umalloc_host import traces
from umalloc_host.errors import UserError


def test_parse_events_and_peak():
    t = traces.parse("# demo\na 0 100\na 1 50\n\nr 0 300\nf 1\na 2 10\nf 0\n", "demo")
    assert t.events == [("a", 0, 100), ("a", 1, 50), ("r", 0, 300), ("f", 1, 0), ("a", 2, 10), ("f", 0, 0)]
    assert t.peak_live == 350           # 300 + 50 after the realloc
    assert t.peak_blocks == 2
    assert t.peak_index == 2
    assert traces.parse(t.text(), "again").events == t.events


@pytest.mark.parametrize("text, line, words", [
    ("a 0 10\nx 1 2\n", 2, "unknown event"),
    ("a 0 10\na 1\n", 2, "needs 3 fields"),
    ("a 0 ten\n", 1, "whole numbers"),
    ("a 0 -5\n", 1, "must not be negative"),
    ("# c\nf 3\n", 2, "not live"),
    ("a 0 1\nf 0\nf 0\n", 3, "not live"),
    ("a 0 1\na 0 2\n", 2, "allocated again"),
    ("a 0 1\nr 9 4\n", 2, "resized but not live"),
])
def test_parse_errors_name_the_line(text, line, words):
    with pytest.raises(traces.TraceError) as exc:
        traces.parse(text, "bad.trace")
    assert "bad.trace:%d:" % line in str(exc.value)
    assert words in str(exc.value)


def test_empty_trace_is_an_error():
    with pytest.raises(traces.TraceError, match="no events"):
        traces.parse("# nothing\n\n", "empty")


def test_unknown_trace_name_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="give a file path or a sample name"):
        traces.load(str(tmp_path / "missing.trace"))


def test_samples_parse():
    names = traces.sample_names()      # shipped in the package (samples/*.trace)
    assert {"churn", "hole", "netbuf", "zebra"} <= set(names)
    for name in names:
        t = traces.load(name)
        assert t.peak_live > 0 and len(t) > 0


def test_generated_trace_is_valid():
    t = traces.generate(seed=5, events=300)
    again = traces.parse(t.text(), "gen")
    assert again.peak_live == t.peak_live and len(again) == 300


def test_replay_counts_failures_and_skips_dead_ids():
    from umalloc_host.refalloc import FirstFit8
    t = traces.parse("a 0 40\na 1 40\nf 1\nr 0 4000\nf 0\n", "t")
    a = FirstFit8(128)
    r = traces.replay(a, t)
    assert r["failed"] == 1                 # the realloc to 4000 cannot fit
    assert r["fails"] == 1
    assert a.stats()["live_blocks"] == 0    # the kept block 0 was freed at the end


def test_a_binary_file_or_a_folder_given_as_trace_says_what_to_give(tmp_path, capsys):
    # it said "cannot read trace x ('utf-8' codec can't decode byte 0xef ...)" and, for a
    # folder, "no trace '/tmp'"
    from umalloc_host.cli import main
    binary = tmp_path / "firmware.uf2"
    binary.write_bytes(bytes(range(128, 256)) * 8)
    for spec, words in ((binary, "is not a text trace"), (tmp_path, "is a folder")):
        for command in ("sim", "advise", "gcbench", "demo"):
            assert main([command, *(["--trace"] if command == "demo" else []), str(spec)]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and words in err and "sample name" in err, err
            assert "codec" not in err
