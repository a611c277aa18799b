"""`umalloc fuzz` host side: memory-safety trials on the MicroPython unix port.

The trials themselves are mp/fuzz_device.py.  Trials are split into batches;
each batch runs in its own `micropython` process with a fixed seed, so a VM
crash (a segfault: the allocator wrote outside the arena) kills one batch and
is counted, and every run of the same seeds does the same trials.  A crashed
batch is named with the command that replays it.  The unix port runs umalloc's C
core; viper=True runs the viper core instead (the same trials must end the same way).
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import unixport

SCRIPT = Path(__file__).with_name("mp") / "fuzz_device.py"
# The unix port compiles umalloc from source into this heap; with the viper core's native code
# there too, 192k left too few 8 KB holes for a trial's arena after a few hundred trials (a GC
# MemoryError, not a MemError: seed 3, trials 15000-15999, on main as on the page-index change)
HEAP = "256k"
BATCH_TIMEOUT = 600      # seconds; a hung batch (a damaged list walked forever) counts as a crash


class Batch:
    """One process: `trials` trials from `first` with `seed`; what it printed and how it ended."""

    def __init__(self, seed, first, trials, viper=False):
        self.seed, self.first, self.trials = seed, first, trials
        self.viper = viper
        self.done = None          # (normal, memerror, corrupt, other) from the DONE line
        self.others = []          # OTHER lines: an exception that is not MemError
        self.exit = None
        self.last_progress = 0

    @property
    def crashed(self):
        return self.done is None

    def replay(self):
        return "umalloc fuzz --seed %d --first %d --trials %d --batch %d%s" % (
            self.seed, self.first + self.last_progress, self.trials - self.last_progress,
            self.trials - self.last_progress, " --viper" if self.viper else "")

    def read(self, stdout, exit_code):
        self.exit = exit_code
        for line in stdout.splitlines():
            word, _, rest = line.partition(" ")
            if word == "P":
                self.last_progress = int(rest)
            elif word == "OTHER":
                self.others.append(rest)
            elif word == "DONE" and exit_code == 0:
                fields = [int(x) for x in rest.split()]
                if fields[0] == self.trials:
                    self.done = tuple(fields[1:5])
        return self


VIPER_CORE = "import umalloc._core\numalloc._core.CCORE = None\n"   # before any Arena()


def source(seed, first, trials, viper=False):
    return (VIPER_CORE if viper else "") + "SEED, FIRST, TRIALS = %d, %d, %d\n" % (
        seed, first, trials) + SCRIPT.read_text()


def run_batch(batch):
    """Run one batch in its own micropython process; a crash or a hang leaves batch.done None."""
    import subprocess
    try:
        proc = unixport.run_code(source(batch.seed, batch.first, batch.trials, batch.viper), heap=HEAP,
                                 timeout=BATCH_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return batch.read(out, "timeout")
    return batch.read(proc.stdout, proc.returncode)


def batches(trials, batch_size, seed, first=0, viper=False):
    """Batch k runs trials first + k*batch_size ... of generator seed `seed`."""
    out = []
    k = 0
    while k * batch_size < trials:
        n = min(batch_size, trials - k * batch_size)
        out.append(Batch(seed, first + k * batch_size, n, viper))
        k += 1
    return out


def run(trials, batch_size=1000, seed=1, first=0, jobs=2, on_done=None, viper=False):
    """Run every batch, `jobs` processes at a time; on_done(batch) after each one."""
    todo = batches(trials, batch_size, seed, first, viper)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for batch in pool.map(run_batch, todo):
            if on_done:
                on_done(batch)
    return todo


def totals(done_batches):
    """{'trials', 'normal', 'memerror', 'corrupt', 'other', 'crashes'} over the batches."""
    t = {"trials": 0, "normal": 0, "memerror": 0, "corrupt": 0, "other": 0, "crashes": 0}
    for b in done_batches:
        if b.crashed:
            t["crashes"] += 1
            t["trials"] += b.last_progress
            continue
        t["trials"] += b.trials
        for key, value in zip(("normal", "memerror", "corrupt", "other"), b.done):
            t[key] += value
    return t
