"""Draw a monitor log (JSONL from `umalloc monitor --log`) as a PNG.

Panels: frag over time; free, largest free and min-ever-free bytes; partition
occupancy; failed requests (vertical marks where the fail counters rise, in every
panel); and the memory map at chosen instants as coloured strips.
"""

import json
from pathlib import Path

from .errors import UserError

# Map cell colours, as in the live view: metadata grey, partitions magenta, heap red/green.
CELL_COLOURS = {"#": "#808080", "P": "#b000b0", "p": "#f0b8f0", "U": "#d62728", ".": "#2ca02c",
                " ": "#ffffff"}
CELL_NAMES = {"#": "metadata", "P": "partition used", "p": "partition free",
              "U": "heap used", ".": "heap free"}


def load_log(path):
    """Frames of a JSONL log, oldest first; lines that are not frames are skipped."""
    frames, skipped = [], 0
    try:
        f = open(path, encoding="utf-8", errors="replace")   # binary: no frames, not a crash
    except OSError as exc:
        raise UserError("cannot read %s (%s): record one with `umalloc monitor --log %s`"
                        % (path, exc.strerror or exc, path))
    with f:
        for line in f:
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            if not is_frame(row):
                skipped += 1
                continue
            frames.append(row)
    if not frames:
        raise UserError("%s holds no frames (%d other lines): it is not a monitor log; record "
                        "one with `umalloc monitor --log %s`" % (path, skipped, path))
    return frames


FRAME_NUMBERS = ("seq", "ms", "arena_size", "free", "largest_free", "min_ever_free", "frag", "fail")
PARTITION_NUMBERS = ("block_size", "nblks", "nused", "fail")


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_frame(row):
    """True for a log line with every field the plot reads, each of its type: a line edited
    by hand or cut short is skipped like other text, not a crash in the middle of drawing."""
    if not isinstance(row, dict) or not isinstance(row.get("map"), str):
        return False
    if not all(_number(row.get(key)) for key in FRAME_NUMBERS):
        return False
    if "t" in row and not _number(row["t"]):
        return False
    parts = row.get("partitions", [])
    return isinstance(parts, list) and all(
        isinstance(q, dict) and all(_number(q.get(key)) for key in PARTITION_NUMBERS) for q in parts)


def session_starts(frames):
    """Indexes of the frames that begin a new run of the device after the first (a log
    appended to by a second `umalloc monitor`, or a board reset while recording): its frame
    counter or its ms clock went back."""
    return [i for i in range(1, len(frames))
            if frames[i].get("seq", 0) < frames[i - 1].get("seq", 0) or frames[i]["ms"] < frames[i - 1]["ms"]]


def times(frames):
    """Seconds since the first frame: host receive time, else the device's ms clock.

    The device's clock also when the host times collapse (a log of captured output piped in
    at once: every frame arrived in the same instant) while the device's moved forward.  On
    the device's clock a new run (session_starts) follows the previous one's last frame."""
    device, offset = [], 0.0
    starts = set(session_starts(frames))
    for i, f in enumerate(frames):
        if i == 0 or i in starts:
            offset = (device[-1] if device else 0.0) - f["ms"] / 1000
        device.append(f["ms"] / 1000 + offset)
    if all("t" in f for f in frames):
        t0 = frames[0]["t"]
        host = [f["t"] - t0 for f in frames]
        if host[-1] > 0 or not device[-1] > 0:
            return host
    return device


def broken(ts, values, starts):
    """(xs, ys) for one line per run: a gap (NaN) before each session start, so that no line
    joins the end of one run to the start of the next."""
    xs, ys, cut = [], [], set(starts)
    for i, (t, v) in enumerate(zip(ts, values)):
        if i in cut:
            xs.append(t)
            ys.append(float("nan"))
        xs.append(t)
        ys.append(v)
    return xs, ys


def failure_times(frames, ts):
    """Times at which any failure counter rose (heap or a partition)."""
    out = []
    prev = None
    for f, t in zip(frames, ts):
        total = f["fail"] + sum(q["fail"] for q in f.get("partitions", ()))
        if prev is not None and total > prev:
            out.append(t)
        prev = total
    return out


