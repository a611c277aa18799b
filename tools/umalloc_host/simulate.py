"""Contestants for trace replay and the smallest-arena search.

A contestant is a label plus a factory `make(arena_size) -> allocator`; umalloc
contestants build the real lib/umalloc Arena (the code that runs on the board),
the others come from refalloc.  `min_arena` bisects the smallest arena size
with which a trace replays without a single failed request.
"""

import json
from pathlib import Path

import umalloc
import umalloc._arenainit    # validated(): the core's checks of partitions
from umalloc.arena import MAX_ARENA

from . import profiles, traces
from .errors import UserError
from .notation import partitions_text
from .refalloc import BuddyAllocator, FirstFit8

POLICIES = umalloc.POLICIES


class Layout:
    """What `Arena(...)` needs besides the size: partitions and policy (plus a nominal size).

    small_threshold (twoended: requests whose block is at most this many bytes go top-down)
    and align (heap payload alignment, 4 or 8) are None when the layout keeps Arena's defaults.
    """

    def __init__(self, partitions=(), policy="good", arena_size=None, source="default",
                 small_threshold=None, align=None):
        self.partitions = tuple((int(s), int(c)) for s, c in partitions)
        self.policy = policy
        self.arena_size = arena_size
        self.source = source
        self.small_threshold = small_threshold
        self.align = align

    def options(self):
        """Arena keyword arguments beyond partitions and policy (only those not left to defaults)."""
        out = {}
        if self.small_threshold is not None:
            out["small_threshold"] = self.small_threshold
        if self.align is not None:
            out["align"] = self.align
        return out

    def to_json(self):
        d = {"arena_size": self.arena_size, "partitions": [list(p) for p in self.partitions],
             "policy": self.policy}
        d.update(self.options())
        return d

    def describe(self):
        parts = partitions_text(self.partitions, none="no partitions")   # block size x count
        extra = "".join(", %s %d" % kv for kv in sorted(self.options().items()))
        return "%s, policy %s%s" % (parts, self.policy, extra)


DEFAULT_LAYOUT = Layout(umalloc.arena.DEFAULT_PARTITIONS, "good", None, "umalloc defaults")


LAYOUT_KEYS = ("arena_size", "partitions", "policy", "small_threshold", "align")


def _whole(value):
    """An int from JSON (not a bool, a float or a string, which int() would quietly convert)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(value)
    return value


def layout_from_dict(d, where):
    """A layout JSON object (`{"arena_size", "partitions", "policy"}`), checked."""
    if not isinstance(d, dict):
        raise UserError("%s: a layout is a JSON object with arena_size, partitions, policy" % where)
    unknown = sorted(set(d) - set(LAYOUT_KEYS))
    if unknown:     # a misspelt key would silently replay the defaults
        raise UserError("%s: unknown key %r: a layout has %s" % (where, unknown[0], ", ".join(LAYOUT_KEYS)))
    parts = d.get("partitions", [])
    try:
        parts = [(_whole(s), _whole(c)) for s, c in parts]
    except (TypeError, ValueError):
        raise UserError("%s: partitions must be a list of [block_size, count] pairs of whole "
                        "numbers" % where)
    policy = d.get("policy", "good")
    if policy not in POLICIES:
        raise UserError("%s: policy %r is not one of %s" % (where, policy, ", ".join(POLICIES)))
    size = d.get("arena_size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
        raise UserError("%s: arena_size must be a positive whole number of bytes" % where)
    if size is not None and size >= MAX_ARENA:
        raise UserError("%s: arena_size %d is above umalloc's limit: an arena is at most %d bytes "
                        "(offsets are 24-bit)" % (where, size, MAX_ARENA - 1))
    small = d.get("small_threshold")
    if small is not None and (not isinstance(small, int) or isinstance(small, bool) or small < 0):
        raise UserError("%s: small_threshold must be a whole number of bytes >= 0" % where)
    align = d.get("align")
    if align is not None and (type(align) is not int or align not in (4, 8)):
        raise UserError("%s: align must be 4 or 8" % where)
    try:
        umalloc._arenainit.validated(parts, align or 4)
    except (umalloc.MemError, ValueError, TypeError) as exc:
        raise UserError("%s: bad partitions: %s" % (where, exc))
    return Layout(parts, policy, size, where, small, align)


def load_layout(path):
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise UserError("cannot read layout %s (%s)" % (path, exc))
    except ValueError as exc:
        raise UserError("layout %s is not valid JSON (%s); write it like "
                        '{"arena_size": 32768, "partitions": [[16, 64]], "policy": "first"}' % (path, exc))
    return layout_from_dict(data, str(path))


def board_layout(name):
    return layout_from_dict(profiles.load(name)["arena"], "board " + name)


def umalloc_factory(layout, policy=None):
    policy = policy or layout.policy
    options = layout.options()

    def make(size):
        return umalloc.Arena(size, partitions=layout.partitions, policy=policy, **options)
    return make


def contestants(layout, policies):
    """(label, factory) pairs: umalloc per policy, then first-fit-8 and buddy."""
    out = [("umalloc/" + p, umalloc_factory(layout, p)) for p in policies]
    out.append(("firstfit8", FirstFit8))
    out.append(("buddy", BuddyAllocator))
    return out


def try_build(layout, size):
    """True when an arena of `size` bytes can hold the layout."""
    try:
        umalloc.Arena(size, partitions=layout.partitions, policy=layout.policy, **layout.options())
    except (umalloc.MemError, ValueError):
        return False
    return True


def try_replay(make, size, trace, frag_every=1):
    """Replay figures, or None when the allocator cannot even be built at this size."""
    try:
        alloc = make(size)
    except (umalloc.MemError, ValueError):
        return None
    return traces.replay(alloc, trace, frag_every)


def fits(make, size, trace):
    try:
        alloc = make(size)
    except (umalloc.MemError, ValueError):
        return False
    return traces.replays_cleanly(alloc, trace)


def min_arena(make, trace, step=8, on_step=None, hint=None):
    """Smallest arena (a multiple of `step`) that replays `trace` with zero failures.

    Bisection assumes a bigger arena never fails where a smaller one succeeded,
    which holds for these allocators in practice; the answer is verified to succeed.
    """
    return bisect_min(lambda size: fits(make, size, trace), trace, step, on_step, hint)


def bisect_min(fits_at, trace, step=8, on_step=None, hint=None):
    """The bisection rule every min-arena figure uses, whatever answers `fits_at(size)`:
    from the peak (a multiple of step) double until a size fits, then halve the interval."""
    lo = max(step, (trace.peak_live // step) * step)     # nothing can do with less than the peak
    if fits_at(lo):
        return lo
    hi = lo * 2
    if hint and hint > lo and fits_at(hint):
        hi = hint     # a known good size (the best so far) narrows the search
    while not fits_at(hi):
        lo, hi = hi, hi * 2
        if hi > (1 << 24):
            raise UserError("%s: no arena below 16 MiB replays without failures" % trace.name)
        if on_step:
            on_step()
    while hi - lo > step:
        mid = ((lo + hi) // 2 // step) * step
        if fits_at(mid):
            hi = mid
        else:
            lo = mid
        if on_step:
            on_step()
    return hi
