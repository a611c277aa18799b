"""`umalloc bench`: umalloc's RAM and speed against MicroPython's own allocator, side by side."""

import sys

from .. import speedbench
from ..errors import UserError


def register(subparsers):
    p = subparsers.add_parser(
        "bench", help="RAM and speed of umalloc vs bytearray() inside MicroPython (unix port or --port)",
        description="A benchmark, not a test, in MicroPython itself.  RAM: gc.mem_alloc() taken by "
        "`import umalloc`, by the first Arena and by the first malloc+free, partitioned Arena and "
        "stats/check/realloc/view (on a board: from .mpy in /lib and, if the firmware has it, frozen).  Speed: a partition get+put pair against bytearray(32), a heap malloc+free "
        "(64 B) against bytearray(64), malloc with 10 vs 1,000 free fragments, an empty function call "
        "as the floor, and the same pairs on Arena(irq=False), Arena(lock=...) and a heap whose free "
        "block changes size class; medians over --reps repetitions, empty-loop cost subtracted "
        "(time.ticks_us).  Worst case: the longest single op and p99.9 over --worst ops, with "
        "about 100 KB of live GC objects so that bytearray() pays for its collections.  Each part "
        "runs in a fresh interpreter (soft reset on a board).",
        epilog="examples:  umalloc bench\n"
               "           umalloc bench --reps 21 --n 5000\n"
               "           umalloc bench --port /dev/ttyACM0     (umalloc deployed there: `umalloc deploy`)")
    p.add_argument("--reps", type=int, default=9, help="repetitions; the median is reported (default 9)")
    p.add_argument("--n", type=int, default=2000, help="operations per repetition (default 2000)")
    p.add_argument("--worst", type=int, default=100000,
                   help="operations timed one by one for the worst case (default 100000; 0 skips it)")
    p.add_argument("--port", help="run on the board at this serial port instead of the unix port "
                   "(umalloc must be deployed: `umalloc deploy --port P`)")
    p.set_defaults(func=run)


def run(args):
    if args.reps < 1 or args.n < 1 or args.worst < 0:
        raise UserError("--reps and --n must be at least 1, --worst at least 0")
    where = args.port or "MicroPython unix port, -X heapsize=%s like an RP2040" % speedbench.UNIX_HEAP
    print("umalloc bench on %s" % where)
    step = lambda phase: print("  (%s...)" % phase, file=sys.stderr, flush=True)  # noqa: E731
    if args.port:
        out = speedbench.run_board(args.port, args.reps, args.n, args.worst, progress=step)
    else:
        out = speedbench.run_unix(args.reps, args.n, args.worst, progress=step)
    for line in render(out, board=bool(args.port), reps=args.reps, n=args.n):
        print(line)
    return 0


def render(out, board, reps, n):
    """The report's lines from the device output of every phase."""
    if board and speedbench.on_unix_port(out):       # the virtual board: judged as the unix port
        board = False
    lines = ["", "RAM: gc.mem_alloc() after gc.collect(), fresh interpreter"]
    imports = speedbench.reduce_imports(out)
    lines += speedbench.format_rows(("figure", "bytes", "goal", ""),
                                    speedbench.import_table(imports, speedbench.reduce_first(out)))
    lines += speedbench.import_notes(imports)
    net, frags, _, _ = speedbench.reduce(out)
    lines += ["", "speed: %d reps x %d ops, medians, empty-loop cost subtracted, umalloc from %s"
              % (reps, n, speedbench.speed_source(out))]
    lines += speedbench.format_rows(("operation", "ns/op", "ratio", "goal", ""),
                                    speedbench.table(net, board=board))
    lines.append("free fragments in the heap: %s" % ", ".join(
        "%d (asked %d)" % (v, k) for k, v in sorted(frags.items())))
    lines.append("empty loop: %.0f ns per iteration (subtracted)" % net["loop"])
    heap = speedbench.heap_state(out)
    if heap:       # bytearray()'s cost depends on it: how often it collects, and what it scans
        lines.append("GC heap during the ratio rows: %d bytes in use, %d free" % heap)
    per_op = speedbench.gc_bytes_line(speedbench.gc_bytes(out))
    if per_op:
        lines.append(per_op)
    live, worst = speedbench.reduce_worst(out)
    if worst:
        ops = max(v[0] for v in worst.values())
        lines += ["", "worst case: longest single op over %d ops, %s bytes of live GC objects "
                  "(us, empty-loop cost not subtracted)" % (ops, live)]
        lines += speedbench.format_rows(
            ("operation", "max us", "p99.9 us", "max ratio", "p99.9 ratio", "goal", ""),
            speedbench.worst_table(worst, board), right=(1, 2))
    return lines
