"""The pytest plugin as another project would use it: a separate pytest run on a test file."""

import os
import subprocess
import sys

import pytest

from umalloc_host.vboard import VirtualBoard

OTHER_PROJECT_TESTS = '''
import pytest
from umalloc_host.board import DeviceError

def test_uses_umalloc(umalloc_board):
    assert umalloc_board.eval("umalloc.Arena(4096, partitions=()).malloc(100) > 0") is True

def test_hangs(board):
    board.exec("while True:\\n    pass")

def test_after_the_hang(umalloc_board):
    assert umalloc_board.eval("1 + 1") == 2

def test_device_raises(board):
    board.exec("import umalloc\\numalloc.Arena(4096, partitions=()).free(12345)")

@pytest.mark.hardware
def test_needs_silicon(board):
    pass

def test_plain_host_test():
    assert True
'''


def _pytest(tmp_path, *args, env_port=None, timeout=120):
    (tmp_path / "test_other.py").write_text(OTHER_PROJECT_TESTS)
    env = dict(os.environ)
    env.pop("UMALLOC_PORT", None)
    if env_port:
        env["UMALLOC_PORT"] = env_port
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfs", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_other.py"), *args],
        capture_output=True, text=True, timeout=timeout, cwd=tmp_path, env=env)


def test_plugin_on_the_virtual_board(tmp_path):
    proc = _pytest(tmp_path, "--board-timeout", "2")
    out = proc.stdout
    assert "2 failed, 3 passed, 1 skipped" in out, out + proc.stderr
    assert "FAILED test_other.py::test_hangs" in out and "BoardTimeout" in out
    # The device's traceback is the failure message.
    assert "FAILED test_other.py::test_device_raises" in out and "ERR_MEM_INVALID_ADDR" in out
    assert "needs real silicon" in out                    # the hardware marker's reason


def test_plugin_with_port_from_environment(tmp_path):
    with VirtualBoard() as vb:
        # --no-deploy on a fresh board: nothing installed, so the import fails on the device.
        bare = _pytest(tmp_path, "--no-deploy", "-k", "uses_umalloc", env_port=vb.port)
        assert "1 error" in bare.stdout, bare.stdout
        assert "umalloc is not installed on %s and --no-deploy was given" % vb.port in bare.stdout
        proc = _pytest(tmp_path, "--board-timeout", "2", "-k", "uses_umalloc or needs_silicon",
                       env_port=vb.port)
    # A port that leads to the virtual board is no silicon either: the plugin asks the board
    # (sys.platform) and skips the hardware test with that reason.
    assert "1 passed, 1 skipped" in proc.stdout, proc.stdout + proc.stderr
    assert "needs real silicon: %s is a virtual board" % vb.port in proc.stdout


def test_wrong_port_is_one_clear_error(tmp_path):
    proc = _pytest(tmp_path, "--port", "/dev/umalloc-no-such-port")
    assert proc.returncode == 4                            # pytest's usage error
    assert "/dev/umalloc-no-such-port does not exist" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_port_without_micropython_is_one_clear_error(tmp_path):
    import pty
    import tty
    master, slave = pty.openpty()      # a terminal nobody answers on
    tty.setraw(slave)
    try:
        proc = _pytest(tmp_path, "--port", os.ttyname(slave))
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "no MicroPython raw REPL answered" in proc.stderr
    assert proc.stdout.count("Traceback") == 0


def test_no_board_started_without_board_tests(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_x():\n    assert 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         str(tmp_path / "test_plain.py"), "--setup-show"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "1 passed" in proc.stdout
    assert "_umalloc_session" not in proc.stdout


def test_port_value_read_as_the_rootdir_is_one_clear_error(tmp_path):
    # `pytest --port /dev/ttyACM0` in a project: pytest took the value for a test path before
    # the plugin's options were known, made /dev its rootdir and left the project's ini unread
    project, devices = tmp_path / "project", tmp_path / "dev"
    project.mkdir()
    devices.mkdir()
    port = devices / "ttyACM0"
    port.write_text("")
    (project / "pytest.ini").write_text("[pytest]\nmarkers =\n    mine: a marker of the project\n")
    (project / "test_plain.py").write_text("def test_x():\n    assert 1\n")
    env = {k: v for k, v in os.environ.items() if k != "UMALLOC_PORT"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                              capture_output=True, text=True, timeout=120, cwd=project, env=env)

    proc = run("--port", str(port))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "rootdir became %s " % tmp_path in proc.stderr and "write --port=%s" % port in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    proc = run("--port=%s" % port)                 # the form that works (no board test runs)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr
