"""Frame sizes for the board layouts and how fast the host parses frames.

Sizes are measured on real Arena objects carved like each board profile, through a
fragmenting workload, with the counters pushed to pessimistic values (10-digit
sequence number and timestamp, 6-digit failure counts) so the figure is a ceiling.
"""

import random
import time

import umalloc
from umalloc import frame

from . import profiles
from .monitor import scan_line

BAUD_BYTES_PER_S = 115200 / 10           # 8N1: ten bits on the wire per byte


def layout_arena(name):
    arena = profiles.load(name)["arena"]
    return umalloc.Arena(arena["arena_size"], partitions=tuple(map(tuple, arena["partitions"])),
                         policy=arena.get("policy", "good"))


def churn(arena, steps=400, seed=1):
    """Random mallocs/frees; yields after each step so frames can be taken mid-way."""
    rng = random.Random(seed)
    live = []
    for _ in range(steps):
        if live and rng.random() < 0.45:
            arena.free(live.pop(rng.randrange(len(live))))
        else:
            p = arena.malloc(rng.choice((8, 16, 24, 40, 64, 100, 250, 700, 1500, 3000)))
            if p is not None:
                live.append(p)
        yield


def pessimistic(stats):
    st = dict(stats)
    st["fail"], st["fail_fragmented"] = 999999, 999999
    st["partitions"] = [dict(q, fail=999999) for q in stats["partitions"]]
    return st


def worst_map(width=frame.MAP_WIDTH):
    """A map with no two neighbouring cells alike: the longest run-length code."""
    return ("U." * width)[:width]


# "typical": a board an hour into reporting once a second.  Fixed, because encode()'s own
# sequence number counts every frame this process made and its ms clock is the host's, so
# the figure moved with the machine's uptime and with what ran before in the process.
TYPICAL_SEQ, TYPICAL_MS = 3600, 3600 * 1000


def frame_sizes(name):
    """(typical max, ceiling) frame bytes for board `name`, newline excluded."""
    arena = layout_arena(name)
    typical = 0
    for i, _ in enumerate(churn(arena)):
        if i % 10 == 0:
            typical = max(typical, len(frame.encode(arena, seq=TYPICAL_SEQ, ms=TYPICAL_MS)))
    ceiling = len(frame.encode_figures(pessimistic(arena.stats()), worst_map(),
                                       seq=frame.TICKS_MASK, ms=frame.TICKS_MASK))
    return typical, ceiling


def frames_per_s(size, newline=2):
    return BAUD_BYTES_PER_S / (size + newline)


def parse_rate(n=20000, name="pico"):
    """Frames per second through the host scanner (decode + checks), best of 3."""
    arena = layout_arena(name)
    lines = []
    for i, _ in enumerate(churn(arena, steps=200)):
        lines.append(frame.encode(arena))
    lines = (lines * (n // len(lines) + 1))[:n]
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        for line in lines:
            scan_line(line)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return n / best


def run(out=print):
    out("frame size (bytes, without newline) and frames/s at 115200 baud (8N1, CRLF); typical: "
        "an hour into a run (sequence %d, %d ms):" % (TYPICAL_SEQ, TYPICAL_MS))
    for name in profiles.names():
        try:
            typical, ceiling = frame_sizes(name)
        except Exception as exc:            # a profile this build cannot carve: say so
            out("  %-6s skipped: %s" % (name, exc))
            continue
        out("  %-6s typical max %3d B (%.0f frames/s)   ceiling %3d B (%.0f frames/s)   budget %d B %s"
            % (name, typical, frames_per_s(typical), ceiling, frames_per_s(ceiling),
               frame.BUDGET, "ok" if ceiling <= frame.BUDGET else "OVER"))
    out("host parse rate: %.0f frames/s" % parse_rate())
    return 0
