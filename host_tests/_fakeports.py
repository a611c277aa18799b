"""Serial ports for the deploy/demo tests: the virtual board, and a pty that is not MicroPython."""

import os
import pty
import select
import subprocess
import tempfile
import threading
import tty


def virtual_board():
    """Engineer A's VirtualBoard (a context manager with .port and .root).

    Until umalloc_host.vboard exists in the checkout, a plain MicroPython-on-a-pty
    bridge stands in so these tests still talk to a real MicroPython over a pty.
    """
    try:
        from umalloc_host.vboard import VirtualBoard
    except ImportError:
        return PtyMicroPython()
    return VirtualBoard()


class PtyMicroPython:
    """The unix port's REPL on one pty, bridged to a second pty whose path is .port."""

    def __init__(self, heap="192k"):
        from umalloc_host.unixport import find_micropython
        self.root = tempfile.mkdtemp(prefix="umalloc-pty-")
        self._dev_m, dev_s = pty.openpty()
        self._host_m, self._host_s = pty.openpty()
        tty.setraw(dev_s)
        tty.setraw(self._host_s)
        self.port = os.ttyname(self._host_s)
        env = dict(os.environ, MICROPYPATH="lib:.frozen")
        self._proc = subprocess.Popen([find_micropython(), "-X", "heapsize=" + heap, "-i"],
                                      stdin=dev_s, stdout=dev_s, stderr=dev_s, cwd=self.root,
                                      env=env)
        os.close(dev_s)
        self._thread = threading.Thread(target=self._bridge, daemon=True)
        self._thread.start()

    def _bridge(self):
        while self._proc.poll() is None:
            ready, _, _ = select.select([self._dev_m, self._host_m], [], [], 0.1)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                    os.write(self._host_m if fd == self._dev_m else self._dev_m, data)
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._proc.kill()
        self._proc.wait()
        self._thread.join(2)
        for fd in (self._dev_m, self._host_m, self._host_s):
            os.close(fd)


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
