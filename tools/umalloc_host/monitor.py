"""Pick report frames out of a serial text stream, keep the figures, log them, show them.

    summary = watch(lines, log_path="run.jsonl", csv_path="run.csv", title="pico")

`lines` is any iterable of text lines (serial, a file, the demo's output).  Frames
are decoded with umalloc.frame, the one codec the device uses too; every other line
is the user's own output and passes through.  Damaged frames are counted, never
shown as figures.  Items that are `Status` instances (from serialsource) tell the
view about the connection ("disconnected", "connected").
"""

import csv
import json
import time
from collections import deque

from umalloc.frame import MARK, FrameError, decode

MAX_LINE = 4096          # a longer run without newline is flushed as text (binary noise)


class Status(str):
    """A connection event in the line stream, shown by the view, never parsed."""


class LineSplitter:
    """Bytes in, complete text lines out (\\n or \\r\\n ends a line); never raises."""

    def __init__(self, max_line=MAX_LINE):
        self._buf = bytearray()
        self.max_line = max_line

    def feed(self, data):
        self._buf.extend(data)
        out = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                break
            out.append(self._text(self._buf[:nl]))
            del self._buf[:nl + 1]
        if len(self._buf) > self.max_line:
            out.append(self._text(self._buf))
            self._buf.clear()
        return out

    def flush(self):
        """The unfinished line, if any (when the stream ends or the port drops)."""
        rest = self._text(self._buf) if self._buf else None
        self._buf.clear()
        return rest

    @staticmethod
    def _text(raw):
        return bytes(raw).decode("utf-8", "replace").rstrip("\r")


def scan_line(line):
    """Events of one text line: ("frame", dict), ("text", str) or ("bad", reason).

    A line may hold text then a frame (print(..., end="") before a report), or a
    frame cut off by another frame or by a reset banner; each piece is judged alone.
    """
    line = line.rstrip("\r\n")
    at = line.find(MARK)
    if at < 0:
        return [("text", line)]
    events = []
    if line[:at].strip():
        events.append(("text", line[:at]))
    while at >= 0:
        nxt = line.find(MARK, at + len(MARK))
        piece = line[at:] if nxt < 0 else line[at:nxt]
        try:
            frame = decode(piece)
        except FrameError as exc:
            events.append(("bad", str(exc)))
        else:
            events.append(("frame", frame) if frame is not None else ("text", piece))
        at = nxt
    return events


class MonitorState:
    """What the live view shows: the last frame, history, counters, user output."""

    def __init__(self, history=120, text_lines=200):
        self.frames = 0
        self.bad = 0
        self.text = 0
        self.lost = 0            # frames missing by sequence number
        self.restarts = 0        # sequence went backwards: the device was reset
        self.last = None
        self.first_t = None
        self.t = None
        self.status = "waiting for data"
        self.connected = None
        self.frag_history = deque(maxlen=history)
        self.free_history = deque(maxlen=history)
        self.output = deque(maxlen=text_lines)
        self.max_frag = 0.0
        self.min_free = None
        self.last_bad = None

    def frame(self, frame, t):
        prev = self.last
        if prev is not None:
            gap = frame["seq"] - prev["seq"]
            if gap < 1:
                self.restarts += 1
            elif gap > 1:
                self.lost += gap - 1
        if self.first_t is None:
            self.first_t = t
        self.t = t
        self.last = frame
        self.frames += 1
        self.frag_history.append(frame["frag"])
        self.free_history.append(frame["free"])
        self.max_frag = max(self.max_frag, frame["frag"])
        if self.min_free is None or frame["free"] < self.min_free:
            self.min_free = frame["free"]

    def summary(self):
        s = {"frames": self.frames, "bad_frames": self.bad, "text_lines": self.text,
             "lost": self.lost, "restarts": self.restarts, "max_frag": self.max_frag,
             "min_free": self.min_free, "status": self.status}
        if self.last is not None:
            s.update(last_seq=self.last["seq"], free=self.last["free"],
                     largest_free=self.last["largest_free"], frag=self.last["frag"],
                     fail=self.last["fail"], fail_fragmented=self.last["fail_fragmented"],
                     min_ever_free=self.last["min_ever_free"])
            s["seconds"] = round(self.t - self.first_t, 3)
        return s


