"""A connection to a MicroPython board's raw REPL for deploy and demo.

Two back ends with the same small interface (exec, eval, write_file, mkdir,
remove_tree, rename, close): mpremote's SerialTransport (default) and
adafruit-ampy's Pyboard (`--ampy`).  Neither is a home-made raw REPL; this
module only turns their exceptions into one-line UserErrors that say what to do.
"""

import ast
import base64
import contextlib
import io
import os

from .errors import UserError

RAW_REPL_TIMEOUT = 5.0   # a MicroPython board answers Ctrl-A in well under a second


class LinkLost(UserError):
    """The port went away or stopped answering in the middle of a session."""


class DeviceError(UserError):
    """Code sent to the device raised; the message is the device's traceback."""

    def __init__(self, traceback_text):
        self.traceback = traceback_text.strip()
        last = self.traceback.splitlines()[-1] if self.traceback else "error"
        super().__init__("the device raised %s" % last)


def _cannot_open(port, exc):
    if not os.path.exists(port) and "://" not in port:
        return UserError("port %s does not exist; list boards with `umalloc devices`, or start "
                         "the virtual board with `umalloc vboard`" % port)
    return UserError("cannot open %s (%s): close any other program using it (a terminal, "
                     "mpremote, Thonny) and check `umalloc devices`" % (port, _short(exc)))


def _short(exc):
    text = str(exc).strip().splitlines()
    return text[-1] if text else exc.__class__.__name__


def _not_micropython(port):
    return UserError("no MicroPython raw REPL answered on %s within %.0f s: is MicroPython "
                     "flashed (`umalloc flash`), is it the right port (`umalloc devices`), or is "
                     "a program on the board ignoring Ctrl-C?" % (port, RAW_REPL_TIMEOUT))


class MpremoteLink:
    """mpremote's SerialTransport, already in the raw REPL."""

    name = "mpremote"

    def __init__(self, port, baud=115200, raw_timeout=RAW_REPL_TIMEOUT):
        import serial
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport
        self._errors = (TransportError, serial.SerialException, OSError)
        self.port = port
        try:
            self._t = SerialTransport(port, baudrate=baud)
        except self._errors as exc:
            raise _cannot_open(port, exc) from None
        # mpremote reads a pty with blocking read(1); a read timeout lets a silent or
        # babbling device fail after raw_timeout instead of hanging for ever.
        self._t.serial.timeout = 0.5
        # Two tries: a board that is just booting (an ESP32 resets when the port opens,
        # the virtual board restarts on an early Ctrl-C) can swallow the first Ctrl-A.
        first = min(1.5, raw_timeout / 2)
        for attempt, limit in enumerate((first, raw_timeout - first)):
            try:
                with contextlib.redirect_stdout(io.StringIO()):   # mpremote prints raw bytes
                    self._t.enter_raw_repl(soft_reset=False, timeout_overall=limit)
                break
            except self._errors:
                if attempt:
                    self.close()
                    raise _not_micropython(port) from None
        # Keep a finite read timeout: a board that stops answering mid-command then
        # fails after exec's timeout (LinkLost) instead of blocking a read for ever.
        self._t.serial.timeout = 1.0

    def exec(self, code, on_output=None, timeout=10):
        """Run code; returns its output (str).  on_output(str) streams it as it arrives."""
        from mpremote.transport import TransportExecError
        consumer = None
        if on_output:
            def consumer(b):
                if b != b"\x04":
                    on_output(b.decode("utf-8", "replace"))
        try:
            out, err = self._t.exec_raw(code, timeout=timeout, data_consumer=consumer)
        except TransportExecError as exc:
            raise DeviceError(exc.error_output) from None
        except self._errors as exc:
            raise LinkLost("lost %s while talking to the board (%s): reconnect it and run the "
                           "command again" % (self.port, _short(exc))) from None
        if err:
            raise DeviceError(err.decode("utf-8", "replace"))
        return out.decode("utf-8", "replace")

    def soft_reset(self, timeout=10):
        """Ctrl-D in the raw REPL: a fresh, unfragmented GC heap (boot.py runs again)."""
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._t.enter_raw_repl(soft_reset=True, timeout_overall=timeout)
        except self._errors as exc:
            raise LinkLost("the board did not come back from a soft reset on %s (%s): reset it "
                           "by hand and try again" % (self.port, _short(exc))) from None

    def interrupt(self):
        """Ctrl-C to the device: stops a running workload (best effort)."""
        try:
            self._t.serial.write(b"\x03")
        except Exception:
            pass

    def close(self):
        t, self._t = getattr(self, "_t", None), None
        if t is None:
            return
        try:
            if t.in_raw_repl:
                t.exit_raw_repl()
        except Exception:   # the port may be gone already; closing must not fail
            pass
        try:
            t.close()
        except Exception:
            pass


