"""`umalloc gentrace`: write a synthetic trace of a family (seeded, any length)."""

import sys

from .. import checks, families
from ..errors import UserError


def register(subparsers):
    p = subparsers.add_parser(
        "gentrace", help="write a seeded synthetic trace (bimodal, uniform, longlived, netbuf)",
        description="Generate a valid allocation trace of a workload family, the same for the same "
        "family, length and seed: bimodal (small records and large buffers), uniform (1..1024 B), "
        "longlived (long-lived objects amid temporaries), netbuf (FIFO packet buffers, some grown "
        "by realloc).  %s were used to choose Arena's defaults; %s are held out."
        % (" and ".join(families.TUNING), " and ".join(families.HELD_OUT)),
        epilog="example:  umalloc gentrace netbuf --events 100000 --seed 2 -o nb.trace\n"
               "          umalloc advise nb.trace")
    p.add_argument("family", choices=families.FAMILIES)
    p.add_argument("--events", type=int, default=10000, help="number of events (default 10000)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    p.set_defaults(func=run)


def run(args):
    if args.events < 1:
        raise UserError("--events must be at least 1")
    checks.output_file(args.output, "-o")      # before generating: a long trace costs time
    trace = families.generate(args.family, args.events, args.seed)
    text = "# umalloc gentrace %s --events %d --seed %d\n%s" % (args.family, args.events, args.seed,
                                                              trace.text())
    if not args.output:
        sys.stdout.write(text)
        return 0
    checks.write_text(args.output, text, "-o")
    print("wrote %s: %d events, peak live %d bytes" % (args.output, len(trace), trace.peak_live))
    return 0
