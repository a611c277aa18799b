"""`umalloc bench` host side: run mp/bench_device.py on the unix port or a board, reduce it.

Three phases, each in a fresh interpreter (a new unix-port process, or a soft reset):
  import  gc.mem_alloc() taken by `import umalloc`, by the first Arena, and by the first
          malloc+free, partitioned Arena and stats/check/realloc/view, once per place
          umalloc can come from (.mpy in /lib, frozen in the firmware);
  speed   medians over REPS repetitions of N operations, the cost of an empty `for`
          loop of N subtracted, so ratios compare the operations alone;
  worst   the longest single operation (and p99.9) over WORST operations, with LIVE
          bytes of live GC objects so that bytearray() pays for its collections.
On a board run under QEMU with -icount the guest clock counts instructions, so the
figures are the same on every run.
"""

from pathlib import Path

from . import unixport
from .errors import UserError

SCRIPT = Path(__file__).with_name("mp") / "bench_device.py"
UNIX_HEAP = "192k"     # the GC heap bytearray() works in: about an RP2040's
LIVE = 100000          # live GC bytes during the worst-case phase
WORST_GOAL = 50        # umalloc's longest op at most 1/50 of bytearray()'s

# (key, what, baseline key, goal on the unix port, goal on a board)
ROWS = (
    ("call", "empty function call (floor)", None, None, None),
    ("bytearray32", "bytearray(32)", None, None, None),
    ("part_pair", "partition get+put pair", "bytearray32", 1.0, 0.9),
    ("part_noirq", "  same, Arena(irq=False): no masking", "bytearray32", None, None),
    ("part_locked", "  same, Arena(lock=_thread lock)", "bytearray32", None, None),
    ("bytearray64", "bytearray(64)", None, None, None),
    ("heap_pair64", "heap malloc+free (64 B)", "bytearray64", 1.5, 1.2),
    ("heap_noirq", "  same, Arena(irq=False): no masking", "bytearray64", None, None),
    ("heap_moving", "  same, free block changing size class", "bytearray64", None, None),
    ("heap_locked", "  same, Arena(lock=_thread lock)", "bytearray64", None, None),
    ("frag10", "malloc+free, 10 free fragments", None, None, None),
    ("frag1000", "malloc+free, 1000 free fragments", "frag10", 2.0, 2.0),
)

# import RAM goals by where umalloc came from (bytes); source on the unix port has none
IMPORT_GOALS = {"mpy": 10 * 1024, "frozen": 4 * 1024}
IMPORT_KINDS = {"mpy": ".mpy in /lib", "frozen": "frozen", "py": ".py source"}

WORST_ROWS = (
    ("bytearray64", "bytearray(64)"),
    ("heap_pair64", "heap malloc+free (64 B)"),
    ("part_pair64", "partition get+put (64 B blocks)"),
)


def source(phase, reps=1, n=1, worst=0, live=LIVE, first=None):
    head = "PHASE, REPS, N, WORST, LIVE, FIRST = %r, %d, %d, %d, %d, %r\n" % (
        phase, reps, n, worst, live, first)
    return head + SCRIPT.read_text()


def _phases(reps, n, worst, board):
    """(phase, source) in run order; on a board the import phase runs for /lib and frozen."""
    out = [("import", source("import", first="/lib" if board else None))]
    if board:
        out.append(("import", source("import", first=".frozen")))
    out.append(("speed", source("speed", reps, n)))
    if worst:
        out.append(("worst", source("worst", worst=worst)))
    return out


def _checked(phase, text):
    if "BENCH_DONE %s" % phase not in text:
        raise UserError("the benchmark's %s phase stopped early: %s" % (
            phase, (text.strip().splitlines() or ["no output"])[-1]))
    return text


def run_unix(reps, n, worst=0, progress=None):
    unixport.find_micropython()    # no unix port: its one-line error before any progress line
    outs = []
    for phase, code in _phases(reps, n, worst, board=False):
        if progress:
            progress(phase)
        proc = unixport.run_code(code, heap=UNIX_HEAP, timeout=600)
        if "BENCH_DONE" not in proc.stdout:
            raise UserError("the benchmark failed on the unix port: %s"
                            % ((proc.stderr or proc.stdout).strip().splitlines() or ["no output"])[-1])
        outs.append(_checked(phase, proc.stdout))
    return "\n".join(outs)


