"""`umalloc sim`: replay traces through umalloc and the reference allocators, side by side."""

import multiprocessing
import os

from umalloc.arena import MAX_ARENA

from .. import advisor, checks, minarena, simulate, traces
from ..errors import UserError

STEP = 8          # min-arena resolution, as in the reference allocators' published figures
COLUMNS = ("trace", "allocator", "arena", "failed", "fail_frag", "min_ever_free",
           "worst_frag", "end_largest", "overhead")


def register(subparsers):
    p = subparsers.add_parser(
        "sim", help="replay allocation traces: umalloc vs buddy vs first-fit-8",
        description="Replay each trace through the real umalloc Arena (every policy asked), a "
        "power-of-two buddy allocator and a first-fit allocator with 8-byte headers (FreeRTOS "
        "heap_4 style), all given the same arena, and print failures, fragmentation and overhead.",
        epilog="examples:  umalloc sim churn netbuf --min-arena\n"
        "           umalloc sim app.trace --board pico --policy all --png cmp.png")
    p.add_argument("traces", nargs="+", metavar="TRACE",
                   help="trace file, or a bundled sample name (%s)"
                   % (", ".join(traces.sample_names()) or "none found"))
    p.add_argument("--arena", type=checks.size_option, metavar="N",
                   help="arena bytes for every allocator (default: the layout's arena_size, "
                   "else 1.3x the trace's peak live bytes, plus the partitions when they would not fit)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--layout", metavar="FILE", help="umalloc layout JSON "
                     '{"arena_size": N, "partitions": [[size, count], ...], "policy": "first"} '
                     "(as written by `umalloc advise -o`)")
    src.add_argument("--board", metavar="B", help="use the arena layout of board profile B (see `umalloc boards`)")
    p.add_argument("--policy", default=None, choices=list(simulate.POLICIES) + ["all"],
                   help="umalloc heap policy to replay (default: the layout's; 'all' asks each)")
    p.add_argument("--min-arena", action="store_true",
                   help="also bisect the smallest arena with zero failures for each allocator, and find "
                   "the size from which every larger arena passes (safe_from); print both as ratios to "
                   "the trace's peak live bytes (1.00x is the physical limit)")
    p.add_argument("--png", metavar="OUT", help="draw the comparison into this PNG file")
    p.set_defaults(func=run)


def pick_layout(args):
    if args.layout:
        return simulate.load_layout(args.layout)
    if args.board:
        return simulate.board_layout(args.board)
    return simulate.DEFAULT_LAYOUT


def default_arena(trace, layout):
    if layout.arena_size:
        return layout.arena_size
    size = (int(trace.peak_live * 1.3) + 63) // 64 * 64
    if simulate.try_build(layout, size):
        return size
    # a small trace and a big layout: room for the partitions on top
    reserved = sum(s * c for s, c in layout.partitions)
    return (int(trace.peak_live * 1.3) + reserved + 1024 + 63) // 64 * 64


def too_big(trace, size):
    """UserError when the arena chosen for `trace` is beyond umalloc's limit: its peak is."""
    if size >= MAX_ARENA:
        raise UserError("%s: peak live %d bytes: the default arena (1.3x that) would be %d bytes, "
                        "above umalloc's limit of %d: give --arena N (at most that) to count the "
                        "requests that fail, or split the big requests"
                        % (trace.name, trace.peak_live, size, MAX_ARENA - 1))


def simulate_all(trace_list, layout, policies, arena=None, with_min=False, progress=None):
    """Rows (dicts, COLUMNS plus min_arena/ratio) for each trace and contestant.  With
    --min-arena on a long trace the contestants run side by side in worker processes."""
    jobs = []
    for trace in trace_list:
        size = arena or default_arena(trace, layout)
        for label, make in simulate.contestants(layout, policies):
            jobs.append((trace, size, label, make))
    global _JOBS
    _JOBS = (jobs, layout, with_min)
    workers = min(2, os.cpu_count() or 1, len(jobs))
    if with_min and workers > 1 and sum(len(j[0]) for j in jobs) >= PARALLEL_EVENTS \
            and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers, advisor.ignore_ctrl_c) as pool:
            rows = []
            for row in pool.imap(_row, range(len(jobs))):    # in order, as each finishes
                rows.append(row)
                if progress:
                    progress()
    else:
        rows = [_row(i, progress) for i in range(len(jobs))]
    for row in rows:
        if isinstance(row, UserError):
            raise row
    return rows


