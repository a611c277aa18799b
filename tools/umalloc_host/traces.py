"""Allocation traces on the host: parse and validate, measure, replay, generate.

Format (DESIGN.md): one event a line, `a ID SIZE` allocate, `f ID` free,
`r ID SIZE` realloc, `#` comments.  A trace is validated as a program would be
checked: an ID is allocated before it is freed or resized, and not allocated
twice while live, so every later figure refers to a well-formed run.
"""

import random
from pathlib import Path

from .errors import UserError

# The project ships its own copies of the sample traces (package data, so a wheel has them too).
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


class TraceError(UserError):
    """A malformed trace: the message names the file and line."""


class Trace:
    """Parsed events as (op, id, size) tuples plus the figures replay needs."""

    def __init__(self, events, name="trace"):
        self.events = events
        self.name = name
        self.peak_live, self.peak_blocks, self.peak_index = _peak(events)

    def __len__(self):
        return len(self.events)

    def sizes(self):
        return [n for op, _, n in self.events if op != "f"]

    def lines(self):
        for op, ident, n in self.events:
            yield "f %d" % ident if op == "f" else "%s %d %d" % (op, ident, n)

    def text(self):
        return "".join(line + "\n" for line in self.lines())

    def slotted_text(self):
        """(text, slots): the same events with IDs renumbered into reusable slots 0..slots-1.

        A freed ID's slot goes to the next allocation, so a player needs only `slots`
        (the most IDs live at once) entries, allocated once, instead of a growing map.
        """
        slot_of, free, out = {}, [], []
        slots = 0
        for op, ident, n in self.events:
            if op == "a":
                if free:
                    slot = free.pop()
                else:
                    slot, slots = slots, slots + 1
                slot_of[ident] = slot
            slot = slot_of[ident]
            if op == "f":
                free.append(slot_of.pop(ident))
                out.append("f %d\n" % slot)
            else:
                out.append("%s %d %d\n" % (op, slot, n))
        return "".join(out), slots


def _peak(events):
    """Peak live bytes (sum of live requested sizes), the live count then, and where."""
    live = {}
    total = peak = peak_blocks = peak_at = 0
    for i, (op, ident, n) in enumerate(events):
        if op == "f":
            total -= live.pop(ident)
            continue
        total += n - live.get(ident, 0)
        live[ident] = n
        if total > peak:
            peak, peak_blocks, peak_at = total, len(live), i
    return peak, peak_blocks, peak_at


def parse(text, name="trace"):
    """Trace from text; TraceError("<name>:<line>: what; fix") on the first bad line."""
    events = []
    live = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = "%s:%d" % (name, lineno)
        parts = line.split()
        op = parts[0]
        want = {"a": 3, "r": 3, "f": 2}.get(op)
        if want is None:
            raise TraceError("%s: unknown event %r (expected `a ID SIZE`, `f ID`, `r ID SIZE` or `# ...`)"
                             % (where, op))
        if len(parts) != want:
            raise TraceError("%s: %r needs %d fields (%s), got %d"
                             % (where, line, want, "op ID SIZE" if want == 3 else "op ID", len(parts)))
        try:
            nums = [int(p) for p in parts[1:]]
        except ValueError:
            raise TraceError("%s: %r: ID and SIZE must be whole numbers" % (where, line))
        ident = nums[0]
        if ident < 0 or (want == 3 and nums[1] < 0):
            raise TraceError("%s: %r: ID and SIZE must not be negative" % (where, line))
        if op == "a":
            if ident in live:
                raise TraceError("%s: ID %d allocated again while still live (free it first)"
                                 % (where, ident))
            live.add(ident)
        elif ident not in live:
            raise TraceError("%s: ID %d is %s but not live (allocate it with `a %d SIZE` first)"
                             % (where, ident, "freed" if op == "f" else "resized", ident))
        elif op == "f":
            live.discard(ident)
        events.append((op, ident, nums[1] if want == 3 else 0))
    if not events:
        raise TraceError("%s: no events (lines like `a 0 64`, `f 0`)" % name)
    return Trace(events, name)


def resolve(spec):
    """A trace path, or the name of a bundled sample (`churn` or `churn.trace`)."""
    path = Path(spec)
    if path.is_file():
        return path
    if path.is_dir():
        raise UserError("%s is a folder: give a trace file in it, or a sample name (%s)"
                        % (spec, ", ".join(sample_names())))
    for cand in (SAMPLES_DIR / spec, SAMPLES_DIR / (spec + ".trace")):
        if cand.is_file():
            return cand
    raise UserError("no trace %r: give a file path or a sample name (%s)"
                    % (spec, ", ".join(sample_names()) or "no samples found in " + str(SAMPLES_DIR)))


