"""`umalloc trace pull`: fetch the allocation trace a device recorded, as a trace file."""

import shutil
import sys
from pathlib import Path

from .. import LIB_DIR, checks, traces
from ..errors import UserError

# Pulled when the arena recorded nothing: the message says how to turn tracing on.
PULL_CODE = """
import umalloc
_a = umalloc.default_arena()
if _a is None:
    print('UMALLOC_NO_ARENA')
else:
    print('UMALLOC_TRACE_BEGIN')
    _a.dump_trace()
    print('UMALLOC_TRACE_END')
"""

# Without --port or --run: a small workload on the virtual board, so the command shows
# what a pulled trace looks like.
EXAMPLE_WORKLOAD = """
import umalloc
a = umalloc.init(8192, partitions=((16, 8),), trace=64)
keep = []
for i in range(24):
    p = a.malloc(8 + (i * 37) % 300)
    if i % 3:
        a.free(p)
    else:
        keep.append(p)
q = a.realloc(keep[0], 500)
"""


def register(subparsers):
    p = subparsers.add_parser(
        "trace", help="pull the allocation trace recorded on a device",
        description="Work with allocation traces recorded on a device (umalloc.init(..., trace=N) keeps "
        "the last N events).")
    sub = p.add_subparsers(dest="trace_command", metavar="ACTION")
    pull = sub.add_parser(
        "pull", help="run umalloc.dump_trace() on the device and save the lines",
        description="Run umalloc.dump_trace() on the device (the default arena, made with "
        "umalloc.init(size, trace=N)), check the lines with the trace parser and write them to -o.  "
        "Without --port a virtual board is started with umalloc copied onto it.",
        epilog="example:  umalloc trace pull --port /dev/ttyACM0 -o app.trace\n"
               "          umalloc sim app.trace --min-arena")
    pull.add_argument("--port", help="serial port of the board (default: a fresh virtual board)")
    pull.add_argument("--run", metavar="FILE", help="run this MicroPython file on the device first "
                      "(without --port and --run, a small example workload runs)")
    pull.add_argument("-o", "--output", required=True, metavar="FILE", help="trace file to write")
    pull.set_defaults(func=run_pull)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def extract(output):
    """The trace lines between the markers of PULL_CODE's output."""
    if "UMALLOC_NO_ARENA" in output:
        raise UserError("the device has no default arena: call umalloc.init(size, trace=N) first "
                        "(e.g. in boot.py), run your program, then pull")
    if "UMALLOC_TRACE_BEGIN" not in output or "UMALLOC_TRACE_END" not in output:
        raise UserError("the device did not print a whole trace; is umalloc deployed (`umalloc deploy`)?")
    body = output.split("UMALLOC_TRACE_BEGIN", 1)[1].split("UMALLOC_TRACE_END", 1)[0]
    lines = [ln.strip() for ln in body.replace("\r", "").split("\n") if ln.strip()]
    if not any(ln[0] in "afr" for ln in lines):
        raise UserError("the device recorded no events: init the arena with trace=N "
                        "(umalloc.init(32768, trace=512)) and run the program before pulling")
    return lines


RUN_TIMEOUT = 120      # seconds a --run program may take before the pull


def pull(board, run_code=None, run_name="the program"):
    from ..board import BoardTimeout, DeviceError
    try:
        if run_code:
            board.exec(run_code, timeout=RUN_TIMEOUT)
        return extract(board.exec(PULL_CODE, timeout=RUN_TIMEOUT))
    except BoardTimeout:
        # a main loop never returns: the pull that follows it would never come
        raise UserError("%s was still running after %d s (the board was interrupted and reset): "
                        "--run needs a program that ends; for an app with a main loop, let it "
                        "run on the board and pull with --port alone (that stops it first)"
                        % (run_name, RUN_TIMEOUT)) from None
    except DeviceError as exc:
        raise UserError("the device raised %s" % exc.exception_line) from None


def run_pull(args):
    from ..board import Board
    checks.output_file(args.output, "-o")
    code = None
    if args.run:
        try:
            code = Path(args.run).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError("--run %s: cannot read it (%s): give a MicroPython .py file"
                            % (args.run, getattr(exc, "strerror", None) or exc)) from None
    if args.run:
        print("running %s on the device (up to %d s), then pulling its trace"
              % (args.run, RUN_TIMEOUT), file=sys.stderr, flush=True)
    if args.port:
        board = Board(args.port)
        try:
            if code is not None:
                # the file runs in a fresh interpreter (boot.py runs, main.py not: raw REPL),
                # not beside what ran before, so the same pull gives the same trace again
                board.reset()
            lines = pull(board, code, args.run)
        finally:
            board.close()
    else:
        from ..vboard import VirtualBoard
        with VirtualBoard() as vb:
            shutil.copytree(LIB_DIR / "umalloc", Path(vb.root) / "lib" / "umalloc",
                            ignore=shutil.ignore_patterns("__pycache__"))
            board = Board(vb.port)
            try:
                lines = pull(board, code or EXAMPLE_WORKLOAD, args.run or "the example workload")
            finally:
                board.close()
    text = "".join(ln + "\n" for ln in lines)
    trace = traces.parse(text, args.output)      # refuse to write a trace the tools cannot read
    checks.write_text(args.output, "# pulled from %s by umalloc trace pull\n"
                      % (args.port or "the virtual board") + text, "-o")
    print("wrote %s: %d events, peak live %d bytes in %d blocks"
          % (args.output, len(trace), trace.peak_live, trace.peak_blocks))
    return 0
