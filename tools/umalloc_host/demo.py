"""`umalloc demo`: deploy umalloc to a board (the virtual one by default), fragment it, watch.

The workload is firmware/demo.py, sent to the device through the raw REPL with
a few DEMO_* settings in front.  Its output is a stream of text lines: report
frames, `# ...` narration, and one `@umdemo-summary {...}` line at the end.
The lines go to the live monitor view (umalloc_host.monitor.watch), or with
--plain to a compact table printed here; both work without a TTY.
"""

import ast
import queue
import re
import sys
import threading
from pathlib import Path

from . import FIRMWARE_DIR
from . import deploy as deployer
from . import devlink, minarena, profiles, traces
from .notation import partitions_text
from .board import BoardTimeout, DeviceError, LinkLost
from .errors import UserError

WORKLOAD = FIRMWARE_DIR / "demo.py"
TRACE_ON_DEVICE = "umalloc_demo.trace"
SUMMARY_TAG = "@umdemo-summary"
_DONE = object()

RESERVE = """import gc, umalloc
try:
    import umalloc_board as _c
    gc.collect()
    umalloc.default_arena() or umalloc.init(_c.ARENA_SIZE, partitions=_c.PARTITIONS, policy=_c.POLICY)
    print('ok')
except MemoryError:
    print('the arena did not fit in the GC heap; the workload will take a smaller one')
"""


def _say(msg=""):
    print(msg, flush=True)


# How long the host waits: the device sends a report every tick, so silence longer than
# this means it hangs; the whole run may take the paced time plus deploy-free setup and a
# slow board's lag (a board slower than the pacing still reports, just later).
SILENCE_LIMIT = 15.0
SETUP_ALLOWANCE = 30.0

# What a board prints when it restarts under us: the virtual board's new process, a real
# board's soft reboot or its banner after a crash; the workload never prints these.
RESTART_SIGNS = ("MPY: soft reboot", "raw REPL; CTRL-B to exit")
BANNER = re.compile(r"^MicroPython \S+ on \d{4}-\d\d-\d\d")   # v1.24.1 or a git hash


class BoardWentAway(UserError):
    """The board restarted or vanished in the middle of the demo."""


def run_timeout(seconds):
    """The longest the whole workload may take: its paced length, then half again, plus setup."""
    return seconds * 1.5 + SETUP_ALLOWANCE


def workload_source(seconds, trace_path=None, events=0, slots=0):
    head = "DEMO_SECONDS = %d\nDEMO_TRACE = %r\nDEMO_TRACE_EVENTS = %d\nDEMO_TRACE_SLOTS = %d\n" % (
        seconds, trace_path, events, slots)
    return head + WORKLOAD.read_text()


def restart_sign(line):
    """The part of a line that shows the board restarted, or None."""
    for sign in RESTART_SIGNS:
        if sign in line:
            return sign
    return line.strip() if BANNER.match(line.strip()) else None


def stream_lines(link, code, timeout, silence=SILENCE_LIMIT):
    """Run code on the device in a thread; yield its output line by line as it arrives.

    Raises BoardWentAway at once when the board restarts or the link drops, and
    when it sends nothing for `silence` seconds; on Ctrl-C (or any early exit of
    the consumer) the device is interrupted before the exception goes on.
    """
    lines = queue.Queue()
    failure = []
    partial = [""]

    def on_output(text):
        partial[0] += text.replace("\r", "")
        *whole, partial[0] = partial[0].split("\n")
        for line in whole:
            lines.put(line)

    def worker():
        try:
            link.exec(code, on_output=on_output, timeout=timeout)
        except BaseException as exc:   # handed to the consumer, raised there
            failure.append(exc)
        finally:
            if partial[0]:
                lines.put(partial[0])
            lines.put(_DONE)

    thread = threading.Thread(target=worker, name="umalloc-demo-device", daemon=True)
    thread.start()
    finished = False
    try:
        while True:
            try:
                line = lines.get(timeout=silence)
            except queue.Empty:
                raise BoardWentAway("the board sent nothing for %.0f s (a report is due every "
                                    "0.25 s): it hangs or went away; reset it and run the demo "
                                    "again" % silence) from None
            if line is _DONE:
                break
            sign = restart_sign(line)
            if sign:
                raise BoardWentAway("the board restarted in the middle of the demo (it printed "
                                    "%r): it crashed or was reset; run the demo again" % sign)
            yield line
        finished = True
    finally:
        if not finished:
            link.interrupt()           # stop the workload; the thread then sees the board idle
            thread.join(3)
    thread.join()
    if failure:
        exc = failure[0]
        if isinstance(exc, LinkLost):
            raise BoardWentAway("the board went away in the middle of the demo (%s)" % exc) from None
        if isinstance(exc, DeviceError) and not isinstance(exc, BoardTimeout):
            # one line, not the workload's MicroPython traceback
            hint = (": the trace keeps more blocks live at once than the board's GC heap can "
                    "track: replay one with fewer" if "MemoryError" in exc.exception_line else "")
            raise UserError("the workload stopped on the device with %s%s"
                            % (exc.exception_line, hint)) from None
        raise exc


