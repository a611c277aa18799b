"""`umalloc bench` host side: run mp/bench_device.py on the unix port or a board, reduce it.

Every figure is a median over REPS repetitions of N operations, with the cost of
an empty `for` loop of N subtracted, so ratios compare the operations alone.
"""

from pathlib import Path

from . import unixport
from .errors import UserError

SCRIPT = Path(__file__).with_name("mp") / "bench_device.py"
UNIX_HEAP = "192k"     # the GC heap bytearray() works in: about an RP2040's

# (key, what, baseline key, goal ratio or None)
ROWS = (
    ("call", "empty function call (floor)", None, None),
    ("bytearray32", "bytearray(32)", None, None),
    ("part_pair", "partition get+put pair", "bytearray32", 1.0),
    ("part_locked", "  same, Arena(lock=_thread lock)", "bytearray32", None),
    ("bytearray64", "bytearray(64)", None, None),
    ("heap_pair64", "heap malloc+free (64 B)", "bytearray64", 1.5),
    ("heap_moving", "  same, free block changing size class", "bytearray64", None),
    ("heap_locked", "  same, Arena(lock=_thread lock)", "bytearray64", None),
    ("frag10", "malloc+free, 10 free fragments", None, None),
    ("frag1000", "malloc+free, 1000 free fragments", "frag10", 2.0),
)


def source(reps, n):
    return "REPS, N = %d, %d\n" % (reps, n) + SCRIPT.read_text()


def run_unix(reps, n):
    proc = unixport.run_code(source(reps, n), heap=UNIX_HEAP, timeout=600)
    if "BENCH_DONE" not in proc.stdout:
        raise UserError("the benchmark failed on the unix port: %s"
                        % ((proc.stderr or proc.stdout).strip().splitlines() or ["no output"])[-1])
    return proc.stdout


def run_board(port, reps, n):
    from .board import Board
    board = Board(port)
    try:
        return board.exec(source(reps, n), timeout=600)
    finally:
        board.close()


def median(xs):
    xs = sorted(xs)
    k = len(xs)
    return xs[k // 2] if k % 2 else (xs[k // 2 - 1] + xs[k // 2]) / 2


def reduce(output):
    """{key: net ns per op}, fragment counts, reps, n from the device's lines."""
    samples = {}
    frags = {}
    reps = n = None
    for line in output.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "BENCH" and len(f) == 3:
            samples.setdefault(f[1], []).append(int(f[2]))
        elif f[0] == "FRAGS" and len(f) == 3:
            frags[int(f[1])] = int(f[2])
        elif f[0] == "BENCH_DONE":
            reps, n = int(f[1]), int(f[2])
    if n is None or "loop" not in samples:
        raise UserError("the benchmark output is incomplete; run it again (is the board busy?)")
    loop = median(samples["loop"])
    net = {k: max(0.0, (median(v) - loop)) * 1000.0 / n for k, v in samples.items() if k != "loop"}
    net["loop"] = loop * 1000.0 / n
    return net, frags, reps, n


def table(net):
    """Rows (what, ns/op, ratio text, goal text, verdict)."""
    rows = []
    for key, what, base, goal in ROWS:
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
