"""The connection deploy and demo use: Board (mpremote's transport) or, with
`--ampy`, adafruit-ampy's Pyboard behind the same small interface (exec,
reset, interrupt, close), plus file operations written once over exec.
Neither is a home-made raw REPL.
"""

import ast
import base64
import contextlib
import io

from .board import (Board, DeviceError, LinkLost, RAW_REPL_TIMEOUT, not_micropython,
                    open_error)
from .errors import UserError


def _short(exc):
    text = str(exc).strip().splitlines()
    return text[-1] if text else exc.__class__.__name__


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
            raise open_error(port, exc) from None
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._pb.enter_raw_repl()
        except self._errors:
            self.close()
            raise not_micropython(port) from None

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

    def reset(self, timeout=10):
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
    if use_ampy:
        return AmpyLink(port, baud, raw_timeout)
    return Board(port, baud)


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
    except KeyboardInterrupt:
        # Ctrl-C may have cut a command in half: the board would wait for its end and never
        # answer a close (ampy waits for ever). Stop it instead; the next soft reset closes _f.
        with contextlib.suppress(Exception):
            link.interrupt()
        raise
    except BaseException:
        with contextlib.suppress(UserError):
            link.exec("_f.close()\ndel _f")
        raise
    link.exec("_f.close()\ndel _f")