class AmpyLink:
    """adafruit-ampy's Pyboard (it soft-resets the board when entering the raw REPL)."""

    name = "ampy"

    def __init__(self, port, baud=115200, raw_timeout=RAW_REPL_TIMEOUT):
        import serial
        from ampy.pyboard import Pyboard, PyboardError
        self._errors = (PyboardError, serial.SerialException, OSError)
        self._perr = PyboardError
        self.port = port
        try:
            self._pb = Pyboard(port, baudrate=baud)
        except self._errors as exc:
            raise _cannot_open(port, exc) from None
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._pb.enter_raw_repl()
        except self._errors:
            self.close()
            raise _not_micropython(port) from None

    def exec(self, code, on_output=None, timeout=10):
        consumer = None
        if on_output:
            def consumer(b):
                if b != b"\x04":
                    on_output(b.decode("utf-8", "replace"))
        try:
            out, err = self._pb.exec_raw(code, timeout=timeout, data_consumer=consumer)
        except self._errors as exc:
            raise LinkLost("lost %s while talking to the board (%s): reconnect it and run the "
                           "command again" % (self.port, _short(exc))) from None
        if err:
            raise DeviceError(err.decode("utf-8", "replace"))
        return out.decode("utf-8", "replace")

    def soft_reset(self, timeout=10):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._pb.enter_raw_repl()      # ampy soft-resets on every entry
        except self._errors as exc:
            raise LinkLost("the board did not come back from a soft reset on %s (%s): reset it "
                           "by hand and try again" % (self.port, _short(exc))) from None

    def interrupt(self):
        try:
            self._pb.serial.write(b"\x03")
        except Exception:
            pass

    def close(self):
        pb, self._pb = getattr(self, "_pb", None), None
        if pb is None:
            return
        try:
            pb.exit_raw_repl()
        except Exception:
            pass
        try:
            pb.close()
        except Exception:
            pass


def open_link(port, baud=115200, use_ampy=False, raw_timeout=RAW_REPL_TIMEOUT):
    if not port:
        from .commands.devices import running_vboard
        virtual = running_vboard()
        raise UserError("no --port given: find your board with `umalloc devices`%s" % (
            " (a virtual board is running: --port %s)" % virtual if virtual else
            ", or start the virtual board with `umalloc vboard` and pass the port it prints"))
    return (AmpyLink if use_ampy else MpremoteLink)(port, baud, raw_timeout)


# -- file operations, written once over exec so both back ends behave the same --

def eval_(link, expr):
    return ast.literal_eval(link.exec("print(repr(%s))" % expr).strip())


def mkdirs(link, path):
    link.exec("import os\np=''\nfor d in %r.split('/'):\n p=p+'/'+d if p else d\n"
              " try:\n  os.mkdir(p)\n except OSError:\n  pass" % path)


def remove_tree(link, path):
    """Delete a file or folder tree; no error when it does not exist."""
    link.exec("import os\ndef _rm(p):\n try:\n  m=os.stat(p)[0]\n except OSError:\n  return\n"
              " if m & 0x4000:\n  for e in os.ilistdir(p):\n   _rm(p+'/'+e[0])\n  os.rmdir(p)\n"
              " else:\n  os.remove(p)\n_rm(%r)\ndel _rm" % path)


def rename(link, old, new):
    link.exec("import os\nos.rename(%r, %r)" % (old, new))


def exists(link, path):
    return link.exec("import os\ntry:\n os.stat(%r)\n print(1)\nexcept OSError:\n print(0)"
                     % path).strip() == "1"


def write_file(link, path, data, chunk=512):
    """Write bytes to path on the device in chunks (each chunk one exec).

    Chunks travel base64-encoded when the firmware has binascii (a third bigger
    than the data; repr() of binary .mpy bytes is up to four times bigger).
    """
    try:
        link.exec("_f=open(%r,'wb')\nfrom binascii import a2b_base64 as _d" % path)
        encode = lambda b: "_f.write(_d(%r))" % base64.b64encode(b)   # noqa: E731
    except DeviceError:
        link.exec("_f=open(%r,'wb')" % path)
        encode = lambda b: "_f.write(%r)" % b                         # noqa: E731
    try:
        for i in range(0, len(data), chunk):
            link.exec(encode(bytes(data[i:i + chunk])))
    finally:
        with contextlib.suppress(UserError):
            link.exec("_f.close()\ndel _f")
