"""Reporter.start() on firmware with neither machine.Timer nor _thread (issue 10, item 5).

Such firmware exists (MicroPython's qemu port, minimal builds): start() used to raise
OSError there, killing main.py at boot.  It now sends a frame and leaves the reporter
in "poll" mode, where the program's own poll() calls send the frames.
"""

import io
import sys

import umalloc
from umalloc.frame import decode


def test_start_without_timer_or_thread_falls_back_to_poll(monkeypatch):
    monkeypatch.setitem(sys.modules, "machine", None)     # import machine -> ImportError
    monkeypatch.setitem(sys.modules, "_thread", None)     # import _thread -> ImportError
    out = io.StringIO()
    a = umalloc.Arena(4096, partitions=((16, 8),))
    r = umalloc.Reporter(a, period_ms=10_000, stream=out).start()
    assert r.mode == "poll" and r.running
    assert r.sent == 1 and decode(out.getvalue().strip())["arena_size"] == 4096
    assert r.poll() is False                  # period not over: nothing more
    r._last -= 20_000                         # as if 20 s had passed
    assert r.poll() is True and r.sent == 2
    r.stop()
    assert r.mode is None and not r.running
