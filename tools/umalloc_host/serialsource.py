"""Lines from a serial port that survive an unplug: reconnect when the port comes back.

serial_lines() yields text lines, `None` when nothing arrived for a moment (so the
consumer can refresh its screen and check its clock) and `monitor.Status` items
when the connection drops or returns.  It never raises for a vanished port.
"""

import os
import time
from pathlib import Path

from .board import PortBusy, open_error
from .monitor import LineSplitter, Status

VBOARD_PORT_FILE = Path(os.environ.get("UMALLOC_VBOARD_PORT_FILE",
                                       Path.home() / ".cache" / "umalloc" / "vboard.port"))


def vboard_port():
    """The pty of a running `umalloc vboard` (it writes VBOARD_PORT_FILE), or None."""
    try:
        port = VBOARD_PORT_FILE.read_text().strip()
    except OSError:
        return None
    return port if port and os.path.exists(port) else None


def _open(port, baud):
    import serial
    if "://" in port:
        return serial.serial_for_url(port, baud, timeout=0.1)
    return serial.Serial(port, baud, timeout=0.1)


# Ctrl-C twice (stop a running program), Ctrl-B (leave the raw REPL), Ctrl-D (soft reset
# from the friendly REPL, which runs boot.py and main.py like a power-up).
SOFT_RESET = b"\r\x03\x03\x02\x04"


def serial_lines(port, baud=115200, retry_s=0.5, opener=_open, sleep=time.sleep, reset=False):
    """Yield lines from `port` for ever, across unplug/replug; Ctrl-C ends it.

    reset: soft-reset the board once after the first connect, so main.py runs.
    """
    import serial
    splitter = LineSplitter()
    ser = None
    told_down = False
    first = True
    pending_reset = reset
    while True:
        if ser is None:
            try:
                ser = opener(port, baud)
            except (serial.SerialException, OSError, ValueError) as exc:
                if first:
                    # Not a port at all (missing, a folder, a file): retrying cannot help.
                    problem = open_error(port, exc)
                    if not isinstance(problem, PortBusy):
                        raise problem
                if not told_down:
                    yield Status("disconnected from %s (%s); retrying every %.1f s"
                                 % (port, str(exc).strip() or type(exc).__name__, retry_s))
                    told_down = True
                first = False
                sleep(retry_s)
                yield None
                continue
            told_down = False
            yield Status("connected to %s at %d baud" % (port, baud))
            if pending_reset:
                pending_reset = False
                try:
                    ser.write(SOFT_RESET)
                except (serial.SerialException, OSError):
                    pass                    # the read below notices a dead port
                yield Status("soft reset sent: boot.py and main.py run again")
            first = False
        try:
            data = ser.read(ser.in_waiting or 1)
        except (serial.SerialException, OSError, TypeError) as exc:
            rest = splitter.flush()
            if rest:
                yield rest
            try:
                ser.close()
            except Exception:
                pass
            ser = None
            yield Status("disconnected from %s (%s); retrying every %.1f s"
                         % (port, str(exc).strip() or type(exc).__name__, retry_s))
            told_down = True
            continue
        if not data:
            yield None
            continue
        for line in splitter.feed(data):
            yield line