class PlainView:
    """A compact table, one row per report: what the demo shows without the live monitor.

    Rows come from report frames, decoded with umalloc.frame (the device's own codec).
    """

    HEADER = "  time  phase       free  largest  frag  fails (fragmented)  free blocks/part  map"

    def __init__(self, out=_say):
        self.out = out
        self.rows = 0
        self.phase = "start"
        self.t0 = None
        self.bad = 0

    def _figures(self, line):
        from umalloc import frame
        f = frame.decode(line)            # None: not a frame; FrameError: damaged
        if f is None:
            return None
        if self.t0 is None:
            self.t0 = f["ms"]
        return {"t": ((f["ms"] - self.t0) & frame.TICKS_MASK) / 1000, "phase": self.phase,
                "free": f["free"], "largest_free": f["largest_free"], "frag": f["frag"],
                "fail": f["fail"], "fail_fragmented": f["fail_fragmented"],
                "parts": [q["nfree"] for q in f["partitions"]], "map": f["map"][::2][:40]}

    def line(self, line):
        try:
            d = self._figures(line)
        except (ValueError, SyntaxError, KeyError):
            self.bad += 1
            self.out("  (a damaged report line was skipped)")
            return
        if d is not None:
            if self.rows % 20 == 0:
                self.out(self.HEADER)
            self.rows += 1
            self.out("%6.1f  %-9s %6d  %7d  %4.2f  %5d (%d)%s  %-15s  |%s|" % (
                d["t"], d["phase"][:9], d["free"], d["largest_free"], d["frag"], d["fail"],
                d["fail_fragmented"], " " * max(0, 9 - len(str(d["fail_fragmented"]))),
                "/".join("%d" % n for n in d["parts"]), d["map"]))
        elif line.startswith("# phase"):
            self.phase = line.split(None, 3)[3].split(":")[0] if len(line.split()) > 3 else ""
            self.out("")
            self.out(line[2:])
            self.rows = 0
        elif line.startswith("# "):
            self.out("    " + line[2:])
        elif line.strip():
            self.out(line)


def show(lines, title, plain=False):
    """Feed lines to the live view (or the plain table); returns the device's summary dict.

    Ctrl-C is not swallowed here (the monitor's own command ends quietly on it):
    it goes on to the caller, which says the demo was interrupted.
    """
    summary = {}

    def filtered():
        for line in lines:
            if line.startswith(SUMMARY_TAG + " "):
                try:
                    summary.update(ast.literal_eval(line[len(SUMMARY_TAG) + 1:]))
                except (ValueError, SyntaxError):
                    pass
                continue
            yield line

    if not plain:
        from .monitor import watch
        summary["monitor"] = watch(filtered(), title=title, interrupt_ends=False)
    else:
        view = PlainView()
        for line in filtered():
            view.line(line)
    return summary


