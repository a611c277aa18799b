"""The virtual board works with the real, unchanged mpremote and ampy command lines."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from umalloc_host.board import Board
from umalloc_host.vboard import VirtualBoard

BIN = Path(sys.executable).parent


def _tool(name, *args, timeout=60):
    exe = BIN / name
    if not exe.exists():
        pytest.fail("%s is not installed next to %s: run ./dev setup" % (name, sys.executable))
    proc = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, "%s %s failed:\n%s%s" % (name, args, proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture(scope="module")
def vb():
    with VirtualBoard() as board:
        yield board


def _mpremote(vb, *args):
    return _tool("mpremote", "connect", vb.port, *args)


def test_mpremote_exec_run_cp_ls(vb, tmp_path):
    assert _mpremote(vb, "exec", "print(6 * 7)").strip() == "42"
    script = tmp_path / "hello.py"
    script.write_text("import sys\nprint('run on', sys.implementation.name)\n")
    assert _mpremote(vb, "run", script).strip() == "run on micropython"     # soft-resets first
    module = tmp_path / "greet.py"
    module.write_text("WORD = 'hi from lib'\n")
    _mpremote(vb, "mkdir", ":lib/pkg")
    _mpremote(vb, "cp", module, ":lib/greet.py")
    assert (Path(vb.root) / "lib" / "greet.py").read_text() == module.read_text()
    listing = _mpremote(vb, "ls", ":lib")
    assert "greet.py" in listing and "pkg/" in listing
    # lib/ is on the board's sys.path, as on a real board.
    assert _mpremote(vb, "exec", "import greet; print(greet.WORD)").strip() == "hi from lib"
    # The sandbox is the board's "/" -- not the host's root.
    assert "greet.py" in _mpremote(vb, "fs", "ls", ":/lib")


def test_mpremote_cp_recursive_installs_an_importable_package(vb):
    from umalloc_host import LIB_DIR
    _mpremote(vb, "cp", "-r", LIB_DIR / "umalloc", ":lib/")
    assert (Path(vb.root) / "lib" / "umalloc" / "__init__.py").is_file()
    out = _mpremote(vb, "exec", "import umalloc; a = umalloc.Arena(4096, partitions=((16, 8),));"
                    " print(umalloc.__file__, a.malloc(10) > 0)")
    assert out.split() == ["/lib/umalloc/__init__.py", "True"]
    # A second copy compares hashes on the device (hashlib) and skips unchanged files.
    assert "Up to date" in _mpremote(vb, "cp", "-r", LIB_DIR / "umalloc", ":lib/")


def test_mpremote_mount_binary_protocol(vb, tmp_path):
    # mount talks a binary protocol over the REPL with Ctrl-C disabled (kbd_intr(-1)):
    # 0x03 bytes in it must reach the device as data, not interrupt it.
    (tmp_path / "data.bin").write_bytes(bytes(range(256)))
    (tmp_path / "mod_on_host.py").write_text("VALUE = 'imported from the host'\n")
    out = _mpremote(vb, "mount", tmp_path, "exec",
                    "import os, mod_on_host\nprint(sorted(os.listdir('/remote')))\n"
                    "print(open('/remote/data.bin', 'rb').read() == bytes(range(256)))\n"
                    "print(mod_on_host.VALUE)")
    lines = out.strip().splitlines()
    assert lines[-3:] == ["['data.bin', 'mod_on_host.py']", "True", "imported from the host"]


def test_mpremote_soft_reset_clears_state(vb):
    out = _mpremote(vb, "exec", "x = 5", "soft-reset", "exec",
                    "print('x' in globals())")
    assert out.strip() == "False"


def test_ampy_put_run_ls(vb, tmp_path):
    script = tmp_path / "blink.py"
    script.write_text("print('ampy ran me')\n")
    _tool("ampy", "--port", vb.port, "put", script, "blink.py")
    assert (Path(vb.root) / "blink.py").read_text() == script.read_text()
    assert "/blink.py" in _tool("ampy", "--port", vb.port, "ls").split()
    assert _tool("ampy", "--port", vb.port, "run", script).strip() == "ampy ran me"


def test_soft_reset_prints_what_a_board_prints(vb):
    with Board(vb.port, timeout=5) as b:
        b.exec("y = 1")
        before = vb.pid
        b.reset()                      # Ctrl-D in the raw REPL: the process is replaced
        assert vb.pid != before
        assert b.exec("print('y' in globals())").strip() == "False"
    # Friendly REPL: Ctrl-D gives "MPY: soft reboot" and the banner.
    import serial
    with serial.Serial(vb.port, timeout=0.2) as port:
        port.write(b"\r\x03\x02")
        seen, deadline = b"", time.monotonic() + 10
        while not seen.endswith(b">>> ") and time.monotonic() < deadline:
            seen += port.read(256)        # wait for the friendly prompt
        assert seen.endswith(b">>> "), seen
        port.write(b"\x04")
        seen = b""
        deadline = time.monotonic() + 10
        while b">>> " not in seen.rsplit(b"soft reboot", 1)[-1] and time.monotonic() < deadline:
            seen += port.read(256)
    assert b"MPY: soft reboot\r\n" in seen
    assert b"MicroPython" in seen.split(b"MPY: soft reboot", 1)[1]


def test_killed_child_is_restarted(vb):
    first = vb.pid
    restarts = vb.restarts
    vb.kill_child()                     # a crash / brown-out
    deadline = time.monotonic() + 10
    while (vb.pid in (None, first)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert vb.pid not in (None, first) and vb.restarts == restarts + 1
    assert _tool("mpremote", "connect", vb.port, "exec", "print('back')").strip() == "back"


def test_ctrl_c_interrupts_running_code(vb):
    with Board(vb.port, timeout=5) as b:
        pid = vb.pid
        b._t.exec_raw_no_follow("while True:\n    pass")
        time.sleep(0.3)
        b._t.serial.write(b"\x03")
        out, done = b._read_to_eof(time.monotonic() + 5)
        err, done = b._read_to_eof(time.monotonic() + 5)
        assert done and "KeyboardInterrupt" in err.decode()
        assert vb.pid == pid            # interrupted, not killed
        b.reset()


def test_stop_leaves_no_process_and_frees_the_port(tmp_path):
    board = VirtualBoard(heap="64k", root=tmp_path / "fs")
    board.start()
    port, pid = board.port, board.pid
    assert os.path.exists(port)
    assert _tool("mpremote", "connect", port, "exec",
                 "import os; print(os.listdir('/'))").strip() == "['lib']"
    board.stop()
    assert not os.path.exists("/proc/%d" % pid) or \
        open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    assert (tmp_path / "fs" / "lib").is_dir()          # a given --root is kept


def test_umalloc_vboard_command_prints_port_and_stops_on_ctrl_c(tmp_path):
    import signal
    env = dict(os.environ, UMALLOC_VBOARD_PORT_FILE=str(tmp_path / "vboard.port"))
    proc = subprocess.Popen([str(BIN / "umalloc"), "vboard", "--heap", "96k", "--root", str(tmp_path / "fs")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            # a suite run in the background inherits SIGINT ignored: undo that
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stdout.readline()
        assert first.startswith("virtual board on /dev/"), first
        port = first.split()[3]
        assert (tmp_path / "vboard.port").read_text().strip() == port    # for `umalloc monitor`
        assert _tool("mpremote", "connect", port, "exec",
                     "import micropython; print('up')").strip() == "up"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not (tmp_path / "vboard.port").exists()
    assert (tmp_path / "fs" / "lib").is_dir()


def test_umalloc_vboard_rejects_a_bad_heap():
    proc = subprocess.run([str(BIN / "umalloc"), "vboard", "--heap", "lots"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "--heap 'lots' is not a size" in proc.stderr and "Traceback" not in proc.stderr


def test_output_nobody_reads_does_not_wedge_the_board(vb):
    b = Board(vb.port, timeout=5)
    b._t.exec_raw_no_follow("for i in range(30000):\n    print('x' * 60)")
    b._t.serial.close()            # the host goes away mid-output (unplugged terminal)
    time.sleep(0.5)
    out = _tool("mpremote", "connect", vb.port, "exec", "print('still alive')", timeout=60)
    assert out.strip().endswith("still alive")


def test_large_output_arrives_complete(vb):
    out = _tool("mpremote", "connect", vb.port, "exec", "for i in range(5000): print('%06d' % i)")
    lines = out.split()
    assert len(lines) == 5000 and lines[0] == "000000" and lines[-1] == "004999"


def test_a_child_that_cannot_start_is_a_clear_error(tmp_path):
    from umalloc_host.errors import UserError
    board = VirtualBoard(heap="1", root=tmp_path)
    with pytest.raises(UserError, match="exited at once"):
        board.start()
    assert board.pid is None and board.port is not None and not os.path.exists(board.port)


def test_friendly_repl_lines_end_in_crlf_like_a_board(vb):
    """issue 12, item 8: `mpremote repl` staircased because lines ended in a bare \\n."""
    with serial.Serial(vb.port, timeout=0.3) as s:
        s.write(b"\r\x02")                     # friendly REPL
        time.sleep(0.5)
        s.read(4096)
        s.write(b"for i in range(3): print('line', i)\r\r")
        time.sleep(1.0)
        out = s.read(4096)
    assert b"line 2" in out, out
    assert out.count(b"\n") >= 3 and out.count(b"\n") == out.count(b"\r\n"), out
