"""The host monitor: scanner, logs, views, the command, and a serial port that vanishes."""

import io
import json
import os
import pty
import subprocess
import sys
import time
import tty

from rich.console import Console

from umalloc import frame
from umalloc_host import framebench
from umalloc_host.cli import main
from umalloc_host.monitor import LineSplitter, MonitorState, Status, scan_line, watch
from umalloc_host.serialsource import serial_lines

from _lines import reader, wait_for


def _frames(n, seq0=0):
    a = framebench.layout_arena("pico")
    out = []
    for i, _ in enumerate(framebench.churn(a, steps=n * 4, seed=9)):
        if i % 4 == 3:
            out.append(frame.encode(a, seq=seq0 + len(out), ms=100 * len(out)))
    return out


def test_scan_line_splits_text_frames_and_damage():
    f1, f2 = _frames(2)
    assert scan_line("hello") == [("text", "hello")]
    ev = scan_line("tick 3 " + f1 + "\r\n")
    assert [k for k, _ in ev] == ["text", "frame"] and ev[1][1]["seq"] == 0
    ev = scan_line(f1[:50] + f2)                   # frame cut by the next one: keep the second
    assert [k for k, _ in ev] == ["bad", "frame"] and ev[1][1]["seq"] == 1
    ev = scan_line(f1[:70] + "MPY: soft reboot")  # reset banner mid-frame
    assert [k for k, _ in ev] == ["bad"]


def test_line_splitter_handles_crlf_partial_lines_and_binary_noise():
    sp = LineSplitter(max_line=100)
    assert sp.feed(b"ab") == []
    assert sp.feed(b"c\r\nde") == ["abc"]
    assert sp.feed(b"\xff\xfe\n") == ["de\ufffd\ufffd"]
    assert sp.feed(b"x" * 150) == ["x" * 150]      # no newline for too long: flushed as text
    assert sp.feed(b"tail") == [] and sp.flush() == "tail" and sp.flush() is None


def test_state_counts_lost_frames_and_resets():
    st = MonitorState()
    for seq in (5, 6, 9, 10, 0, 1):
        st.frame({"seq": seq, "frag": 0.1 * (seq % 3), "free": 1000 - seq}, t=seq)
    assert (st.frames, st.lost, st.restarts) == (6, 2, 1)
    assert st.min_free == 990


def test_watch_logs_every_frame_as_jsonl_and_csv(tmp_path):
    frames = _frames(30)
    lines = ["boot"] + frames[:10] + ["@UM1 9,9*zz", "user: working"] + frames[10:]
    out = io.StringIO()
    summary = watch(iter(lines), log_path=tmp_path / "run.jsonl", csv_path=tmp_path / "run.csv",
                    title="t", console=Console(file=out, force_terminal=False))
    assert summary["frames"] == 30 and summary["bad_frames"] == 1
    assert summary["text_lines"] == 2 and summary["lost"] == 0
    rows = [json.loads(ln) for ln in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert [r["seq"] for r in rows] == list(range(30))
    decoded = frame.decode(frames[7])
    assert {k: v for k, v in rows[7].items() if k != "t"} == decoded
    assert all(isinstance(r["t"], float) for r in rows)
    csv_lines = (tmp_path / "run.csv").read_text().splitlines()
    assert csv_lines[0].startswith("t,seq,ms,free,")
    assert "p256_nfree" in csv_lines[0] and len(csv_lines) == 31
    assert csv_lines[8].split(",")[1] == "7"
    text = out.getvalue()          # no terminal: compact lines, user output passed through
    assert "boot" in text and "user: working" in text and "damaged frame" in text
    assert text.count("free=") == 30


def test_a_second_run_appends_to_the_csv_without_a_second_header(tmp_path):
    frames = _frames(6)
    for part in (frames[:3], frames[3:]):            # two monitor runs, the same board layout
        watch(iter(part), csv_path=tmp_path / "run.csv", title="t",
              console=Console(file=io.StringIO(), force_terminal=False))
    csv_lines = (tmp_path / "run.csv").read_text().splitlines()
    assert len(csv_lines) == 7 and sum(ln.startswith("t,") for ln in csv_lines) == 1


def test_monitor_says_when_no_frame_arrived(tmp_path, capsys):
    quiet = tmp_path / "quiet.txt"
    quiet.write_text("just text from a board that runs no Reporter\n")
    assert main(["monitor", "--input", str(quiet), "--plain"]) == 0
    err = capsys.readouterr().err
    assert "no frames arrived" in err and "--app" in err


def test_a_second_virtual_board_stopping_gives_the_port_file_back_to_the_first(tmp_path, monkeypatch):
    import umalloc_host.serialsource as ss
    from umalloc_host.commands.vboard import _announce, _withdraw
    port_file = tmp_path / "vboard.port"
    monkeypatch.setattr(ss, "VBOARD_PORT_FILE", port_file)
    first, second = tmp_path / "pts-first", tmp_path / "pts-second"   # stand-ins for pty nodes
    first.write_text("")
    second.write_text("")
    a = _announce(str(first))
    b = _announce(str(second))
    assert port_file.read_text().strip() == str(second)
    _withdraw(b, str(second))
    assert port_file.read_text().strip() == str(first)    # the first still runs: announced again
    _withdraw(a, str(first))
    assert not port_file.exists()


def test_live_view_draws_figures_bars_map_and_output():
    frames = _frames(12)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=110, color_system=None)
    summary = watch(iter(["hello from main.py"] + frames), console=console, title="pico")
    screen = out.getvalue().split("umalloc monitor")[-1]      # the last screen drawn
    last = frame.decode(frames[-1])
    assert summary["frames"] == 12
    assert "largest free" in screen and "min ever free" in screen and "%d B" % last["largest_free"] in screen
    assert "%.3f" % last["frag"] in screen
    for q in last["partitions"]:
        assert "%d/%d" % (q["nused"], q["nblks"]) in screen
    assert "memory map" in screen and "heap free" in screen
    assert "hello from main.py" in screen
    assert any(c in screen for c in "▁▂▃▄▅▆▇█")