def pick_instants(ts, at):
    """Indexes of the frames nearest each requested time; default first, middle, last."""
    if not at:
        idx = sorted({0, len(ts) // 2, len(ts) - 1})
        return idx
    late = [a for a in at if not ts[0] <= a <= ts[-1]]
    if late:     # the nearest frame would be the first or last one again, silently
        raise UserError("--at %g: the log spans %g to %g s; give times inside it"
                        % (late[0], ts[0], ts[-1]))
    return [min(range(len(ts)), key=lambda i: abs(ts[i] - a)) for a in at]


def map_rgb(cells):
    from matplotlib.colors import to_rgb
    return [to_rgb(CELL_COLOURS.get(c, "#ffff00")) for c in cells]


def plot(log_path, out_path, at=(), title=None):
    """Write the PNG; returns a dict of what was drawn (frames, instants, failures)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    frames = load_log(log_path)
    ts = times(frames)
    starts = session_starts(frames)

    def line(ax, values, **style):
        ax.plot(*broken(ts, values, starts), **style)
    fails = failure_times(frames, ts)
    instants = pick_instants(ts, at)
    parts = frames[-1].get("partitions", [])
    fig = plt.figure(figsize=(11, 9.5), constrained_layout=True)
    grid = fig.add_gridspec(4, 1, height_ratios=[1, 1.2, 1, 0.28 * len(instants) + 0.5])
    ax_frag = fig.add_subplot(grid[0])
    ax_bytes = fig.add_subplot(grid[1], sharex=ax_frag)
    ax_parts = fig.add_subplot(grid[2], sharex=ax_frag)
    ax_map = fig.add_subplot(grid[3])
    fig.suptitle(title or "umalloc: %s  (%d frames, arena %d B)"
                 % (Path(log_path).name, len(frames), frames[-1]["arena_size"]))

    line(ax_frag, [f["frag"] for f in frames], color="tab:orange")
    ax_frag.set_ylabel("frag")
    ax_frag.set_ylim(-0.02, 1.02)
    ax_frag.set_title("fragmentation = 1 - largest_free / free", fontsize=9, loc="left")

    line(ax_bytes, [f["free"] for f in frames], label="free", color="tab:green")
    line(ax_bytes, [f["largest_free"] for f in frames], label="largest free", color="tab:blue")
    line(ax_bytes, [f["min_ever_free"] for f in frames], label="min ever free",
         color="tab:gray", linestyle="--")
    ax_bytes.set_ylabel("bytes (heap)")
    ax_bytes.set_ylim(bottom=0)

    for k, q in enumerate(parts):
        series = []
        for f in frames:
            ps = f.get("partitions", [])
            series.append(100.0 * ps[k]["nused"] / ps[k]["nblks"]
                          if k < len(ps) and ps[k]["nblks"] else float("nan"))
        line(ax_parts, series, label="%d B x %d" % (q["block_size"], q["nblks"]))
    ax_parts.set_ylabel("partition used %")
    ax_parts.set_ylim(-2, 102)
    ax_parts.set_xlabel("seconds")
    if parts:
        ax_parts.legend(loc="upper left", fontsize=8, ncol=4, framealpha=0.9)

    for ax in (ax_frag, ax_bytes, ax_parts):
        ax.grid(alpha=0.3)
        for k, t in enumerate(fails):
            ax.axvline(t, color="red", alpha=0.35, linewidth=0.8,
                       label="failed request" if (k == 0 and ax is ax_bytes) else None)
        for k, i in enumerate(starts):
            ax.axvline(ts[i], color="black", alpha=0.5, linewidth=0.8, linestyle=":",
                       label="new run of the device" if (k == 0 and ax is ax_bytes) else None)
    ax_bytes.legend(loc="upper right", fontsize=8, ncol=5)

    rows = [map_rgb(frames[i]["map"]) for i in instants]
    width = max(len(r) for r in rows)
    rows = [r + [(1, 1, 1)] * (width - len(r)) for r in rows]
    ax_map.imshow(rows, aspect="auto", interpolation="nearest")
    ax_map.set_yticks(range(len(instants)))
    ax_map.set_yticklabels(["t=%.1f s" % ts[i] for i in instants], fontsize=8)
    ax_map.set_xticks([0, width // 2, width - 1])
    ax_map.set_xticklabels(["0", "%d B" % (frames[-1]["arena_size"] // 2),
                            "%d B" % frames[-1]["arena_size"]], fontsize=8)
    ax_map.set_title("memory map (one cell = %d B)" % (frames[-1]["arena_size"] // width),
                     fontsize=9, loc="left")
    ax_map.legend(handles=[Patch(color=CELL_COLOURS[c], label=n) for c, n in CELL_NAMES.items()],
                  loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=5, fontsize=8,
                  frameon=False)
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return {"frames": len(frames), "instants": [round(ts[i], 3) for i in instants],
            "failures": len(fails), "seconds": round(ts[-1], 3), "runs": 1 + len(starts)}