CSV_HEAP = ("seq", "ms", "free", "used", "largest_free", "free_fragments", "frag",
            "min_ever_free", "fail", "fail_fragmented", "live_blocks")


def _csv_layout(path):
    """The partition block sizes of the last header in an existing CSV (None: no header yet),
    so that appending frames of the same layout writes no second header."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            heads = [row for row in csv.reader(f) if row and row[0] == "t"]
    except OSError:
        return None
    if not heads:
        return None
    return tuple(int(c[1:-len("_nfree")]) for c in heads[-1] if c[:1] == "p" and c.endswith("_nfree"))


class FrameLog:
    """JSONL (one frame a line, with host time "t") and/or CSV, flushed line by line."""

    def __init__(self, log_path=None, csv_path=None):
        self._jsonl = open(log_path, "a", encoding="utf-8") if log_path else None
        self._csv_parts = _csv_layout(csv_path) if csv_path else None
        self._csv_file = open(csv_path, "a", newline="", encoding="utf-8") if csv_path else None
        self._csv = csv.writer(self._csv_file) if self._csv_file else None

    def write(self, frame, t):
        if self._jsonl:
            row = {"t": round(t, 3)}
            row.update(frame)
            self._jsonl.write(json.dumps(row, separators=(",", ":")) + "\n")
            self._jsonl.flush()
        if self._csv:
            parts = tuple(q["block_size"] for q in frame["partitions"])
            if parts != self._csv_parts:      # first frame, or a new layout after a reset
                self._csv_parts = parts
                self._csv.writerow(["t", *CSV_HEAP, *("p%d_nfree" % b for b in parts),
                                    *("p%d_fail" % b for b in parts), "map"])
            self._csv.writerow([round(t, 3), *(frame[k] for k in CSV_HEAP),
                                *(q["nfree"] for q in frame["partitions"]),
                                *(q["fail"] for q in frame["partitions"]), frame["map"]])
            self._csv_file.flush()

    def close(self):
        for f in (self._jsonl, self._csv_file):
            if f:
                f.close()


def watch(lines, log_path=None, csv_path=None, title="", plain=None, console=None,
          seconds=None, clock=time.time, interrupt_ends=True):
    """Consume `lines`, show the live view (plain lines without a TTY); returns a summary.

    plain: None = decide by whether the console is a terminal.  seconds: stop after
    that long (None = until the lines end).  Ctrl-C ends it cleanly (summary kept),
    or with interrupt_ends=False goes on to the caller (the demo says it was interrupted).
    """
    from .liveview import make_view
    state = MonitorState()
    log = FrameLog(log_path, csv_path)
    view = make_view(state, title=title, plain=plain, console=console)
    start = clock()
    try:
        with view:
            for item in lines:
                now = clock()
                if isinstance(item, Status):
                    state.status = str(item)
                    view.status(str(item))
                elif item is not None:
                    if state.status == "waiting for data":
                        state.status = "receiving"
                    if isinstance(item, (bytes, bytearray)):
                        item = LineSplitter._text(item)
                    for kind, value in scan_line(item):
                        if kind == "frame":
                            state.frame(value, now)
                            log.write(value, now)
                            view.frame(value)
                        elif kind == "text":
                            state.text += 1
                            state.output.append(value)
                            view.text(value)
                        else:
                            state.bad += 1
                            state.last_bad = value
                            view.bad(value)
                if seconds is not None and now - start >= seconds:
                    break
    except KeyboardInterrupt:
        state.status = "stopped (Ctrl-C)"
        if not interrupt_ends:
            raise
    finally:
        log.close()
    return state.summary()