PARALLEL_EVENTS = 200000    # contestants' events in all: below this, one process is quicker
_JOBS = None


def _row(i, progress=None):
    """One contestant on one trace: the replay at the given arena, and its band."""
    jobs, layout, with_min = _JOBS
    trace, size, label, make = jobs[i]
    result = simulate.try_replay(make, size, trace, frag_every(trace))
    if progress:
        progress()
    if result is None:
        return UserError("%s: %d bytes cannot hold the umalloc layout (%s); give a larger --arena"
                         % (trace.name, size, layout.describe()))
    row = {"trace": trace.name, "allocator": label, "arena": size,
           "peak_live": trace.peak_live, **result}
    if with_min:
        try:
            band = _band(label, make, layout, trace, progress)
        except UserError as exc:
            return exc
        peak = trace.peak_live or 1
        row.update(min_arena=band.smallest, ratio=band.smallest / peak, safe_from=band.safe,
                   safe_ratio=band.safe / peak, band_note=band.note())
    return row


def frag_every(trace):
    """How often a replay samples fragmentation: every event up to 100,000 events, about
    5,000 times on longer traces (stats() walks the free lists)."""
    return 1 if len(trace) <= 100000 else len(trace) // 5000


def _band(label, make, layout, trace, progress):
    """The smallest passing arena and the band's top, by the bisection rule of min_arena."""
    if label.startswith("umalloc/"):
        lay = simulate.Layout(layout.partitions, label.split("/", 1)[1], None, layout.source,
                              layout.small_threshold, layout.align)
        band = minarena.umalloc_band(lay, trace, STEP, progress)
        if band is None:
            raise UserError("%s: no arena below 16 MiB replays without failures" % trace.name)
        return band
    return minarena.ref_band(make, trace, STEP, progress)


def format_rows(rows, with_min):
    cols = list(COLUMNS) + (["min_arena", "min/peak", "safe_from", "safe/peak", "band"] if with_min else [])
    table = [cols]
    for r in rows:
        cells = [r["trace"], r["allocator"], str(r["arena"]), str(r["failed"]), str(r["fail_fragmented"]),
                 str(r["min_ever_free"]), "%.2f" % r["worst_frag"], str(r["end_largest_free"]),
                 "-" if r["overhead"] is None else str(r["overhead"])]
        if with_min:
            cells += [str(r["min_arena"]), "%.2fx" % r["ratio"], str(r["safe_from"]),
                      "%.2fx" % r["safe_ratio"], r["band_note"]]
        table.append(cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    out = []
    for k, row in enumerate(table):
        out.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def run(args):
    layout = pick_layout(args)
    checks.arena_size(args.arena)            # before any replay: one line, nothing lost
    checks.output_file(args.png, "--png")
    policy = args.policy or layout.policy
    policies = list(simulate.POLICIES) if policy == "all" else [policy]
    trace_list = [traces.load(t) for t in args.traces]
    for t in trace_list:
        if args.min_arena:          # no arena can replay it: say which request, not 'no arena'
            minarena.check_requests(t)
        if args.arena is None:      # the default arena: not 'give a larger --arena' when too big
            too_big(t, default_arena(t, layout))
    from ..progress import steps
    total = len(trace_list) * (len(policies) + 2) * (16 if args.min_arena else 1)
    with steps("replaying", total) as advance:
        rows = simulate_all(trace_list, layout, policies, args.arena, args.min_arena, advance)
    print("umalloc layout: %s (%s)" % (layout.describe(), layout.source))
    for t in trace_list:
        print("%s: %d events, peak live %d bytes in %d blocks"
              % (t.name, len(t), t.peak_live, t.peak_blocks))
    print()
    print(format_rows(rows, args.min_arena))
    print("\nfailed: requests refused; fail_frag: refused although free >= request; overhead: bytes "
          "held beyond the live requests at the trace's peak")
    if any(frag_every(t) > 1 for t in trace_list):
        print("worst_frag: sampled every %d events on the long traces" % max(frag_every(t) for t in trace_list))
    if args.min_arena:
        print("min_arena: smallest zero-failure arena by bisection (double from the peak, then halve; "
              "%d-byte steps); safe_from: every larger arena passes too (band 'proven': by one "
              "unbounded good- or first-fit run; 'sampled..N': sizes up to N checked, no proof)" % STEP)
    if args.png:
        from ..simplot import draw
        draw(rows, args.png, args.min_arena)
        print("wrote", args.png)
    return 0
