"""`umalloc demo`: the first thing to run - umalloc fragmenting live on a board."""

import argparse
import textwrap

from .. import demo, traces


def register(subparsers):
    p = subparsers.add_parser(
        "demo", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="deploy umalloc to the virtual board (or --port) and watch it fragment",
        description=textwrap.fill(
            "Start the virtual board (MicroPython unix port on a pty) unless --port is "
                    "given, deploy umalloc to it, run a workload that fragments the arena "
                    "(generated churn, or --trace FILE), and show the fragmentation figures "
                    "as they change, then a summary.  Ends by itself after --seconds.", 79),
        epilog="examples:  umalloc demo\n"
               "           umalloc demo --trace churn --seconds 10\n"
               "           umalloc demo --port /dev/ttyACM0          (a Pico with MicroPython)")
    p.add_argument("--port", "-p", help="serial port of a real board (default: the virtual board)")
    p.add_argument("--board", "-b", help="board profile (default: detected from the device)")
    p.add_argument("--trace", metavar="FILE", help="replay this allocation trace instead of "
                   "the generated churn (format: `a ID SIZE`, `f ID`, `r ID SIZE`), or a bundled "
                   "sample: %s" % (", ".join(traces.sample_names())))
    p.add_argument("--seconds", "-s", type=int, default=20, help="how long to run (default 20)")
    p.add_argument("--plain", action="store_true",
                   help="print a plain table instead of the live monitor view")
    p.add_argument("--verbose", "-v", action="store_true", help="show every deployed file")
    p.set_defaults(func=run)


def run(args):
    return demo.run_demo(port=args.port, board=args.board, trace=args.trace,
                         seconds=args.seconds, plain=args.plain, verbose=args.verbose)
