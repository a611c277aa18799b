"""Bare-metal MicroPython in QEMU (mps2-an385): what issue 10 found on a no-MMU Cortex-M0+, fixed.

Needs images from `make -C firmware qemu MPY_DIR=<micropython v1.28 checkout> CPU=m0plus`
(and CPU=m3) and qemu-system-arm; without them every test here is skipped, saying so.
The whole serial suite runs on such a board with `pytest -m board --qemu IMAGE host_tests`
(or --port PTY of `umalloc vboard --qemu IMAGE`).
"""

import shutil
import subprocess
import sys

import pytest

from umalloc_host import REPO_ROOT, deploy, frozenalign
from umalloc_host.board import Board
from umalloc_host.errors import UserError
from umalloc_host.qemuboard import QemuBoard

BUILD = REPO_ROOT / "build" / "firmware"
HOW = ("build it with `make -C firmware qemu MPY_DIR=<micropython v1.28 checkout> CPU=%s` "
       "(Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)")


def _image(name, cpu):
    path = BUILD / name / "firmware.elf"
    if not shutil.which("qemu-system-arm"):
        pytest.skip("qemu-system-arm is not installed (Debian: apt install qemu-system-arm)")
    if not path.is_file():
        pytest.skip("no QEMU image %s: %s" % (path.relative_to(REPO_ROOT), HOW % cpu))
    return path


@pytest.fixture
def m0plus():
    with QemuBoard(_image("qemu-m0plus", "m0plus")) as qb:
        yield qb


@pytest.fixture
def m0plus_frozen():
    with QemuBoard(_image("qemu-m0plus-frozen", "m0plus")) as qb:
        yield qb


@pytest.fixture
def m3():
    with QemuBoard(_image("qemu-m3", "m3")) as qb:
        yield qb


def _quiet(_msg):
    pass


def test_frozen_umalloc_frees_on_armv6m(m0plus_frozen):
    """Item 1: frozen native code 4-byte aligned, so the armv6m long jump in free() lands."""
    assert frozenalign.check(BUILD / "qemu-m0plus-frozen") > 0
    with Board(m0plus_frozen.port, timeout=20) as b:
        out = b.exec("import os, sys, umalloc\na = umalloc.Arena(4096, partitions=((16, 8),))\n"
                     "ps = [a.malloc(n) for n in (64, 10, 3000)]\nfor p in ps: a.free(p)\n"
                     "a.check()\nprint(os.uname().machine, sys.implementation._mpy >> 10,"
                     " umalloc.__file__, a.stats()['live_blocks'])")
    machine, arch, where, live = out.rsplit(None, 3)
    assert "Cortex-M0+" in machine and arch == "4" and live == "0"      # 4: armv6m
    assert not where.startswith("/lib")                                 # the frozen copy


