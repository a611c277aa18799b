"""`umalloc simbench`: how long `advise` and `sim --min-arena` take on long generated traces."""

import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

from .. import families
from ..errors import UserError

# (command, events, goal in seconds) as issue 14 states them for a 2-core machine
RUNS = (("advise", 10000, 20), ("advise", 100000, 60), ("sim --min-arena", 1000000, 60))


def register(subparsers):
    p = subparsers.add_parser(
        "simbench", help="time advise and sim --min-arena on 10k/100k/1M-event generated traces",
        description="A benchmark, not a test: generate traces of a family (seeded, see "
        "`umalloc gentrace`), write them to files and run `umalloc advise` on 10,000 and 100,000 "
        "events and `umalloc sim --min-arena` on 1,000,000 events, each timed from start to "
        "end (parsing the file included), against the goals 20 s, 60 s, 60 s.",
        epilog="example:  umalloc simbench --family netbuf --seed 2")
    p.add_argument("--family", default="bimodal", choices=families.FAMILIES,
                   help="trace family (default bimodal)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--only", type=int, metavar="EVENTS", choices=[r[1] for r in RUNS],
                   help="run only the row with this many events")
    p.set_defaults(func=run)


def run(args):
    from ..cli import main
    rows = [r for r in RUNS if args.only in (None, r[1])]
    print("umalloc simbench: family %s, seed %d; wall-clock seconds per command (file parsing included)"
          % (args.family, args.seed), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for command, events, goal in rows:
            trace = families.generate(args.family, events, args.seed)
            path = Path(tmp) / ("%s.trace" % trace.name)
            path.write_text(trace.text())
            argv = command.split()[:1] + [str(path)] + command.split()[1:]
            out = io.StringIO()
            t0, c0 = time.monotonic(), _cpu()
            with contextlib.redirect_stdout(out):
                code = main(argv)
            took, cpu = time.monotonic() - t0, _cpu() - c0
            if code == 130:       # Ctrl-C: the command has said so in its one line
                return code
            if code:
                raise UserError("`umalloc %s` failed on %s (exit %d)" % (" ".join(argv), path.name, code))
            summary = _summary(command, out.getvalue())
            print("%-16s %9d events  %6.1f s (cpu %5.1f s)  goal %3d s  %-6s %s"
                  % (command, events, took, cpu, goal, "met" if took <= goal else "MISSED", summary),
                  flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if load is not None:
        print("load average %.1f on %d CPUs: wall-clock times stretch when other work shares them"
              % (load, os.cpu_count() or 1))
    return 0


def _cpu():
    """CPU seconds of this process and its finished workers (advise runs climbs in a pool)."""
    import resource
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _summary(command, text):
    """The figure each command is for: the advised arena, or the min-arena rows."""
    lines = text.splitlines()
    if command == "advise":
        return next((ln.strip() for ln in lines if ln.strip().startswith("arena:")), "")
    head = next((i for i, ln in enumerate(lines) if ln.startswith("trace ")), None)
    if head is None:
        return ""
    keys = lines[head].split()
    out = []
    for ln in lines[head + 2:]:
        if not ln.strip():
            break
        row = dict(zip(keys, ln.split()))
        out.append("%s %s..%s" % (row["allocator"], row["min/peak"], row["safe/peak"]))
    return "; ".join(out)
