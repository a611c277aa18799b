"""`umalloc bench`: umalloc's speed against MicroPython's own allocator, side by side."""

from .. import speedbench
from ..errors import UserError


def register(subparsers):
    p = subparsers.add_parser(
        "bench", help="time umalloc vs bytearray() inside MicroPython (unix port or --port)",
        description="A benchmark, not a test: in one MicroPython process, time a partition get+put "
        "pair against bytearray(32), a heap malloc+free (64 B) against bytearray(64), malloc with "
        "10 vs 1,000 free fragments, and an empty function call as the floor; also the same pairs "
        "on an Arena(lock=...) and a heap whose free block changes size class on every split.  Medians over --reps "
        "repetitions, empty-loop cost subtracted (time.ticks_us).",
        epilog="examples:  umalloc bench     umalloc bench --reps 21 --n 5000     umalloc bench --port /dev/ttyACM0")
    p.add_argument("--reps", type=int, default=9, help="repetitions; the median is reported (default 9)")
    p.add_argument("--n", type=int, default=2000, help="operations per repetition (default 2000)")
    p.add_argument("--port", help="run on the board at this serial port instead of the unix port "
                   "(umalloc must be deployed: `umalloc deploy --port P`)")
    p.set_defaults(func=run)


def run(args):
    if args.reps < 1 or args.n < 1:
        raise UserError("--reps and --n must be at least 1")
    where = args.port or "MicroPython unix port, -X heapsize=%s like an RP2040" % speedbench.UNIX_HEAP
    print("umalloc bench on %s: %d reps x %d ops, medians, empty-loop cost subtracted" % (where, args.reps, args.n))
    out = speedbench.run_board(args.port, args.reps, args.n) if args.port else speedbench.run_unix(args.reps, args.n)
    net, frags, _, _ = speedbench.reduce(out)
    rows = [("operation", "ns/op", "ratio", "goal", "")] + speedbench.table(net)
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for k, row in enumerate(rows):
        print("  ".join(c.rjust(w) if i == 1 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print("free fragments in the heap: %s" % ", ".join("%d (asked %d)" % (v, k) for k, v in sorted(frags.items())))
    print("empty loop: %.0f ns per iteration (subtracted)" % net["loop"])
    return 0
