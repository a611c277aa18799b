"""`umalloc deploy` to the virtual board, and every way it can go wrong."""

import os
import time
from pathlib import Path

import pytest
import serial

from umalloc_host import deploy as deployer
from umalloc_host import LIB_DIR, devlink, mpybuild, profiles
from umalloc_host.cli import main

from _fakeports import GarbagePort, virtual_board

UNIX_ARCH = profiles.mpy_arch(profiles.load("unix"))


@pytest.fixture(scope="module")
def vboard():
    with virtual_board() as vb:
        yield vb


def _board_imports_umalloc(port):
    link = devlink.open_link(port)
    try:
        return link.exec(
            "import sys\nfor k in list(sys.modules):\n if k.startswith('umalloc'):\n"
            "  del sys.modules[k]\nimport gc\ngc.collect()\nimport umalloc\na = umalloc.Arena(8192)\n"
            "p = a.malloc(1000)\na.view(p)[:2] = b'ok'\nprint(bytes(a.view(p)[:2]).decode(),"
            " umalloc.__file__, type(a.malloc).__name__)\na.free(p)\na.check()").split()
    finally:
        link.close()


def _tree(root, sub):
    folder = os.path.join(root, sub)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else None


def test_deploy_mpy_then_import_on_the_board(vboard, capsys):
    assert main(["deploy", "--port", vboard.port]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "board: unix (detected" in out and "verified" in out
    names = _tree(vboard.root, "lib/umalloc")
    assert names == sorted([s.stem + ".mpy" for s in mpybuild.sources()] + ["native"])
    # the C core for the board's arch only, byte for byte the committed one
    assert _tree(vboard.root, "lib/umalloc/native") == [UNIX_ARCH]
    native = "umalloc/native/%s/_umcore.mpy" % UNIX_ARCH
    assert (Path(vboard.root) / "lib" / native).read_bytes() == (LIB_DIR / native).read_bytes()
    assert os.path.isfile(os.path.join(vboard.root, "lib", "umalloc_board.py"))
    assert _tree(vboard.root, "lib/umalloc.new") is None     # staging folder swapped in
    for built in mpybuild.build(UNIX_ARCH, progress=None):    # byte for byte what was built
        assert (Path(vboard.root) / "lib" / "umalloc" / built.name).read_bytes() == built.read_bytes()
    word, where, malloc = _board_imports_umalloc(vboard.port)
    assert word == "ok" and where.endswith("lib/umalloc/__init__.mpy")
    assert malloc == "umcore"                                  # the deployed C core runs


def test_deploy_source_replaces_the_mpy_files(vboard, capsys):
    assert main(["deploy", "--port", vboard.port, "--board", "unix", "--source"]) == 0, capsys.readouterr().err
    names = _tree(vboard.root, "lib/umalloc")
    assert names == sorted([s.name for s in mpybuild.sources()] + ["native"])   # no stale .mpy left over
    word, where, malloc = _board_imports_umalloc(vboard.port)
    assert word == "ok" and where.endswith("lib/umalloc/__init__.py")


def test_deploy_with_app_installs_boot_and_main(vboard, capsys):
    assert main(["deploy", "--port", vboard.port, "--app"]) == 0, capsys.readouterr().err
    for name in ("boot.py", "main.py"):
        assert os.path.isfile(os.path.join(vboard.root, name))


def test_wrong_board_for_the_device_writes_nothing(vboard, capsys):
    before = _tree(vboard.root, "lib/umalloc")
    assert main(["deploy", "--port", vboard.port, "--board", "pico"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "armv6m" in err and "--board unix" in err
    assert _tree(vboard.root, "lib/umalloc") == before
    assert _tree(vboard.root, "lib/umalloc.new") is None


def test_port_lost_mid_copy_keeps_the_old_install_and_says_so(vboard):
    deployer.deploy(vboard.port, board="unix", mode="mpy", progress=None)
    before = _tree(vboard.root, "lib/umalloc")
    real_write = devlink.write_file
    calls = []

    def failing_write(link, path, data, chunk=512):
        calls.append(path)
        if len(calls) == 3:
            raise devlink.LinkLost("lost %s while talking to the board (unplugged)" % link.port)
        return real_write(link, path, data, chunk)

    devlink.write_file = failing_write
    try:
        with pytest.raises(devlink.LinkLost) as err:
            deployer.deploy(vboard.port, board="unix", mode="py", progress=None)
    finally:
        devlink.write_file = real_write
    msg = str(err.value)
    assert "previous :lib/umalloc untouched" in msg and ":lib/umalloc.new" in msg
    assert _tree(vboard.root, "lib/umalloc") == before          # still the complete .mpy set
    assert len(_tree(vboard.root, "lib/umalloc.new")) == 2      # the partial copy, as reported
    assert _board_imports_umalloc(vboard.port)[0] == "ok"


def test_busy_port_says_close_the_other_program(vboard, capsys):
    holder = serial.Serial(vboard.port, exclusive=True)
    try:
        assert main(["deploy", "--port", vboard.port]) == 2
    finally:
        holder.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "close any other program" in err


def test_no_port_says_how_to_find_one(capsys, monkeypatch, tmp_path):
    from umalloc_host import serialsource
    monkeypatch.setattr(serialsource, "VBOARD_PORT_FILE", tmp_path / "none")   # no vboard running
    assert main(["deploy"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "umalloc devices" in err and "umalloc vboard" in err


def test_nonexistent_port(capsys):
    assert main(["deploy", "--port", "/dev/ttyNOPE9", "--board", "pico"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err


def test_unknown_board(capsys):
    assert main(["deploy", "--port", "/dev/ttyNOPE9", "--board", "arduino"]) == 2
    assert "known boards: esp32, pico, qemu, unix" in capsys.readouterr().err


def test_device_that_is_not_micropython(capsys):
    with GarbagePort() as dev:
        started = time.monotonic()
        assert main(["deploy", "--port", dev.port, "--board", "pico"]) == 2
        took = time.monotonic() - started
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no MicroPython raw REPL answered" in err
    assert took < devlink.RAW_REPL_TIMEOUT + 5
    assert b"\x01" in dev.received          # it was asked for the raw REPL (Ctrl-A)


def test_deploy_with_ampy(vboard, capsys):
    assert main(["deploy", "--port", vboard.port, "--ampy"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "via ampy" in out and "verified" in out
    assert _tree(vboard.root, "lib/umalloc") == sorted([s.stem + ".mpy" for s in mpybuild.sources()]
                                                       + ["native"])
    assert _tree(vboard.root, "lib/umalloc/native/" + UNIX_ARCH) == ["_umcore.mpy"]


class _CtrlCMidFile:
    """A link where the user presses Ctrl-C while the second chunk of a file is on its way."""

    name = "fake"

    def __init__(self):
        self.sent, self.interrupted = [], 0

    def exec(self, code, on_output=None, timeout=10):
        self.sent.append(code)
        if len(self.sent) == 3:
            raise KeyboardInterrupt
        return ""

    def interrupt(self):
        self.interrupted += 1


def test_ctrl_c_mid_file_stops_the_board_instead_of_waiting_for_it():
    # `deploy --ampy` hung for ever after Ctrl-C: closing the half-written file was one more
    # exec, and ampy waits without a timeout for a board still reading the cut command.
    link = _CtrlCMidFile()
    with pytest.raises(KeyboardInterrupt):
        devlink.write_file(link, "lib/umalloc.new/x.mpy", bytes(2000), chunk=512)
    assert len(link.sent) == 3 and link.interrupted == 1     # open, one chunk, the cut one


def test_board_vanishing_mid_copy_is_reported(tmp_path):
    """The real thing: the port disappears (the virtual board is stopped) after two files."""
    from umalloc_host.vboard import VirtualBoard
    vb = VirtualBoard(root=str(tmp_path)).start()
    seen = []

    def progress(line):
        seen.append(line)
        if sum("->" in l and "umalloc.new" in l for l in seen) == 2:
            vb.stop()

    try:
        started = time.monotonic()
        with pytest.raises(devlink.LinkLost) as err:
            deployer.deploy(vb.port, board="unix", mode="py", progress=progress)
        assert time.monotonic() - started < 30
    finally:
        vb.stop()
    msg = str(err.value)
    assert "lost" in msg and ":lib/umalloc.new" in msg and "run `umalloc deploy` again" not in msg
    assert _tree(str(tmp_path), "lib/umalloc") is None          # nothing was swapped in
    assert len(_tree(str(tmp_path), "lib/umalloc.new")) == 2     # the partial copy it names


class _ProbeOnly:
    """A link whose device answers only the probe: for the refusal rules, which need no more."""

    name = "fake"

    def __init__(self, platform, impl, tag, version="3.4.0; MicroPython v1.20.0"):
        self.reply = repr((platform, impl, tag, version))
        self.sent = []

    def exec(self, code, on_output=None, timeout=10):
        self.sent.append(code)
        return self.reply + "\r\n"


def _built(arch):
    return mpybuild.build(arch, progress=None)


def test_refuses_an_older_mpy_format_before_writing():
    from umalloc_host import profiles
    from umalloc_host.errors import UserError
    link = _ProbeOnly("rp2", "micropython", 6 | 2 << 8 | 4 << 10)      # v6.2, armv6m
    with pytest.raises(UserError, match=r"loads \.mpy v6\.2, mpy-cross makes v6\.3.*--source"):
        deployer.check_device(link, profiles.load("pico"), "mpy", _built("armv6m"))
    assert len(link.sent) == 1                                          # only the probe


def test_refuses_circuitpython_and_names_the_right_board():
    from umalloc_host import profiles
    from umalloc_host.errors import UserError
    with pytest.raises(UserError, match="circuitpython, not MicroPython"):
        deployer.check_device(_ProbeOnly("RP2040", "circuitpython", 0), profiles.load("pico"),
                              "py")
    esp = _ProbeOnly("esp32", "micropython", 6 | 3 << 8 | 10 << 10)
    with pytest.raises(UserError, match="runs xtensawin code, which cannot load --board pico's "
                       "armv6m code: pass --board esp32"):
        deployer.check_device(esp, profiles.load("pico"), "mpy", _built("armv6m"))
    assert deployer.detect_board(esp) == "esp32"
    assert deployer.detect_board(_ProbeOnly("rp2", "micropython", 6 | 3 << 8 | 4 << 10)) == "pico"


def test_redeploy_while_the_boot_app_is_reporting():
    """A board running main.py's Reporter (frames every second) still takes a deploy."""
    from umalloc_host.vboard import VirtualBoard
    with VirtualBoard() as vb:
        deployer.deploy(vb.port, board="unix", with_app=True, progress=None)
        with serial.Serial(vb.port, timeout=0.2) as s:
            s.write(b"\r\x02")                  # friendly REPL, then soft reset: main.py runs
            time.sleep(0.3)
            s.read(4096)
            s.write(b"\x04")
            time.sleep(1.5)
            assert b"@UM1 " in s.read(8192)     # the app is reporting
        info = deployer.deploy(vb.port, board="unix", mode="py", progress=None)
        assert info["file"].endswith("lib/umalloc/__init__.py")


def test_thumb_boards_load_older_thumb_code_as_micropython_does():
    """Issue 10, item 3: MicroPython's MPY_FEATURE_ARCH_TEST, not an exact match."""
    from umalloc_host.errors import UserError
    assert profiles.loads_on("armv6m", "armv7em") and profiles.loads_on("armv6m", "armv7m")
    assert profiles.loads_on("armv7m", "armv7emdp") and profiles.loads_on(None, "xtensawin")
    assert not profiles.loads_on("armv7em", "armv6m")          # newer code, older core
    assert not profiles.loads_on("armv6m", "xtensawin") and not profiles.loads_on("x64", "x86")
    stm32 = _ProbeOnly("pyboard", "micropython", 6 | 3 << 8 | 7 << 10)    # armv7emsp
    info = deployer.check_device(stm32, profiles.load("pico"), "mpy", _built("armv6m"))
    assert info["platform"] == "pyboard"                       # accepted, nothing refused
    assert deployer.detect_board(stm32) == "pico"              # a profile whose code it loads
    m0 = _ProbeOnly("rp2", "micropython", 6 | 3 << 8 | 4 << 10)
    with pytest.raises(UserError, match="runs armv6m code, which cannot load"):
        deployer.check_device(m0, profiles.load("pico"), "mpy", _built("armv7em"))
    qemu_m3 = _ProbeOnly("qemu", "micropython", 6 | 3 << 8 | 5 << 10)    # armv7m
    assert deployer.detect_board(qemu_m3) == "qemu"
    with pytest.raises(UserError, match="cannot tell which board"):
        deployer.detect_board(_ProbeOnly("webassembly", "micropython", 6))