def test_monitor_command_reads_a_file_and_stdin(tmp_path, capsys, monkeypatch):
    src = tmp_path / "capture.txt"
    src.write_text("\n".join(["hi"] + _frames(5)) + "\n")
    assert main(["monitor", "--input", str(src), "--log", str(tmp_path / "a.jsonl"), "--plain"]) == 0
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 5
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(_frames(3))))
    assert main(["monitor", "--input", "-", "--plain"]) == 0
    assert "3 frames" in capsys.readouterr().err


def test_monitor_command_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    import umalloc_host.serialsource as ss
    monkeypatch.setattr(ss, "VBOARD_PORT_FILE", tmp_path / "none.port")
    assert main(["monitor"]) == 2
    err = capsys.readouterr().err
    assert "umalloc vboard" in err and "--port" in err and "Traceback" not in err
    assert main(["monitor", "--port", str(tmp_path / "ttyNOPE")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["monitor", "--input", str(tmp_path / "missing.txt")]) == 2


def test_monitor_attaches_to_the_virtual_board_port_file(tmp_path, monkeypatch):
    import umalloc_host.serialsource as ss
    port_file = tmp_path / "vboard.port"
    monkeypatch.setattr(ss, "VBOARD_PORT_FILE", port_file)
    assert ss.vboard_port() is None
    port_file.write_text(str(tmp_path / "gone") + "\n")
    assert ss.vboard_port() is None                 # stale file: port no longer there
    master, slave = pty.openpty()
    try:
        port_file.write_text(os.ttyname(slave) + "\n")
        assert ss.vboard_port() == os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


class _Pty:
    """A pty pair whose slave is reached through a symlink we can remove and re-point."""

    def __init__(self, link):
        self.link = link
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        os.symlink(os.ttyname(self.slave), link)

    def write(self, text):
        os.write(self.master, text.encode())

    def vanish(self):
        os.unlink(self.link)
        os.close(self.master)
        os.close(self.slave)


def test_monitor_survives_a_port_that_vanishes_and_returns(tmp_path):
    link = str(tmp_path / "ttyBOARD")
    log = tmp_path / "run.jsonl"
    frames = _frames(40)
    board = _Pty(link)
    proc = subprocess.Popen(
        [sys.executable, "-m", "umalloc_host.cli", "monitor", "--port", link, "--plain",
         "--log", str(log), "--seconds", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        q = reader(proc)
        wait_for(q, lambda s: "connected to" in s)
        board.write("garbage \x00\xff\r\n" + "\r\n".join(frames[:15]) + "\r\n" + frames[15][:60])
        wait_for(q, lambda s: s.startswith("#14 "))
        board.vanish()                     # unplugged mid-frame
        wait_for(q, lambda s: "disconnected" in s)
        time.sleep(1.0)                    # a few failed reopen attempts
        assert proc.poll() is None, "monitor exited while the port was gone"
        board = _Pty(link)                 # plugged back in
        wait_for(q, lambda s: "connected to" in s)
        board.write("MPY: soft reboot\r\n" + "\r\n".join(frames[16:]) + "\r\n")
        wait_for(q, lambda s: s.startswith("#39 "))
    finally:
        proc.terminate()
        proc.wait(10)
        board.vanish()
    seqs = [json.loads(ln)["seq"] for ln in log.read_text().splitlines()]
    assert seqs == list(range(15)) + list(range(16, 40))


def test_serial_lines_reports_status_and_never_raises_on_a_lost_port(tmp_path):
    import serial
    opened = []

    class FlakyPort:
        def __init__(self, chunks):
            self.chunks = chunks
            self.in_waiting = 0

        def read(self, n):
            item = self.chunks.pop(0)
            if isinstance(item, Exception):
                raise item
            return item

        def close(self):
            pass

    plan = [FlakyPort([b"a\r\nb", serial.SerialException("device disconnected")]),
            OSError(2, "No such file"), OSError(2, "No such file"),
            FlakyPort([b"c\n", b""])]

    def opener(port, baud):
        opened.append(port)
        item = plan.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    src = serial_lines(str(tmp_path), opener=opener, sleep=lambda s: None)
    items = [next(src) for _ in range(9)]
    kinds = [("S:" + i.split()[0]) if isinstance(i, Status) else i for i in items]
    assert kinds == ["S:connected", "a", "b", "S:disconnected", None, None,
                     "S:connected", "c", None]


def _ctrl_c_works():
    # A suite started in the background (`./dev test &`) inherits SIGINT ignored, and
    # Python then never raises KeyboardInterrupt: give the child the default back.
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_ends_the_monitor_cleanly_with_the_log_complete(tmp_path):
    import signal
    link = str(tmp_path / "ttyBOARD")
    log = tmp_path / "run.jsonl"
    board = _Pty(link)
    proc = subprocess.Popen(
        [sys.executable, "-m", "umalloc_host.cli", "monitor", "--port", link, "--plain",
         "--log", str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_ctrl_c_works)
    try:
        q = reader(proc)
        wait_for(q, lambda s: "connected to" in s)
        board.write("\r\n".join(_frames(8)) + "\r\n")
        wait_for(q, lambda s: s.startswith("#7 "))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        err = proc.stderr.read()
        assert "8 frames" in err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
        board.vanish()
    assert [json.loads(ln)["seq"] for ln in log.read_text().splitlines()] == list(range(8))


def test_readme_pipe_from_the_unix_port_with_micropypath(tmp_path):
    """README: `MICROPYPATH=lib micropython app.py | umalloc monitor --input -`, from the checkout."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from umalloc_host import REPO_ROOT
    from umalloc_host.unixport import find_micropython
    app = tmp_path / "app.py"
    app.write_text("import umalloc\na = umalloc.init(8192)\nprint('app says hi')\n"
                   "for n in (100, 200, 300):\n    a.malloc(n)\n    umalloc.report()\n")
    umalloc_exe = Path(sys.executable).with_name("umalloc")
    env = dict(os.environ, MICROPYPATH="lib", TERM="dumb")
    done = subprocess.run("'%s' '%s' | '%s' monitor --input - --plain"
                          % (find_micropython(), app, umalloc_exe), shell=True, cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "app says hi" in done.stdout and "monitor: 3 frames, 0 damaged" in done.stderr
    # without MICROPYPATH the unix port cannot find umalloc: that is why the README says it
    env.pop("MICROPYPATH")
    bare = subprocess.run([find_micropython(), str(app)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert "ImportError" in bare.stdout + bare.stderr
