"""`umalloc plot`: a PNG of a recorded monitor log."""

from .. import checks
from ..errors import UserError


def register(subparsers):
    p = subparsers.add_parser(
        "plot", help="draw a monitor log (JSONL) as a PNG: frag, free, partitions, memory map",
        description="Draw a log recorded with `umalloc monitor --log FILE.jsonl`: frag, free, "
                    "largest free and min-ever-free over time, partition occupancy, failed "
                    "requests marked in red, and the memory map at chosen instants.",
        epilog="example:  umalloc plot run.jsonl -o frag.png --at 0 5 12.5")
    p.add_argument("log", metavar="FILE.jsonl", help="log written by `umalloc monitor --log`")
    p.add_argument("-o", "--output", default="frag.png", help="PNG to write (default frag.png)")
    p.add_argument("--at", type=float, nargs="+", default=[], metavar="T",
                   help="seconds (from the first frame) at which to draw the memory map "
                        "(default: first, middle and last frame)")
    p.add_argument("--title", help="figure title")
    p.set_defaults(func=run)


def run(args):
    if not args.output.lower().endswith(".png"):
        raise UserError("--output must be a .png file name, e.g. -o frag.png")
    checks.output_file(args.output, "-o")
    from ..plot import plot
    try:
        drawn = plot(args.log, args.output, at=args.at, title=args.title)
    except OSError as exc:
        raise UserError("cannot write %s (%s)" % (args.output, exc.strerror or exc))
    runs = ", %d runs of the device (drawn apart)" % drawn["runs"] if drawn["runs"] > 1 else ""
    print("wrote %s: %d frames over %.1f s%s, %d failure marks, maps at %s s"
          % (args.output, drawn["frames"], drawn["seconds"], runs, drawn["failures"],
             ", ".join("%g" % t for t in drawn["instants"])))
    return 0