def test_frozen_core_refuses_2_aligned_native_code_at_import(tmp_path):
    """The frozen image rebuilt WITHOUT frozenalign's fix (what a port's plain make gives):
    put() used to report a damaged seal and free() ERR_MEM_-61440; now the import of the
    first frozen viper code says why.  With the C core compiled in, `import umalloc` and a
    plain Arena load none: the viper core (CCORE = None) is the first."""
    import os
    image = _image("qemu-m0plus-frozen", "m0plus")
    mpy_dir = os.environ.get("MPY_DIR")
    if not mpy_dir or not os.path.isfile(os.path.join(mpy_dir, "ports", "qemu", "Makefile")):
        pytest.skip("set MPY_DIR to the MicroPython v1.28 checkout the QEMU images were built from")
    build = tmp_path / "unfixed"
    shutil.copytree(image.parent, build, symlinks=True)      # keeps mtimes: only the .c rebuilds
    c_file = build / frozenalign.FROZEN_C
    c_file.write_text(c_file.read_text().replace("aligned (4)))", "aligned (2)))"))
    board = "UMALLOC_M0PLUS"
    done = subprocess.run(["make", "-C", os.path.join(mpy_dir, "ports", "qemu"), "BOARD=" + board,
                           "BOARD_DIR=%s" % (REPO_ROOT / "firmware" / "qemu" / "boards" / board),
                           "BUILD=%s" % build, "FROZEN_MANIFEST=%s" % (REPO_ROOT / "firmware" / "manifest.py"),
                           "USER_C_MODULES=%s" % (REPO_ROOT / "firmware")],   # as make qemu: the C core
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, UMALLOC_BOARD="qemu"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with pytest.raises(UserError):       # the build-side check sees it too
        frozenalign.check(build)
    with QemuBoard(build / "firmware.elf") as qb, Board(qb.port, timeout=20) as b:
        out = b.exec("import umalloc\numalloc._core.CCORE = None\n"
                     "try:\n umalloc.Arena(4096)\n print('imported')\nexcept ImportError as e:\n print(e)")
    assert "frozen native functions start 2-byte aligned" in out and "imported" not in out, out
    assert "make -C firmware" in out and len(out.strip().splitlines()) == 1


_PEEK = ("@micropython.viper\ndef peek(buf, off: int) -> int:\n"
         "    return ptr32(int(ptr8(buf)) + off)[0]\n"
         "buf = bytearray(16)\n")


def test_m0plus_faults_on_unaligned_word_access_like_an_rp2040(m0plus):
    from umalloc_host.errors import UserError
    with Board(m0plus.port, timeout=5) as b:
        b.exec(_PEEK)
        assert b.eval("peek(buf, 4)") == 0                       # aligned: fine
        with pytest.raises(UserError):                            # HardFault: the board hangs
            b.exec("print(peek(buf, 2))", timeout=3)


def test_deploy_onto_frozen_firmware_writes_only_the_config(m0plus_frozen):
    """Item 3: no copy of the package that would then fail on "shadows it"."""
    said = []
    info = deploy.deploy(m0plus_frozen.port, board=None, with_app=True, progress=said.append)
    assert info["files"] == 1 and "(frozen)" in info["file"]
    assert any("frozen into this firmware" in line for line in said), said
    assert any("board: qemu (detected" in line for line in said), said
    assert any("umalloc_board.py frozen in" in line for line in said), said   # make config's
    with Board(m0plus_frozen.port, timeout=20) as b:
        assert "umalloc" not in b.fs_ls("lib") and "umalloc.new" not in b.fs_ls("lib")
        assert {"boot.py", "main.py"} <= set(b.fs_ls("/"))
        b.reset()                                  # boot.py reserves the arena
        assert b.eval("__import__('umalloc').default_arena().stats()['arena_size']") == 65536


def test_m3_board_takes_the_armv6m_mpy_of_board_pico(m3):
    """Item 3: MicroPython's rule -- armv6m .mpy code loads on an armv7m core."""
    info = deploy.deploy(m3.port, board="pico", progress=_quiet)
    assert info["file"].endswith("lib/umalloc/__init__.mpy")
    with Board(m3.port, timeout=20) as b:
        # MicroPython calls every Thumb-2 core without an FPU armv7em (6); armv6m is 4
        assert b.eval("__import__('sys').implementation._mpy >> 10 & 15") == 6
        b.exec("import umalloc\na = umalloc.Arena(8192)\np = a.malloc(100)\na.free(p)\na.check()")
    said = []
    deploy.deploy(m3.port, board=None, progress=said.append)            # and detection works
    assert any("board: qemu (detected" in line for line in said), said


def test_source_deploy_leaves_boot_py_room_for_the_arena(m0plus):
    """Item 3: boot.py takes the arena's 64 KB before importing umalloc from .py source."""
    deploy.deploy(m0plus.port, board="qemu", mode="py", with_app=True, progress=_quiet)
    with Board(m0plus.port, timeout=30) as b:
        b.reset()
        assert b.eval("__import__('umalloc').default_arena().stats()['arena_size']") == 65536


def test_fixture_gives_a_fresh_heap_after_deploy_app(m0plus, tmp_path):
    """Item 4: boot.py's 64 KB arena no longer survives into the tests' soft resets."""
    (tmp_path / "test_fresh.py").write_text(
        "from umalloc_host import deploy\n"
        "def test_install_the_app(board):\n"
        "    deploy.deploy(board.port, board='qemu', with_app=True, link=board, progress=None)\n"
        "    board.reset()\n"
        "    assert board.eval('__import__(\"umalloc\").default_arena() is not None')\n"
        "def test_fresh(umalloc_board):\n"
        "    assert umalloc_board.eval('umalloc.default_arena()') is None\n"
        "    # 100 KB in one piece: more than is left next to a held 64 KB arena and the\n"
        "    # imported .mpy (about 40 KB on armv6m) in a 192 KB heap\n"
        "    umalloc_board.exec('b = bytearray(100 * 1024)')\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--port", m0plus.port, "--board", "qemu", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert "2 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]


def test_bench_runs_on_a_board_deployed_with_app(m0plus):
    """README's order: `deploy --port P --app`, then `bench --port P`.  The bench's phases ran
    next to boot.py's 64 KB arena and stopped on a MemoryError; they skip it now, measure
    `import umalloc` themselves, and the next reset reserves the arena again."""
    from umalloc_host import speedbench
    deploy.deploy(m0plus.port, board="qemu", with_app=True, progress=_quiet)
    out = speedbench.run_board(m0plus.port, reps=1, n=10)
    imports = speedbench.reduce_imports(out)
    assert "preloaded" not in imports and imports["mpy"][1] > 0, out   # not "imported at boot"
    assert "BENCH_DONE speed" in out, out
    with Board(m0plus.port, timeout=30) as b:
        b.reset()
        assert b.eval("__import__('umalloc').default_arena().stats()['arena_size']") == 65536


def test_vboard_qemu_command_runs_the_image_on_a_pty(tmp_path):
    import os
    import signal
    image = _image("qemu-m0plus", "m0plus")
    env = dict(os.environ, UMALLOC_VBOARD_PORT_FILE=str(tmp_path / "vboard.port"))
    proc = subprocess.Popen([sys.executable, "-m", "umalloc_host.cli", "vboard", "--qemu", str(image),
                             "--icount", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env,
                            # a suite run in the background inherits SIGINT ignored: undo that
                            # (else the vboard ignores it and its QEMU outlives the test's kill)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stdout.readline()
        assert first.startswith("QEMU board on /dev/pts/") and "icount shift=4" in first, first
        port = first.split()[3]
        assert (tmp_path / "vboard.port").read_text().strip() == port
        with Board(port, timeout=10) as b:
            assert "Cortex-M0+" in b.eval("__import__('os').uname().machine")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not (tmp_path / "vboard.port").exists()
    assert not os.path.exists(port)                # QEMU is gone, and its pty with it


def test_killed_vboard_takes_its_qemu_with_it(tmp_path):
    # SIGKILL gives the vboard no chance to stop QEMU: the kernel's parent-death signal does
    import os
    import signal
    import time
    image = _image("qemu-m0plus", "m0plus")
    proc = subprocess.Popen([sys.executable, "-m", "umalloc_host.cli", "vboard", "--qemu", str(image)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("QEMU board on /dev/pts/"), first + proc.stderr.read()
        port = first.split()[3]
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while os.path.exists(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not os.path.exists(port), "QEMU outlived its killed vboard"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_vboard_qemu_command_errors_are_one_line(tmp_path):
    bogus = tmp_path / "firmware.elf"
    bogus.write_bytes(b"not an elf")
    for argv, said in ((["--qemu", str(tmp_path / "none.elf")], "make -C firmware qemu"),
                       (["--qemu", str(bogus)], "not an ARM ELF image"),
                       (["--icount", "3"], "only applies to a QEMU board")):
        done = subprocess.run([sys.executable, "-m", "umalloc_host.cli", "vboard"] + argv,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and said in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