def print_summary(s, board_title, out=_say):
    if "worst" not in s:
        out("the workload ended without its summary line (see the output above)")
        return
    w = s["worst"]
    out("")
    out("summary - %s, %.1f s, %d reports" % (board_title, s["seconds"], s["reports"]))
    out("  arena %d bytes, heap %d bytes, policy %s; lowest free ever %d bytes"
        % (s["arena_size"], s["heap_size"], s["policy"], s["min_ever_free"]))
    if w["frag"] > 0:
        out("  worst fragmentation %.2f at %.1f s (%s): %d bytes free, largest piece %d"
            % (w["frag"], w["t"], w["phase"], w["free"], w["largest_free"]))
    out("  %d requests failed, %d of them although enough bytes were free (fragmentation)"
        % (s["fail"], s["fail_fragmented"]))
    for q in s["partitions"]:
        out("  partition %-8s lowest free %3d, failed gets %d"
            % ("%dx%d" % (q["block_size"], q["nblks"]), q["min_free"], q["fail"]))
    out("  at the end: %d bytes free, arena check() %s" % (s["free"], s["check"]))


def run_demo(port=None, board=None, trace=None, seconds=20, plain=False, verbose=False,
             heap=None):
    if seconds < 2:
        raise UserError("--seconds must be at least 2")
    replay = None
    if trace:      # a path or a sample name; parsed here so a bad line is named before anything runs
        replay = traces.load(trace)
        # the device's trace reader takes numbers of up to 10 digits, and no arena holds more
        minarena.check_requests(replay)
    if port:
        return _run_on(port, board, replay, seconds, plain, verbose, virtual=False)
    from .vboard import VirtualBoard
    prof = profiles.load(board or "unix")
    _say("umalloc demo: starting the virtual board (MicroPython unix port, %s heap)"
         % (heap or prof.get("heap", "192k")))
    with VirtualBoard(heap=heap or prof.get("heap", "192k")) as vb:
        return _run_on(vb.port, board or "unix", replay, seconds, plain, verbose, virtual=True)


def _run_on(port, board, replay, seconds, plain, verbose, virtual):
    link = devlink.open_link(port)
    try:
        if board is None:
            board = deployer.detect_board(link)
        prof = profiles.load(board)
        where = "the virtual board" if virtual else "%s on %s" % (prof["title"], port)
        _say("umalloc demo on %s: deploy, then fragment its arena for ~%d s" % (where, seconds))
        _say("[1/2] deploying umalloc (.mpy for %s) to :%s ..."
             % (profiles.mpy_arch(prof), deployer.REMOTE_DIR))
        info = deployer.deploy(port, board=board, mode="mpy", link=link,
                               progress=_say if verbose else None)
        _say("      %d files, %d bytes in %.1f s; `import umalloc` works on the device"
             % (info["files"], info["bytes"], info["seconds"]))
        # A soft reset gives the workload an unfragmented GC heap, as at boot; the arena
        # is reserved right away, before anything else can cut the heap into pieces.
        link.reset()
        reserved = link.exec(RESERVE).strip()
        if reserved and reserved != "ok":
            _say("      " + reserved)
        trace_remote, slots = None, 0
        if replay is not None:
            # IDs renumbered into reusable slots: the device keeps one list of `slots`
            # pointers (allocated once) instead of a dict that grows with every live ID
            # (zebra's 1000 live IDs made that dict's resize fail with MemoryError).
            data, slots = replay.slotted_text()
            data = data.encode()
            _say("      copying %s (%d events, %d bytes) to :%s"
                 % (replay.name, len(replay), len(data), TRACE_ON_DEVICE))
            devlink.write_file(link, TRACE_ON_DEVICE, data)
            trace_remote = TRACE_ON_DEVICE
        arena = prof["arena"]
        what = ("replaying %s" % Path(replay.name).name) if replay is not None else "a generated churn"
        _say("[2/2] %s in a %d-byte arena (partitions %s, policy %s)"
             % (what, arena["arena_size"], partitions_text(arena["partitions"]),
                arena["policy"]))
        code = workload_source(seconds, trace_remote, len(replay or ()), slots)
        stream = stream_lines(link, code, timeout=run_timeout(seconds))
        try:
            summary = show(stream, title="umalloc demo - %s" % prof["title"], plain=plain)
        finally:
            stream.close()         # on Ctrl-C or a lost board: the device is interrupted first
    finally:
        link.close()
    print_summary(summary, prof["title"])
    if virtual:
        _say("next: the same on a real board - `umalloc devices`, then "
             "`umalloc demo --port PORT` (README: Boards)")
    return 0 if "worst" in summary else 1


def main(argv=None):  # handy for `python -m umalloc_host.demo`
    from .cli import main as cli_main
    return cli_main(["demo", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
