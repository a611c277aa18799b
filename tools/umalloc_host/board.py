"""A handle on a MicroPython board (or the virtual board) over serial, on mpremote's transport.

    with Board("/dev/ttyACM0") as b:
        b.exec("import umalloc")
        b.eval("umalloc.stats()")          # -> dict, via repr + ast.literal_eval

The raw REPL itself is mpremote's (SerialTransport); this module adds what a
test harness needs on top: an overall timeout per call (mpremote only has one
between characters, so a loop that prints forever would never time out), and
recovery from a hung device — Ctrl-C, then a soft reset — so the next call works.
"""

import ast
import codecs
import contextlib
import errno
import io
import os
import stat
import time
from pathlib import Path

from .errors import UserError

RAW_REPL_TIMEOUT = 5.0   # a MicroPython board answers Ctrl-A well within this
READ_POLL = 1.0          # the longest a single serial read may block


class DeviceError(UserError):
    """Code run on the device raised; str() and .traceback are the MicroPython traceback."""

    def __init__(self, traceback_text, output=""):
        self.traceback = traceback_text.strip()
        self.output = output
        super().__init__(self.traceback or "the device reported an error without a traceback")

    @property
    def exception_line(self):
        """Last line of the traceback, e.g. 'MemError: ...'."""
        lines = self.traceback.splitlines()
        return lines[-1] if lines else ""


class BoardTimeout(DeviceError):
    """The device did not finish within the timeout; it has been interrupted and reset."""

    def __init__(self, seconds, output=""):
        self.seconds = seconds
        super().__init__("no answer within %.1f s (code still running?); the board was "
                         "interrupted with Ctrl-C and soft-reset" % seconds, output)


class LinkLost(UserError):
    """The port went away or stopped answering in the middle of a session."""


def not_micropython(port):
    return UserError("no MicroPython raw REPL answered on %s within %.0f s: is it a "
                     "MicroPython board (flash it with `umalloc flash`), the right port "
                     "(`umalloc devices`), and is no program on it ignoring Ctrl-C?"
                     % (port, RAW_REPL_TIMEOUT))


class PortBusy(UserError):
    """The port exists and is a device, but opening it failed: another program may hold it."""


def not_a_port(port):
    """The one-line error when `port` cannot be a serial port (missing, a folder, a file), else None."""
    if "://" in port:          # pyserial URLs (socket://, rfc2217://) are checked when opened
        return None
    if not os.path.exists(port):
        return UserError("port %s does not exist: list boards with `umalloc devices`, or start "
                         "the virtual board with `umalloc vboard` and use the port it prints" % port)
    mode = os.stat(port).st_mode
    kind = ("a folder" if stat.S_ISDIR(mode) else "a regular file" if stat.S_ISREG(mode)
            else None if stat.S_ISCHR(mode) else "not a device")
    if kind is None:
        return None
    return UserError("%s is %s, not a serial port: give the board's port (`umalloc devices` "
                     "lists them, e.g. /dev/ttyACM0)" % (port, kind))


def open_error(port, exc):
    problem = not_a_port(port)
    if problem is not None:
        return problem
    if getattr(exc, "errno", None) == errno.ENOTTY or "Inappropriate ioctl" in str(exc):
        return UserError("%s is a device but not a serial port: give the board's port "
                         "(`umalloc devices` lists them, e.g. /dev/ttyACM0)" % port)
    return PortBusy("cannot open %s (%s): close any other program using it (a terminal, "
                     "mpremote, Thonny) and try again" % (port, str(exc).strip() or type(exc).__name__))


