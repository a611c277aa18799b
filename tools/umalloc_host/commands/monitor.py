"""`umalloc monitor`: the live fragmentation view of a board's report frames."""

import sys

from .. import checks
from ..errors import UserError


def register(subparsers):
    p = subparsers.add_parser(
        "monitor", help="show a board's umalloc report frames live; log them (JSONL/CSV)",
        description="Read the board's serial output, pick out umalloc report frames "
                    "(umalloc.report() / umalloc.Reporter on the device) and show the arena "
                    "live: heap free/largest/frag, partition bars, failures, memory map and "
                    "a frag sparkline; other output scrolls below.  Without a terminal it "
                    "prints one compact line per frame.  Survives unplugging: it shows "
                    "'disconnected' and reconnects when the port returns.  Ctrl-C ends it.",
        epilog="examples:  umalloc monitor --port /dev/ttyACM0 --log run.jsonl\n"
               "           umalloc monitor --reset          (the running `umalloc vboard`; run its main.py)\n"
               "           MICROPYPATH=lib .venv/bin/micropython app.py | umalloc monitor --input -\n"
               "           umalloc monitor --bench-parse    (frame sizes, host parse rate)")
    p.add_argument("--port", "-p", help="serial port (default: the running virtual board)")
    p.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    p.add_argument("--log", metavar="FILE.jsonl",
                   help="append every frame as one JSON line with host time 't' (flushed per line)")
    p.add_argument("--csv", metavar="FILE", help="append every frame as a CSV row")
    p.add_argument("--input", "-i", metavar="FILE",
                   help="read lines from FILE ('-' = stdin) instead of a serial port")
    p.add_argument("--reset", action="store_true",
                   help="soft-reset the board on connect (Ctrl-D), so its main.py starts reporting")
    p.add_argument("--seconds", "-s", type=float, help="stop after this many seconds")
    p.add_argument("--plain", action="store_true", help="compact lines even on a terminal")
    p.add_argument("--title", default="", help="title shown in the view")
    p.add_argument("--bench-parse", action="store_true",
                   help="print frame sizes for the board layouts and the host parse rate, then exit")
    p.set_defaults(func=run)


def _file_lines(path):
    """Lines of `path` ('-': standard input); opened at once, so that a file that cannot be
    read is the one line of the command before the view starts."""
    if path == "-":
        return iter(sys.stdin)
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError("--input %s: cannot read it (%s): give a file of the board's output, or "
                        "- for standard input" % (path, exc.strerror or exc)) from None

    def lines():
        with f:
            yield from f
    return lines()


def run(args):
    if args.bench_parse:
        from .. import framebench
        return framebench.run()
    if args.seconds is not None and args.seconds <= 0:
        raise UserError("--seconds must be more than 0 (leave it out to watch until Ctrl-C)")
    if args.baud <= 0:
        raise UserError("--baud must be a positive rate, e.g. 115200 (the default)")
    checks.output_file(args.log, "--log")
    checks.output_file(args.csv, "--csv")
    from ..monitor import watch
    from ..board import not_a_port
    from ..serialsource import VBOARD_PORT_FILE, serial_lines, vboard_port
    if args.input:
        lines, title = _file_lines(args.input), args.title or args.input
    else:
        port = args.port or vboard_port()
        if port is None:
            raise UserError("no --port given and no virtual board running (%s has no live "
                            "port): start `umalloc vboard` in another terminal, or pass "
                            "--port (list boards with `umalloc devices`)" % VBOARD_PORT_FILE)
        if args.port:       # missing, a folder or a file: one line, before the view starts
            problem = not_a_port(args.port)
            if problem is not None:
                raise problem
        lines, title = serial_lines(port, args.baud, reset=args.reset), args.title or port
    summary = watch(lines, log_path=args.log, csv_path=args.csv, title=title,
                    plain=True if args.plain else None, seconds=args.seconds)
    print("monitor: %d frames, %d damaged, %d lost, %d text lines%s"
          % (summary["frames"], summary["bad_frames"], summary["lost"], summary["text_lines"],
             (", log %s" % args.log) if args.log else ""), file=sys.stderr)
    if not summary["frames"] and not summary["bad_frames"]:
        print("monitor: no frames arrived: is a Reporter running there? (`umalloc deploy --port P "
              "--app` installs one as main.py; --reset runs it)", file=sys.stderr)
    return 0
