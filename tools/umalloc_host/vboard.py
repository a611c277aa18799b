"""The virtual board: the MicroPython unix port behind a pty that acts like a board's USB serial.

    with VirtualBoard(heap="192k") as vb:
        subprocess.run(["mpremote", "connect", vb.port, "exec", "print(1)"])

Why a relay and not the unix port on the pty directly: the unix port already
speaks the raw REPL (Ctrl-A, Ctrl-B, Ctrl-D, raw-paste) when its stdin is a
terminal, but it differs from a board in three ways this module hides:

* Ctrl-D at an empty prompt (a soft reset) makes the process exit.  We restart
  it, print ``MPY: soft reboot`` like a board, and if it was in the raw REPL put
  the new process back into the raw REPL, so mpremote's soft reset, ``mpremote
  run`` and ampy (which always soft-resets) work.
* A Ctrl-C byte does not interrupt running code (boards scan their UART for it).
  We send SIGINT instead, but only while the child runs code (it is not blocked
  reading its stdin, /proc/PID/syscall) with its Ctrl-C handler installed
  (/proc/PID/status; micropython.kbd_intr(-1) removes it, and then 0x03 is data):
  otherwise SIGINT would kill it, so the byte is passed on as data.
* A crash or kill of the process is a "hard reset": it restarts with its banner.
* Its output ends lines with a bare ``\n`` (its terminal is raw); a board's USB
  serial sends ``\r\n``, and terminals (``mpremote repl``) staircase without the
  ``\r``.  In the friendly REPL we add it.  The raw REPL is passed through byte
  for byte: there output may be binary (mpremote's mount protocol), and tools
  accept either line ending.

The user/tool gets the slave side of an OUTER pty (we keep a slave fd open so the
path stays valid across restarts); each micropython process runs on its own
INNER pty, and a thread relays bytes between the two.  The board's filesystem is
the sandbox folder `root`, mounted as the VFS root "/", with /lib on sys.path, so
``mpremote cp -r umalloc :lib/`` lands where ``import umalloc`` finds it.
At start a small boot shim (run with ``-c`` and MICROPYINSPECT=1 so the REPL
follows) sets sys.path like a board's and runs boot.py (and main.py when the
board comes up in the friendly REPL), as a board does after reset.
"""

import fcntl
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty

from .errors import UserError
from .unixport import DEFAULT_HEAP, find_micropython

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
FRIENDLY_PROMPT = b">>> "
SOFT_REBOOT = b"MPY: soft reboot\r\n"
START_TIMEOUT = 10.0
OUTPUT_STALL = 2.0      # seconds output may wait for a reader before it is dropped
FIRST_START = 3.0       # seconds start() waits for the first prompt
STARTUP_GRACE = 1.0     # seconds after a start before a Ctrl-C means "interrupt main.py"
_DEBUG = bool(os.environ.get("UMALLOC_VBOARD_DEBUG"))   # log the serial traffic to stderr

# Runs before the REPL in each fresh process: the sandbox becomes the VFS root
# "/" (so `ls :/` and ampy's `ls` show the board's files, not the host's), a
# board's sys.path, then boot.py / main.py like a board after reset.  Names are
# deleted again so the REPL's globals start as empty as a board's.
_BOOT_SHIM = """import sys, os, vfs
vfs.umount('/')
vfs.mount(vfs.VfsPosix(%(root)r), '/')
os.chdir('/')
sys.path[:] = ['', '.frozen', '/lib']
def _vb_run(name):
    try:
        os.stat(name)
    except OSError:
        return
    try:
        exec(open(name).read(), {'__name__': '__main__'})
    except BaseException as e:
        sys.print_exception(e)
_vb_run('boot.py')
if os.getenv('UMALLOC_VBOARD_MAIN') == '1':
    _vb_run('main.py')
del _vb_run, sys, os, vfs
"""


