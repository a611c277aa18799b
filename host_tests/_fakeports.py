"""Serial ports for the deploy/demo tests: the virtual board, and a pty that is not MicroPython."""

import os
import pty
import select
import threading
import tty


def virtual_board():
    """The project's VirtualBoard (a context manager with .port and .root)."""
    from umalloc_host.vboard import VirtualBoard
    return VirtualBoard()


class GarbagePort:
    """A pty whose other end answers every write with noise, never a raw REPL prompt."""

    def __init__(self, reply=b"AT+OK? \xff\xfe garbage\r\n"):
        self._reply = reply
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = False
        self.received = bytearray()
        self._thread = threading.Thread(target=self._answer, daemon=True)

    def _answer(self):
        while not self._stop:
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self._master, 1024)
                self.received += data
                os.write(self._master, self._reply)
            except OSError:
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join(2)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
