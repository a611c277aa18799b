"""GC heap vs umalloc on the MicroPython unix port, each given the same memory budget.

The budget is the memory the trace itself may use:
  * GC run: `-X heapsize` is chosen so that gc.mem_free() right after the trace
    player's setup (interpreter, the player's slot list and read buffer, measured
    with gc.mem_alloc()) equals the budget.  Every bytearray the trace asks for,
    object header included, must come out of it - that is what bytearrays cost.
  * umalloc run: the arena is `budget` bytes, metadata and block headers included;
    the interpreter gets a generous heap besides, as the arena is reserved at boot.
The player's own memory is reported (setup mem_alloc), not charged to either.
"""

import tempfile
from pathlib import Path

from . import unixport
from .errors import UserError

PLAYER = Path(__file__).with_name("mp") / "trace_player.py"
OPS = {"a": 0, "f": 1, "r": 2}


def pack(trace, out_path):
    """Events as 6-byte records with IDs mapped to reused slots; returns the slot count."""
    slot_of = {}
    spare = []
    nslots = 0
    out = bytearray()
    for op, ident, n in trace.events:
        if n >= 1 << 24:
            raise UserError("%s: a request of %d bytes is beyond what gcbench packs (16 MiB)" % (trace.name, n))
        if op == "a":
            if spare:
                s = spare.pop()
            else:
                s, nslots = nslots, nslots + 1
            slot_of[ident] = s
        else:
            s = slot_of[ident]
            if op == "f":
                spare.append(slot_of.pop(ident))
        out += bytes((OPS[op], s & 255, s >> 8, n & 255, (n >> 8) & 255, n >> 16))
    Path(out_path).write_bytes(bytes(out))
    return max(nslots, 1)


class StartFailed(Exception):
    """The interpreter ran out of heap before the player's setup was done."""


def _parse(proc, what):
    if "LAYOUT_DOES_NOT_FIT" in proc.stdout or (
            "MemoryError" in proc.stdout and "RESULT" not in proc.stdout and "SETUP_DONE" not in proc.stdout):
        raise StartFailed(what)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            f = line.split()
            keys = ("events", "fails", "start_alloc", "setup_alloc", "setup_free", "heap_total", "min_ever_free")
            return dict(zip(keys, map(int, f[2:])), mode=f[1])
    raise UserError("the MicroPython trace player failed (%s): %s"
                    % (what, (proc.stderr or proc.stdout).strip().splitlines()[-1:] or "no output"))


class Bench:
    """Packs the trace once; runs the player on the unix port by budget."""

    def __init__(self, trace, layout=None, workdir=None):
        self.trace = trace
        self.layout = layout
        self._tmp = tempfile.TemporaryDirectory() if workdir is None else None
        self.dir = Path(workdir or self._tmp.name)
        self.packed = self.dir / "trace.bin"
        self.nslots = pack(trace, self.packed)
        self.player = self._compiled_player()
        self._calibrate()

    def close(self):
        if self._tmp:
            self._tmp.cleanup()

    def _compiled_player(self):
        """The player as .mpy, so small heaps need not hold the compiler's working memory."""
        import subprocess
        from .mpybuild import mpy_cross_path
        out = self.dir / "trace_player.mpy"
        try:
            subprocess.run([mpy_cross_path(), "-o", str(out), str(PLAYER)], check=True,
                           capture_output=True, timeout=60)
        except (UserError, OSError, subprocess.SubprocessError):
            return None            # the source runs too, it just needs more heap to start
        return out

    def _player(self, mode, heap, budget):
        if self.player is not None:
            args = ["-m", "trace_player"]
            path = [self.dir]
        else:
            args, path = [str(PLAYER)], []
        args += [mode, str(self.packed), str(self.nslots), str(budget)]
        if mode == "umalloc" and self.layout is not None:
            lay = self.layout
            args += [",".join("%dx%d" % p for p in lay.partitions) or "-", lay.policy,
                     str(256 if lay.small_threshold is None else lay.small_threshold), str(lay.align or 0)]
        proc = unixport.run(args, heap=str(heap), path=path, timeout=300)
        try:
            return _parse(proc, "%s, heap %s" % (mode, heap))
        except StartFailed:
            # too small a heap to start, or an arena too small for the layout: all requests fail
            return {"events": len(self.trace), "fails": len(self.trace), "start_alloc": -1,
                    "setup_alloc": -1, "setup_free": 0, "heap_total": -1, "min_ever_free": -1,
                    "mode": mode, "start_failed": True}

    def _calibrate(self):
        """Usable heap is a near-linear function of -X heapsize: measure two points."""
        lo, hi = 64 * 1024, 512 * 1024
        a = self._player("setup", lo, 0)
        b = self._player("setup", hi, 0)
        self.baseline = b["setup_alloc"]            # interpreter + player after setup
        self.start_alloc = b["start_alloc"]
        self._slope = (b["heap_total"] - a["heap_total"]) / (hi - lo)
        self._icept = a["heap_total"] - self._slope * lo

    def heap_for(self, budget):
        """-X heapsize whose free memory after setup is about `budget`."""
        return int((budget + self.baseline - self._icept) / self._slope) + 1

    def run_gc(self, budget):
        return self._player("gc", self.heap_for(budget), budget)

    def run_umalloc(self, budget):
        heap = budget + self.baseline + 256 * 1024
        return self._player("umalloc", heap, budget)

    def min_budget(self, run, hi, step=64, on_step=None):
        """Smallest budget (multiple of `step`) with zero failures, or None if even `hi` fails."""
        lo = max(step, self.trace.peak_live // step * step)
        if run(lo)["fails"] == 0:
            return lo
        if run(hi)["fails"]:
            return None
        while hi - lo > step:
            mid = (lo + hi) // 2 // step * step
            if on_step:
                on_step()
            if run(mid)["fails"] == 0:
                hi = mid
            else:
                lo = mid
        return hi