class Board:
    """A MicroPython device on `port`, kept in the raw REPL between calls."""

    name = "mpremote"     # the transport underneath, as deploy reports it

    def __init__(self, port, baud=115200, timeout=10.0):
        import serial
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport
        self.port = port
        self.timeout = timeout
        self._link_errors = (TransportError, serial.SerialException, OSError)
        try:
            self._t = SerialTransport(port, baudrate=baud, timeout=READ_POLL)
        except self._link_errors as exc:
            raise open_error(port, exc) from None
        try:
            self._enter_raw(soft_reset=False, tries=2)
        except UserError:
            self._close_port()
            raise

    # -- the raw REPL, via mpremote --

    def _enter_raw(self, soft_reset, tries=1):
        # A board that is just booting (an ESP32 resets when the port opens, the
        # virtual board restarts) can swallow the first Ctrl-A: on opening, try twice.
        limits = (1.5, RAW_REPL_TIMEOUT - 1.5) if tries > 1 else (RAW_REPL_TIMEOUT,)
        for attempt, limit in enumerate(limits):
            try:
                with contextlib.redirect_stdout(io.StringIO()):   # mpremote prints raw bytes
                    self._t.enter_raw_repl(soft_reset=soft_reset, timeout_overall=limit)
                return
            except self._link_errors:
                if attempt == len(limits) - 1:
                    raise not_micropython(self.port) from None

    def _read_to_eof(self, deadline, on_output=None):
        """(bytes up to the next 0x04 — the raw REPL's end marker, whether it came in time).

        Our own loop, not mpremote's read_until: that one only checks its
        overall timeout while the line is silent.
        """
        serial = self._t.serial
        data = bytearray()
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while time.monotonic() < deadline:
            # One byte at a time: what follows the marker belongs to mpremote.
            byte = serial.read(1)
            if not byte:
                continue
            if byte == b"\x04":
                return bytes(data), True
            data += byte
            if on_output:
                text = decoder.decode(byte)
                if text:
                    on_output(text)
        return bytes(data), False

    def exec(self, code, on_output=None, timeout=None):
        """Run code on the device; returns its printed output (str).

        on_output(str) receives the output as it arrives.  Raises DeviceError
        (with the device's traceback) if the code raised, BoardTimeout if it is
        still running after `timeout` seconds (default: the board's timeout).
        """
        __tracebackhide__ = True    # pytest shows the device's traceback, not this frame
        timeout = self.timeout if timeout is None else timeout
        try:
            self._t.exec_raw_no_follow(code)
            deadline = time.monotonic() + timeout
            out, finished = self._read_to_eof(deadline, on_output)
            err = b""
            if finished:
                err, finished = self._read_to_eof(deadline)
        except self._link_errors as exc:
            raise LinkLost("lost %s while talking to the board (%s): check the cable / that "
                           "the virtual board still runs, then try again" % (self.port, exc)) from None
        if not finished:
            self.recover()
            raise BoardTimeout(timeout, out.decode("utf-8", "replace"))
        text = out.decode("utf-8", "replace")
        if err:
            raise DeviceError(err.decode("utf-8", "replace"), text)
        return text

    def eval(self, expr, timeout=None):
        """The value of a Python expression on the device (it must have a literal repr)."""
        __tracebackhide__ = True
        text = self.exec("print(repr(%s))" % expr, timeout=timeout).strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValueError("the device's repr of %s is not a Python literal: %r" % (expr, text)) from None

    def interrupt(self):
        """Send Ctrl-C (twice, like mpremote) to stop running code."""
        self._t.serial.write(b"\r\x03")
        time.sleep(0.05)
        self._t.serial.write(b"\x03")

    def recover(self):
        """After a timeout: interrupt, then soft-reset back to a clean raw REPL."""
        self.interrupt()
        time.sleep(0.2)
        self.reset()

    def reset(self):
        """Soft reset (Ctrl-D): fresh interpreter and heap; stays in the raw REPL."""
        self._enter_raw(soft_reset=True)

    def skip_app_boot(self):
        """Have the next soft reset run `deploy --app`'s boot.py without its arena (64 KB of
        a Pico's 192 KB heap): /umalloc_skipboot, which firmware/boot.py deletes, used up."""
        self.exec("import os\nif 'boot.py' in os.listdir('/'):\n"
                  " open('/umalloc_skipboot', 'w').close()")

    # -- files --

    def fs_put(self, local, remote):
        """Copy a local file to `remote` on the device, creating parent folders."""
        data = Path(local).read_bytes()
        folders = remote.strip("/").split("/")[:-1]
        lead = "/" if remote.startswith("/") else ""
        paths = [lead + "/".join(folders[:i + 1]) for i in range(len(folders))]
        if paths:
            self.exec("import os\nfor p in %r:\n try:\n  os.mkdir(p)\n except OSError:\n  pass"
                      % (paths,))
        self._fs(lambda: self._t.fs_writefile(remote, data, chunk_size=1024), remote)

    def fs_ls(self, path=""):
        """Sorted names in a folder on the device."""
        return sorted(entry.name for entry in self._fs(lambda: self._t.fs_listdir(path), path))

    def _fs(self, op, path):
        from mpremote.transport import TransportError
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return op()
        except TransportError as exc:
            raise DeviceError("%s: %s" % (path, exc)) from None
        except OSError as exc:   # mpremote turns device errors into OSError(errno)
            raise DeviceError("%s: %s" % (path, exc)) from None

    # -- reports --

    def frames(self, timeout, code=None):
        """Yield decoded report frames (dicts) seen on the serial line for `timeout` seconds.

        With `code`, that code is started first and the iterator ends when it
        finishes (or is interrupted and the board reset when `timeout` runs out).
        Non-frame lines are skipped; damaged frames raise umalloc.frame.FrameError.
        """
        from umalloc import frame
        deadline = time.monotonic() + timeout
        if code is not None:
            self._t.exec_raw_no_follow(code)
        serial = self._t.serial
        line = bytearray()
        finished = False
        while time.monotonic() < deadline:
            # Byte by byte: after the program's end marker the bytes belong to mpremote.
            byte = serial.read(1)
            if not byte:
                continue
            if byte == b"\x04" and code is not None:
                finished = True
                break
            if byte == b"\n":
                decoded = frame.decode(line.decode("utf-8", "replace").strip())
                line.clear()
                if decoded is not None:
                    yield decoded
            else:
                line += byte
        if code is not None:
            if not finished:
                self.recover()
                return
            err, _ = self._read_to_eof(time.monotonic() + self.timeout)
            if err:
                raise DeviceError(err.decode("utf-8", "replace"))

    # -- lifetime --

    def _close_port(self):
        try:
            self._t.close()
        except Exception:   # the port may already be gone
            pass

    def close(self):
        """Leave the raw REPL (friendly prompt for the next user) and release the port."""
        t = getattr(self, "_t", None)
        if t is None:
            return
        try:
            if t.in_raw_repl:
                t.exit_raw_repl()
        except Exception:
            pass
        self._close_port()
        self._t = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
