"""`umalloc gcbench`: MicroPython's GC heap vs umalloc, same budget, on the unix port."""

from .. import checks, gcbench, simulate, traces
from ..checks import parse_bytes
from ..errors import UserError


def register(subparsers):
    p = subparsers.add_parser(
        "gcbench", help="replay a trace with bytearrays (GC heap) and with umalloc, same budget",
        description="Replay TRACE on the MicroPython unix port twice: once with bytearray() from "
        "MicroPython's GC heap, once through umalloc, each with the same memory budget (bytes the "
        "trace itself may use).  GC: -X heapsize is set so gc.mem_free() after the player's setup "
        "equals the budget (the interpreter's and player's own use is measured with gc.mem_alloc() "
        "and added on top).  umalloc: the arena is the budget, metadata included.  Prints failures at "
        "--budget and bisects the smallest budget each needs.  Note: the unix port is 64-bit, where "
        "a bytearray costs a 32-byte object plus 32-byte GC blocks; on a 32-bit board both are 16.",
        epilog="example:  umalloc gcbench churn --heap-max 256k")
    p.add_argument("trace", metavar="TRACE", help="trace file or sample name")
    p.add_argument("--budget", metavar="N", help="budget for the failure count (default 1.3x peak live)")
    p.add_argument("--heap-max", default="1m", metavar="N",
                   help="upper bound of the budget bisection (default 1m); a run needing more is reported as such")
    p.add_argument("--layout", metavar="FILE", help="umalloc layout JSON (default: heap only, good fit: Arena(size)'s defaults)")
    p.add_argument("--no-bisect", action="store_true", help="only the failure counts at --budget")
    p.set_defaults(func=run)


def run(args):
    trace = traces.load(args.trace)
    layout = simulate.load_layout(args.layout) if args.layout else simulate.Layout((), "good", None, "heap only")
    budget = parse_bytes(args.budget) if args.budget else (int(trace.peak_live * 1.3) + 63) // 64 * 64
    heap_max = parse_bytes(args.heap_max)
    checks.arena_size(budget, "--budget")       # each budget is also an umalloc arena
    checks.arena_size(heap_max, "--heap-max")
    if not args.no_bisect and heap_max < trace.peak_live:
        raise UserError("--heap-max %d is below the trace's peak live bytes (%d): no budget up to it "
                        "can replay the trace; give more (the default is 1m)"
                        % (heap_max, trace.peak_live))
    print("%s: %d events, peak live %d bytes in %d blocks; umalloc layout: %s"
          % (trace.name, len(trace), trace.peak_live, trace.peak_blocks, layout.describe()))
    bench = gcbench.Bench(trace, layout)
    try:
        print("baseline: interpreter %d B at start, %d B after the player's setup (gc.mem_alloc); "
              "-X heapsize = (budget + %d) / %.4f" % (bench.start_alloc, bench.baseline, bench.baseline,
                                                       bench._slope))
        gc_res = bench.run_gc(budget)
        um_res = bench.run_umalloc(budget)
        rows = [("allocator", "budget", "failed", "min budget", "min/peak")]
        mins = {}
        if not args.no_bisect:
            from ..progress import steps
            with steps("bisecting budgets", 30) as advance:
                mins["gc"] = bench.min_budget(bench.run_gc, heap_max, on_step=advance)
                mins["umalloc"] = bench.min_budget(bench.run_umalloc, heap_max, on_step=advance)
        for label, res, key in (("gc bytearray", gc_res, "gc"), ("umalloc", um_res, "umalloc")):
            shown = res["setup_free"] if key == "gc" else budget
            if args.no_bisect:
                m = r = "-"
            elif mins[key] is None:
                m, r = "> %d" % heap_max, "-"
            else:
                m, r = str(mins[key]), "%.2fx" % (mins[key] / trace.peak_live)
            rows.append((label, str(shown), str(res["fails"]), m, r))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        print()
        for k, row in enumerate(rows):
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
            if k == 0:
                print("  ".join("-" * w for w in widths))
        print("\nbudget: for gc, gc.mem_free() measured after setup; for umalloc, the arena size")
    finally:
        bench.close()
    return 0
