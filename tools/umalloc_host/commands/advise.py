"""`umalloc advise`: propose the partition layout that needs the smallest arena for a trace."""

import json

from .. import advisor, checks, traces
from ..errors import UserError


def register(subparsers):
    p = subparsers.add_parser(
        "advise", help="propose a partition layout (sizes, counts, policy) for a trace",
        description="Search partition layouts (block sizes and counts, heap policy, twoended "
        "small_threshold, heap align) for TRACE with the real umalloc code and propose the one that "
        "replays it with zero failures in the smallest arena; explain the choice and optionally "
        "write it as layout JSON (the shape of boards/*.json 'arena', plus small_threshold and align "
        "when they differ from Arena's defaults; accepted by `umalloc sim --layout`).  The search "
        "runs hill climbs two at a time in worker processes.",
        epilog="example:  umalloc advise churn -o churn-layout.json\n"
               "          umalloc sim churn --layout churn-layout.json")
    p.add_argument("trace", metavar="TRACE", help="trace file or sample name")
    p.add_argument("--arena", type=checks.size_option, metavar="N",
                   help="the arena you can afford: the layout is written with this size "
                   "(error if the trace needs more, or fails at exactly this size)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the layout JSON here")
    p.set_defaults(func=run)


def run(args):
    import sys
    import time
    checks.arena_size(args.arena)            # before the search, not after it
    checks.output_file(args.output, "-o")
    trace = traces.load(args.trace)
    from ..progress import steps
    t0 = time.monotonic()

    def best_so_far(arena, layout):
        print("  %5.1f s  best so far: %d B (%.2fx peak live): %s"
              % (time.monotonic() - t0, arena, arena / max(1, trace.peak_live), layout.describe()),
              file=sys.stderr, flush=True)
    print("%s: %d events, peak live %d bytes; searching layouts..." % (trace.name, len(trace), trace.peak_live),
          file=sys.stderr, flush=True)
    with steps("searching layouts (model replays)", advisor.progress_total(trace)) as advance:
        advice = advisor.advise(trace, progress=advance, on_best=best_so_far)
    searched = time.monotonic() - t0
    layout = advice.layout
    if args.arena is not None:
        if args.arena < advice.arena:
            raise UserError("%s needs at least %d bytes with the best layout found (%s); "
                            "%d is too small: raise --arena" % (trace.name, advice.arena,
                                                                layout.describe(), args.arena))
        if not advisor.fits_at(layout, args.arena, trace):
            why = ("the arena cannot hold the layout at that size"
                   if advisor.build(layout, args.arena) is None else "the heap fragments differently")
            raise UserError("%s fails with %d bytes and this layout (%s) although %d bytes replay "
                            "cleanly (%s): a bigger arena is not always safe; try another --arena, "
                            "or leave it out" % (trace.name, args.arena, layout.describe(),
                                                 advice.arena, why))
        layout.arena_size = args.arena
    print("%s: proposed layout %s" % (trace.name, layout.describe()))
    for line in advice.reasons():
        print("  " + line)
    print("  time: %.1f s searching (%d events), %.1f s in all" % (searched, len(trace), time.monotonic() - t0))
    text = json.dumps(layout.to_json())
    print(text)
    if args.output:
        checks.write_text(args.output, text + "\n", "-o")
        print("wrote", args.output)
    return 0