def sample_names():
    return sorted(p.stem for p in SAMPLES_DIR.glob("*.trace")) if SAMPLES_DIR.is_dir() else []


def load(spec):
    path = resolve(spec)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise UserError("%s is not a text trace (not UTF-8): give a file of lines like `a 0 64`, "
                        "`f 0`, or a sample name (%s)" % (path, ", ".join(sample_names()))) from None
    except OSError as exc:
        raise UserError("cannot read trace %s (%s)" % (path, exc.strerror or exc)) from None
    return parse(text, path.stem if path.parent == SAMPLES_DIR else str(path))


def _total_free(st):
    """Bytes an allocator could still hand out: heap free plus free partition blocks."""
    return st["free"] + sum(p["nfree"] * p["block_size"] for p in st.get("partitions", ()))


def replay(alloc, trace, frag_every=1):
    """Run the trace through `alloc` (malloc/free/realloc/stats); returns its figures.

    failed counts requests that got None here; fails / fail_fragmented /
    min_ever_free come from the allocator's own stats;
    worst_frag is the highest `frag` seen (sampled every `frag_every` events and
    after every failure); overhead is what the allocator held beyond the live
    requested bytes at the trace's peak event (metadata, headers, rounding, unused
    partition space).  A failed allocation leaves its ID dead: later frees of it
    are skipped, as a program skips freeing NULL.
    """
    live = {}
    live_bytes = {}
    failed_count = 0
    worst = 0.0
    overhead = None
    size0 = alloc.stats()["arena_size"]
    malloc, free, realloc = alloc.malloc, alloc.free, alloc.realloc
    for i, (op, ident, n) in enumerate(trace.events):
        failed = False
        if op == "a":
            p = malloc(n)
            if p is None:
                failed = True
            else:
                live[ident] = p
        elif op == "f":
            p = live.pop(ident, None)
            if p is not None:
                free(p)
                del live_bytes[ident]
        else:
            p = live.get(ident)
            if p is None:           # its allocation failed: the program would malloc
                q = malloc(n)
            else:
                q = realloc(p, n)
            if q is None:
                failed = True
            else:
                live[ident] = q
        if failed:
            failed_count += 1
        elif op != "f":
            live_bytes[ident] = n
        if failed or i % frag_every == 0 or i == trace.peak_index:
            st = alloc.stats()
            if st["frag"] > worst:
                worst = st["frag"]
            if i == trace.peak_index:
                overhead = size0 - _total_free(st) - sum(live_bytes.values())
    st = alloc.stats()
    return {
        "failed": failed_count,
        "fails": st["fail"],
        "fail_fragmented": st["fail_fragmented"],
        "min_ever_free": st["min_ever_free"],
        "worst_frag": max(worst, st["frag"]),
        "end_largest_free": st["largest_free"],
        "overhead": overhead,
        "arena_size": st["arena_size"],
    }


def replays_cleanly(alloc, trace):
    """True when every request of the trace succeeds (stops at the first failure, no stats)."""
    live = {}
    malloc, free, realloc = alloc.malloc, alloc.free, alloc.realloc
    for op, ident, n in trace.events:
        if op == "a":
            p = malloc(n)
        elif op == "f":
            free(live.pop(ident))
            continue
        else:
            p = realloc(live[ident], n)
        if p is None:
            return False
        live[ident] = p
    return True


# -- generated traces (tests, experiments) -----------------------------------

def generate(seed=1, events=400, max_live=40, sizes=(8, 16, 24, 40, 64, 100, 200, 500),
             realloc_share=0.05, name=None):
    """A random but valid trace: allocate until max_live, then churn."""
    rng = random.Random(seed)
    out = []
    live = []
    next_id = 0
    while len(out) < events:
        roll = rng.random()
        if live and (len(live) >= max_live or roll < 0.4):
            ident = live.pop(rng.randrange(len(live)))
            out.append(("f", ident, 0))
        elif live and roll < 0.4 + realloc_share:
            ident = rng.choice(live)
            out.append(("r", ident, rng.choice(sizes)))
        else:
            out.append(("a", next_id, rng.choice(sizes)))
            live.append(next_id)
            next_id += 1
    return Trace(out, name or "generated-%d" % seed)
