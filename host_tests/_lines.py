"""Reading a child process's output line by line in tests, with a deadline."""

import queue
import threading
import time


def reader(proc):
    """A queue fed with proc's stdout lines (None at EOF), by a daemon thread."""
    q = queue.Queue()

    def pump():
        for line in proc.stdout:
            q.put(line.rstrip("\n"))
        q.put(None)
    threading.Thread(target=pump, daemon=True).start()
    return q


def wait_for(q, pred, seen=None, timeout=20):
    """Take lines until pred(line) holds; returns the lines seen. Fails on timeout or EOF."""
    seen = [] if seen is None else seen
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            line = q.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if pred(line):
            return seen
    raise AssertionError("timed out; the process said:\n" + "\n".join(seen[-25:]))
