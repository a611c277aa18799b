"""A MicroPython firmware image running in QEMU, its UART on a pty: a bare-metal board in the loop.

    with QemuBoard("build/firmware/qemu-m0plus/firmware.elf") as qb:
        subprocess.run(["mpremote", "connect", qb.port, "exec", "print(1)"])

The images come from `make -C firmware qemu MPY_DIR=... CPU=m0plus|m3` (MicroPython's
qemu port for the mps2-an385 machine, with the board in firmware/qemu/boards).  The
firmware itself does everything a board does (soft reset, raw REPL, Ctrl-C, its
littlefs RAM disk), so unlike the unix-port virtual board nothing is relayed:
QEMU's `-serial pty` is the port.  `icount` makes QEMU's clock count instructions
(`-icount shift=N`: one instruction = 2**N ns), so ticks_us() measures work, not
how busy the host is.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .errors import UserError

QEMU = "qemu-system-arm"
MACHINE = "mps2-an385"
START_TIMEOUT = 10.0
_PTY_LINE = re.compile(r"char device redirected to (/dev/pts/\d+)")


def _session_dying_with(parent_is_main_thread):
    """preexec_fn for QEMU: its own session (a Ctrl-C at the terminal is ours to handle), and on
    Linux a SIGTERM when we die, so a SIGKILL'd `umalloc vboard` leaves no QEMU spinning.

    Only when started from the main thread: the kernel sends it when the forking thread ends.
    """
    prctl = None
    if parent_is_main_thread and sys.platform.startswith("linux"):
        try:
            import ctypes
            prctl = ctypes.CDLL(None, use_errno=True).prctl   # looked up before the fork
        except (OSError, AttributeError):
            prctl = None

    def start():
        os.setsid()
        if prctl is not None:
            prctl(1, signal.SIGTERM, 0, 0, 0)                # PR_SET_PDEATHSIG

    return start


def find_qemu():
    """Path of qemu-system-arm, or a UserError saying how to install it."""
    exe = shutil.which(QEMU)
    if not exe:
        raise UserError("%s not found: install it (Debian/Ubuntu: sudo apt install qemu-system-arm)"
                        % QEMU)
    return exe


def check_image(image):
    """The image path if it is an ARM ELF file; a UserError saying how to build one otherwise."""
    path = Path(image)
    if not path.is_file():
        raise UserError("QEMU image %s not found: build one with `make -C firmware qemu "
                        "MPY_DIR=/path/to/micropython CPU=m0plus` (see firmware/README.md)" % image)
    head = path.read_bytes()[:20]
    if head[:4] != b"\x7fELF" or head[18:20] != b"\x28\x00":      # e_machine 40 = ARM
        raise UserError("%s is not an ARM ELF image: pass the firmware.elf that `make -C firmware "
                        "qemu` builds" % image)
    return path


class QemuBoard:
    """qemu-system-arm running `image`; `.port` is the pty to give mpremote/ampy/Board."""

    def __init__(self, image, icount=None, machine=MACHINE):
        self.image = check_image(image)
        if icount is not None and (not isinstance(icount, int) or not 0 <= icount <= 10):
            raise UserError("--icount %r: give a shift from 0 to 10 (one instruction = 2**shift ns)"
                            % (icount,))
        self.icount = icount
        self.machine = machine
        self.port = None
        self._proc = None
        self._log = []
        self._reader = None

    def command(self, exe=QEMU):
        cmd = [exe, "-machine", self.machine, "-nographic", "-monitor", "null", "-semihosting",
               "-serial", "pty", "-kernel", str(self.image)]
        if self.icount is not None:
            cmd += ["-icount", "shift=%d" % self.icount]
        return cmd

    def start(self):
        if self._proc:
            return self
        exe = find_qemu()
        self._proc = subprocess.Popen(self.command(exe), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, preexec_fn=_session_dying_with(
                                          threading.current_thread() is threading.main_thread()))
        port_found = threading.Event()

        def read_output():
            # QEMU names the pty on its first line; keep reading so it never blocks on a full pipe.
            for line in self._proc.stdout:
                self._log.append(line.rstrip())
                del self._log[:-20]
                match = _PTY_LINE.search(line)
                if match and not self.port:
                    self.port = match.group(1)
                    port_found.set()
            port_found.set()

        self._reader = threading.Thread(target=read_output, name="qemu-output", daemon=True)
        self._reader.start()
        port_found.wait(START_TIMEOUT)
        if not self.port:
            said = " | ".join(self._log[-3:]) or "no output"
            self.stop()
            raise UserError("QEMU did not start %s (%s): check that it is an image for %s"
                            % (self.image, said, self.machine))
        return self

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self):
        return self._proc.pid if self._proc else None

    def stop(self):
        """Stop QEMU; no process is left behind."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, 15)
            except OSError:
                proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._reader:
            self._reader.join(2)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