def run_board(port, reps, n, worst=0, progress=None):
    """Each phase after a soft reset, so import RAM is measured in a fresh interpreter."""
    from .board import Board, DeviceError
    board = Board(port)
    outs = []
    try:
        outs.append("PLATFORM %s" % board.eval("__import__('sys').platform"))
        for phase, code in _phases(reps, n, worst, board=True):
            if progress:
                progress(phase)
            board.skip_app_boot()     # measured in the heap a board has without the app
            board.reset()
            try:
                outs.append(_checked(phase, board.exec(code, timeout=1200)))
            except DeviceError as exc:
                hint = ("a boot.py that takes RAM at every reset (not `umalloc deploy --app`'s, "
                        "which the bench skips) leaves too little: remove it (`mpremote connect "
                        "%s rm :boot.py`) and run it again" % port
                        if "MemoryError" in exc.exception_line else
                        "deploy the current umalloc with `umalloc deploy --port %s` and run it "
                        "again" % port)
                raise UserError("the benchmark's %s phase failed on %s (%s): %s"
                                % (phase, port, exc.exception_line, hint)) from None
    finally:
        board.close()
    return "\n".join(outs)


def median(xs):
    xs = sorted(xs)
    k = len(xs)
    return xs[k // 2] if k % 2 else (xs[k // 2 - 1] + xs[k // 2]) / 2


def on_unix_port(output):
    """True when the board's PLATFORM line names the unix port (the virtual board through
    --port): its timings are the host's, preempted by its OS, as without --port."""
    for line in output.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == "PLATFORM":
            return f[1] in unixport.PLATFORMS
    return False


def ns_per_tick(output):
    """The device clock's tick (CLOCK line): 1000 for ticks_us, 40 for QEMU's 25 MHz timer."""
    for line in output.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == "CLOCK":
            return int(f[1])
    return 1000


def reduce(output):
    """{key: net ns per op}, fragment counts, reps, n from the speed phase's lines."""
    samples = {}
    frags = {}
    reps = n = None
    tick = ns_per_tick(output)
    for line in output.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "BENCH" and len(f) == 3:
            samples.setdefault(f[1], []).append(int(f[2]))
        elif f[0] == "FRAGS" and len(f) == 3:
            frags[int(f[1])] = int(f[2])
        elif f[0] == "BENCH_DONE" and len(f) == 4 and f[1] == "speed":
            reps, n = int(f[2]), int(f[3])
    if n is None or "loop" not in samples:
        raise UserError("the benchmark output is incomplete; run it again (is the board busy?)")
    loop = median(samples["loop"])
    net = {k: max(0.0, (median(v) - loop)) * tick / n for k, v in samples.items() if k != "loop"}
    net["loop"] = loop * tick / n
    return net, frags, reps, n


def reduce_imports(output):
    """{kind: (file, import bytes, first-Arena bytes)}; the same kind twice counts once."""
    found = {}
    for line in output.splitlines():
        f = line.split()
        if len(f) == 5 and f[0] == "IMPORT":
            found.setdefault(f[1], (f[2], int(f[3]), int(f[4])))
    return found


def reduce_first(output):
    """{kind: {step: bytes}}: what the first malloc+free, the first Arena with partitions
    (get+put) and the first stats/check/realloc/view keep after the import phase's Arena."""
    found = {}
    for line in output.splitlines():
        f = line.split()
        if len(f) == 4 and f[0] == "FIRST":
            found.setdefault(f[1], {}).setdefault(f[2], int(f[3]))
    return found


# FIRST steps: (key, row label); the first one is part of what any program pays
FIRST_STEPS = (("malloc", "  first malloc+free"),
               ("partitions", "  first Arena(4096, partitions=...), get+put, beyond its buffer"),
               ("report", "  first stats() and map(), what a report reads"),
               ("cold", "  then first check(), realloc(), view()"))


def heap_state(output):
    """(bytes in use, bytes free) on the GC heap while the ratio rows ran, or None."""
    for line in output.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "HEAP":
            return int(f[1]), int(f[2])
    return None


def gc_bytes(output):
    """{name: GC heap bytes one op leaves allocated} from the speed phase."""
    found = {}
    for line in output.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "GCBYTES":
            found[f[1]] = int(f[2])
    return found


def gc_bytes_line(found):
    """One line for the report: umalloc's pairs against bytearray(64)."""
    if not found:
        return None
    names = (("heap_pair64", "malloc+free(64)"), ("part_pair", "get+put"), ("bytearray64", "bytearray(64)"))
    return "GC heap bytes per op (collections off): " + ", ".join(
        "%s %d" % (what, found[key]) for key, what in names if key in found)


def speed_source(output):
    """Where the speed phase imported umalloc from (its __file__, within the checkout if there)."""
    from . import REPO_ROOT
    for line in output.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == "USING":
            root = str(REPO_ROOT) + "/"
            return f[1][len(root):] if f[1].startswith(root) else f[1]
    return None


def reduce_worst(output):
    """(live GC bytes or None, {name: (ops, max us, p99.9 us)}), times from device ticks."""
    live = None
    worst = {}
    tick = ns_per_tick(output)
    for line in output.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "LIVE":
            live = int(f[1])
        elif len(f) == 5 and f[0] == "WORST":
            worst[f[1]] = (int(f[2]), int(f[3]) * tick / 1000.0, int(f[4]) * tick / 1000.0)
    return live, worst


def table(net, board=False):
    """Rows (what, ns/op, ratio text, goal text, verdict)."""
    rows = []
    for key, what, base, unix_goal, board_goal in ROWS:
        goal = board_goal if board else unix_goal
        if key not in net:
            continue
        ratio = ""
        verdict = ""
        if base:
            r = net[key] / net[base] if net[base] else float("inf")
            ratio = "%.2fx %s" % (r, base)
            if goal is not None:
                verdict = "ok" if r <= goal else "MISSED by %.2fx" % (r / goal)
        rows.append((what, "%.0f" % net[key], ratio, "<= %.1fx" % goal if goal else "", verdict))
    return rows


def import_table(imports, firsts=None):
    """Rows (what, bytes, goal text, verdict): import, then the first Arena beyond its buffer,
    then (when the device printed them) each further first use, so that RAM moved out of
    `import umalloc` into a first use still shows."""
    rows = []
    for kind in ("mpy", "frozen", "py"):
        if kind not in imports:
            continue
        _, imported, arena = imports[kind]
        goal = IMPORT_GOALS.get(kind)
        verdict = "" if goal is None else ("ok" if imported <= goal else
                                           "MISSED by %.2fx (%d B)" % (imported / goal, imported - goal))
        rows.append(("import umalloc (%s)" % IMPORT_KINDS[kind], "%d" % imported,
                     "<= %d" % goal if goal else "", verdict))
        rows.append(("  first Arena(4096), beyond its buffer", "%d" % arena, "", ""))
        steps = (firsts or {}).get(kind, {})
        if "malloc" not in steps:
            rows.append(("  together", "%d" % (imported + arena), "", ""))
            continue
        rows.append((FIRST_STEPS[0][1], "%d" % steps["malloc"], "", ""))
        together = imported + arena + steps["malloc"]
        rows.append(("  together: import, Arena(4096), malloc+free", "%d" % together, "", ""))
        for key, what in FIRST_STEPS[1:]:
            if key in steps:
                rows.append((what, "%d" % steps[key], "", ""))
                together += steps[key]
        rows.append(("  all of the above", "%d" % together, "", ""))
    if "preloaded" in imports:
        rows.append(("import umalloc", "n/a", "", "already imported at boot (boot.py)"))
    return rows


def import_notes(imports):
    """Lines to print under the RAM table."""
    if "mpy" in imports and "frozen" in imports:
        return ["the .mpy figure on a firmware that also freezes umalloc is lower than on a plain "
                "firmware: the .mpy shares the frozen copy's names (qstrs)"]
    return []


def _fraction(part, whole):
    """part/whole as '1/N' (how many times smaller), for worst-case ratios."""
    if whole <= 0:
        return "n/a"
    if part <= 0:
        return "< 1/%d" % whole        # below the clock's tick
    return "1/%d" % (whole / part) if part <= whole else "%.1fx" % (part / whole)


def worst_table(worst, board=True):
    """Rows (what, max us, p99.9 us, max ratio, p99.9 ratio, goal, verdict); off a board (the
    unix port) the longest op is whenever the host OS preempted it: shown, not judged."""
    rows = []
    base = worst.get("bytearray64")
    for key, what in WORST_ROWS:
        if key not in worst:
            continue
        _, longest, p999 = worst[key]
        if key == "bytearray64" or base is None:
            rows.append((what, "%.1f" % longest, "%.1f" % p999, "", "", "", ""))
            continue
        ok = longest * WORST_GOAL <= base[1]
        rows.append((what, "%.1f" % longest, "%.1f" % p999, _fraction(longest, base[1]),
                     _fraction(p999, base[2]), "<= 1/%d" % WORST_GOAL,
                     "not judged: the host OS preempts" if not board else
                     "ok" if ok else "MISSED by %.1fx" % (longest * WORST_GOAL / base[1])))
    return rows


def format_rows(header, rows, right=(1,)):
    """Text lines of an aligned table; columns in `right` are right-aligned."""
    rows = [header] + list(rows)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths).rstrip())
    return lines
