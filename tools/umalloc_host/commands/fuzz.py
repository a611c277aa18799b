"""`umalloc fuzz`: damage an arena the way buggy applications do; MicroPython must never crash."""

from .. import fuzz
from ..errors import UserError


def register(subparsers):
    p = subparsers.add_parser(
        "fuzz", help="memory-safety fuzz on the unix port: scribbled arenas must never crash MicroPython",
        description="A long-running check, not a benchmark of speed: each trial builds a random arena "
        "with random live blocks, writes 1-4 bytes past a block's end, through a pointer to a freed "
        "block, or anywhere among the blocks, then makes 60 more malloc/free/realloc calls and runs "
        "check(), stats() and map().  Every call must return normally or raise MemError.  Batches run "
        "in their own micropython process with fixed seeds, so a crash kills one batch and the same "
        "command replays it.",
        epilog="examples:  umalloc fuzz\n"
        "           umalloc fuzz --trials 100000 --jobs 2\n"
        "           umalloc fuzz --seed 7 --first 1200 --trials 1 --batch 1")
    p.add_argument("--trials", type=int, default=10000, help="trials in all (default 10000)")
    p.add_argument("--batch", type=int, default=1000, help="trials per micropython process (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1); trial i is the same "
                   "trial for the same seed")
    p.add_argument("--first", type=int, default=0, help="number of the first trial (default 0)")
    p.add_argument("--jobs", type=int, default=2, help="processes at a time (default 2)")
    p.add_argument("--viper", action="store_true", help="the viper core (ESP32's) instead of the C core")
    p.set_defaults(func=run)


def run(args):
    if args.trials < 1 or args.batch < 1 or args.jobs < 1 or args.first < 0 or args.seed < 0:
        raise UserError("--trials, --batch and --jobs must be at least 1; --first and --seed at least 0")
    n_batches = (args.trials + args.batch - 1) // args.batch
    print("umalloc fuzz on the MicroPython unix port (%s core): %d trials in %d processes of up to %d, "
          "seed %d, %d at a time" % ("viper" if args.viper else "C", args.trials, n_batches, args.batch,
                                    args.seed, args.jobs), flush=True)
    done = []

    def report(batch):
        done.append(batch)
        t = fuzz.totals(done)
        state = ("CRASHED (exit %s) after trial %d" % (batch.exit, batch.first + batch.last_progress)
                 if batch.crashed else "ok")
        print("batch %d/%d  trials %d-%d  %s  |  so far: %d trials, %d crashes"
              % (len(done), n_batches, batch.first, batch.first + batch.trials - 1, state,
                 t["trials"], t["crashes"]), flush=True)
        if batch.crashed:
            print("  replay: %s" % batch.replay(), flush=True)
        for line in batch.others:
            print("  not a MemError: seed/trial/exception %s" % line, flush=True)

    fuzz.run(args.trials, args.batch, args.seed, args.first, args.jobs, on_done=report, viper=args.viper)
    t = fuzz.totals(done)
    print("trials: %d  crashes: %d  other exceptions: %d  |  normal: %d  MemError: %d "
          "(damage found: %d, other codes such as a stale double free: %d)"
          % (t["trials"], t["crashes"], t["other"], t["normal"], t["memerror"] + t["corrupt"],
             t["corrupt"], t["memerror"]))
    return 1 if t["crashes"] or t["other"] else 0