# Number of the read() system call, to see in /proc/PID/syscall that the child
# sits at its prompt waiting for a byte (then SIGINT would kill it, not interrupt).
_READ_SYSCALL = {"x86_64": 0, "aarch64": 63, "armv7l": 3, "i686": 3}.get(os.uname().machine)


def _waiting_for_input(pid):
    """True when the process is blocked reading its stdin (idle at a REPL prompt)."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            fields = f.read().split()
    except OSError:
        return True     # cannot tell: do not risk killing it
    return len(fields) > 1 and fields[0] == str(_READ_SYSCALL) and int(fields[1], 16) == 0


def _sigint_caught(pid):
    """True when the process has a SIGINT handler, i.e. MicroPython's Ctrl-C is enabled.

    micropython.kbd_intr(-1) (mpremote's mount protocol uses it) puts SIGINT back to
    the default action: then 0x03 is data, and a SIGINT would kill the process.
    """
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (signal.SIGINT - 1) & 1)
    except (OSError, ValueError):
        pass
    return False


def _board_like_tty(fd):
    """Raw bytes both ways, like a UART: no echo, no line editing, no signals from bytes."""
    tty.setraw(fd)


class VirtualBoard:
    """MicroPython unix port behind a pty; `.port` is the path to give mpremote/ampy/Board."""

    def __init__(self, heap=DEFAULT_HEAP, root=None, micropython=None):
        self.heap = heap
        self.root = os.path.abspath(root) if root else None
        self._own_root = root is None
        self._micropython = micropython
        self.port = None
        self.restarts = 0           # child processes started after the first
        self._child = None
        self._inner = None          # master fd of the child's pty
        self._outer = None          # master fd of the user-facing pty
        self._outer_slave = None    # kept open so the path survives restarts
        self._thread = None
        self._stop = threading.Event()
        self._wake_r = self._wake_w = None
        self._raw_mode = False      # was the child last seen in the raw REPL?
        self._tail = b""
        self._last_out = b""        # last byte sent to the user (a \r before a chunk's \n)
        self._ready = False         # has the child shown a prompt since it started?
        self._pending = b""         # user bytes held until the child is ready for them
        self._spawned_at = 0.0
        self._quick_deaths = 0      # starts in a row that died before their first prompt

    # -- lifecycle --

    def start(self):
        if self._thread:
            return self
        exe = self._micropython or find_micropython()
        self._micropython = exe
        if self.root is None:
            self.root = tempfile.mkdtemp(prefix="umalloc-vboard-")
        os.makedirs(os.path.join(self.root, "lib"), exist_ok=True)
        self._outer, self._outer_slave = pty.openpty()
        tty.setraw(self._outer_slave)
        tty.setraw(self._outer)
        os.set_blocking(self._outer, False)
        self.port = os.ttyname(self._outer_slave)
        self._wake_r, self._wake_w = os.pipe()
        self._stop.clear()
        self._spawn(raw=False)
        try:
            self._check_first_start()
        except UserError:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._relay, name="vboard-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop the relay and the child; no process is left behind."""
        self._stop.set()
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
        if self._thread:
            self._thread.join(5)
            self._thread = None
        self._kill_child()
        for name in ("_inner", "_outer", "_outer_slave", "_wake_r", "_wake_w"):
            fd = getattr(self, name)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)
        if self._own_root and self.root and os.path.isdir(self.root):
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def pid(self):
        """Process id of the current micropython child (changes on every reset)."""
        child = self._child
        return child.pid if child else None

    def kill_child(self):
        """Simulate a crash / power glitch: the board comes back with its banner."""
        child = self._child
        if child and child.poll() is None:
            child.kill()

    # -- child process --

    def _spawn(self, raw):
        master, slave = pty.openpty()
        _board_like_tty(slave)
        env = dict(os.environ)
        env.pop("MICROPYPATH", None)
        env["MICROPYINSPECT"] = "1"
        env["UMALLOC_VBOARD_MAIN"] = "0" if raw else "1"
        shim = _BOOT_SHIM % {"root": self.root}

        def take_terminal():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        child = subprocess.Popen(
            [self._micropython, "-X", "heapsize=%s" % self.heap, "-c", shim],
            stdin=slave, stdout=slave, stderr=slave, cwd=self.root, env=env,
            close_fds=True, preexec_fn=take_terminal,
        )
        os.close(slave)
        self._child, self._inner = child, master
        self._spawned_at = time.monotonic()
        self._raw_mode = False
        self._tail = b""
        # Bytes sent before the first prompt would be lost (the REPL flushes its
        # input when it switches the terminal mode), so hold them until then.
        self._ready = False
        if raw:
            self._enter_raw()
            self._ready = True

    def _read_child_until(self, marker, timeout=START_TIMEOUT):
        """Read (and swallow) the child's output up to and including marker; returns what was read."""
        data = b""
        deadline = time.monotonic() + timeout
        while marker not in data:
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                raise UserError("the MicroPython unix port did not start (%r): check "
                                "`%s -X heapsize=%s`" % (data[-200:], self._micropython, self.heap))
            ready, _, _ = select.select([self._inner], [], [], min(left, 0.2))
            if ready:
                try:
                    chunk = os.read(self._inner, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise UserError("the MicroPython unix port exited while starting: %r"
                                    % data[-200:])
                data += chunk
        return data

    def _enter_raw(self):
        """Bring a fresh child into the raw REPL, showing only what a board shows."""
        boot_output = self._read_child_until(FRIENDLY_PROMPT)
        # Anything boot.py printed comes before the banner; a board shows it too.
        cut = boot_output.find(b"MicroPython ")
        if cut > 0:
            self._send_outer(boot_output[:cut])
        os.write(self._inner, b"\r\x01")
        answer = self._read_child_until(RAW_BANNER)
        self._raw_mode = True
        self._send_outer(answer[answer.find(RAW_BANNER):])   # with the '>' if it came along

    def _kill_child(self):
        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                child.kill()
        child.wait(5)

    def _check_first_start(self):
        """Fail start() with the child's own words if it cannot even start (bad --heap...).

        Waits for the first prompt, but at most FIRST_START s: a main.py that
        runs forever is a working board too.
        """
        seen = b""
        deadline = time.monotonic() + FIRST_START
        while FRIENDLY_PROMPT not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self._inner], [], [], 0.05)
            chunk = b""
            if ready:
                try:
                    chunk = os.read(self._inner, 4096)
                except OSError:
                    pass
            if chunk:
                seen += chunk
            elif self._child.poll() is not None:
                raise UserError("the MicroPython unix port exited at once (status %s): %s; check "
                                "--heap (e.g. 192k)" % (self._child.returncode,
                                                        seen.decode("utf-8", "replace").strip()[-300:]))
        self._note_mode(seen)
        self._send_outer(seen)

    def _restart(self):
        """The child exited: a soft reset (exit status >= 0) or a crash/kill (a signal)."""
        child = self._child
        quick = time.monotonic() - self._spawned_at < 1.0 and not self._ready
        self._quick_deaths = self._quick_deaths + 1 if quick else 0
        code = child.wait(5) if child else -1
        self._child = None
        try:
            os.close(self._inner)
        except OSError:
            pass
        self._inner = None
        soft = code >= 0 or code == -signal.SIGINT
        if self._quick_deaths >= 3:
            # Dies as it starts, again and again: stay down rather than spin.
            self._send_outer(b"\r\nvboard: micropython exits at start (status %d); "
                             b"restart `umalloc vboard`\r\n" % code)
            return
        self.restarts += 1
        if soft:
            self._send_outer(SOFT_REBOOT)
            self._spawn(raw=self._raw_mode)
        else:
            self._spawn(raw=False)

    # -- relay --

    def _send_outer(self, data):
        if _DEBUG:
            print("vboard <- %r" % bytes(data), file=sys.stderr, flush=True)
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._outer, view)
            except BlockingIOError:
                # Nobody reads the port: wait a little, then drop the output like a
                # board's USB serial does with no host attached (never block the relay).
                _, writable, _ = select.select([], [self._outer], [], OUTPUT_STALL)
                if not writable:
                    return
                continue
            except OSError:
                return
            view = view[n:]

    def _board_line_ends(self, data, was_raw):
        """Friendly-REPL output with \r\n line ends, as a board sends it (raw REPL untouched)."""
        if was_raw:
            return data
        cut = data.find(RAW_BANNER)          # entering the raw REPL: cook only what came before
        head, rest = (data, b"") if cut < 0 else (data[:cut], data[cut:])
        out = bytearray()
        prev = self._last_out
        for i in range(len(head)):
            byte = head[i:i + 1]
            if byte == b"\n" and prev != b"\r":
                out += b"\r"
            out += byte
            prev = byte
        out += rest
        if out:
            self._last_out = bytes(out[-1:])
        return bytes(out)

    def _note_mode(self, data):
        """Remember whether the child sits in the raw or the friendly REPL (for soft reset)."""
        text = self._tail + data
        raw_at = text.rfind(RAW_BANNER)
        friendly_at = text.rfind(b"\n" + FRIENDLY_PROMPT)
        if raw_at >= 0 or friendly_at >= 0:
            self._raw_mode = raw_at > friendly_at
            self._ready = True
        self._tail = text[-40:]

    def _from_user(self, data):
        if _DEBUG:
            print("vboard -> %r" % data, file=sys.stderr, flush=True)
        child = self._child
        if b"\x03" in data and self._interruptible(child):
            # Code is running: interrupt it like a board's UART IRQ would, and
            # drop the 0x03 bytes (a board consumes them too).
            os.kill(child.pid, signal.SIGINT)
            data = data.replace(b"\x03", b"")
        self._pending += data
        self._flush_pending()

    def _interruptible(self, child):
        """Is the child running Python code that a SIGINT would interrupt (not kill)?"""
        if child is None or child.poll() is not None:
            return False
        if not self._ready and time.monotonic() - self._spawned_at < STARTUP_GRACE:
            return False     # still initialising: SIGINT would kill it; the byte waits instead
        return not _waiting_for_input(child.pid) and _sigint_caught(child.pid)

    def _flush_pending(self):
        if self._ready and self._pending and self._inner is not None:
            data, self._pending = self._pending, b""
            try:
                os.write(self._inner, data)
            except OSError:
                pass

    def _relay(self):
        while not self._stop.is_set():
            fds = [self._outer, self._wake_r]
            if self._inner is not None:
                fds.append(self._inner)
            try:
                ready, _, _ = select.select(fds, [], [], 0.5)
            except (OSError, ValueError):
                return
            if self._stop.is_set():
                return
            try:
                if self._inner is not None and self._inner in ready:
                    try:
                        data = os.read(self._inner, 4096)
                    except OSError:     # EIO: the child closed its terminal (exited)
                        data = b""
                    if data:
                        was_raw = self._raw_mode
                        self._note_mode(data)
                        self._send_outer(self._board_line_ends(data, was_raw))
                        self._flush_pending()
                    else:
                        self._restart()
                        continue
                if self._outer in ready:
                    try:
                        data = os.read(self._outer, 4096)
                    except OSError:
                        data = b""
                    if data:
                        self._from_user(data)
                child = self._child
                if child is not None and child.poll() is not None and self._inner not in ready:
                    # Exited without the pty reporting it yet: drain, then restart.
                    ready, _, _ = select.select([self._inner], [], [], 0.05)
                    if not ready:
                        self._restart()
            except Exception as exc:    # the relay must outlive any one bad moment
                if self._stop.is_set():
                    return
                if not isinstance(exc, UserError):
                    print("vboard: %r" % exc, file=sys.stderr)
                time.sleep(0.5)      # keep the port alive; try again on the next loop
                if self._child is None:
                    try:
                        self._spawn(raw=False)
                    except UserError:
                        pass
