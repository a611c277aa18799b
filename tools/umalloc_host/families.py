"""Trace families: synthetic workloads of any length, reproducible from (family, events, seed).

Four shapes that embedded programs show, for tuning defaults on some and
reporting on others (held out), and for timing the advisor on long traces:

  bimodal    small control records (8..48 B) and large buffers (256..2048 B)
  uniform    any size from 1 to 1024 B, random lifetimes
  longlived  a growing set of long-lived objects amid short-lived temporaries
  netbuf     packet buffers: queued FIFO, MTU-sized and small, some grown by realloc

Every family keeps a bounded live set (steady state), so the peak does not grow
with the number of events, as in a program that runs for hours.
"""

import random

from .errors import UserError
from .traces import Trace

FAMILIES = ("bimodal", "uniform", "longlived", "netbuf")
TUNING = ("bimodal", "uniform")        # defaults may be chosen by these ...
HELD_OUT = ("longlived", "netbuf")     # ... and are judged on these, never tuned on


class _Builder:
    """Appends valid events: ids are allocated once, freed or resized only while live."""

    def __init__(self, events):
        self.out = []
        self.want = events
        self.next_id = 0

    def full(self):
        return len(self.out) >= self.want

    def alloc(self, n):
        ident = self.next_id
        self.next_id += 1
        self.out.append(("a", ident, n))
        return ident

    def free(self, ident):
        self.out.append(("f", ident, 0))

    def resize(self, ident, n):
        self.out.append(("r", ident, n))


def _bimodal(rng, b):
    live = []
    cap = rng.randint(150, 250)
    while not b.full():
        if live and (len(live) >= cap or rng.random() < 0.45):
            b.free(live.pop(rng.randrange(len(live))))
        elif rng.random() < 0.8:
            live.append(b.alloc(rng.randint(8, 48)))
        else:
            live.append(b.alloc(rng.choice((256, 512, 1024, 1536, 2048)) - rng.randint(0, 16)))


def _uniform(rng, b):
    live = []
    cap = rng.randint(80, 160)
    while not b.full():
        if live and (len(live) >= cap or rng.random() < 0.45):
            b.free(live.pop(rng.randrange(len(live))))
        elif live and rng.random() < 0.03:
            b.resize(rng.choice(live), rng.randint(1, 1024))
        else:
            live.append(b.alloc(rng.randint(1, 1024)))


def _longlived(rng, b):
    """Long-lived objects (config, sockets, caches) appear now and then and rarely die;
    temporaries (strings, parse buffers) die within a few events."""
    old, temp = [], []
    old_cap = rng.randint(60, 120)
    while not b.full():
        r = rng.random()
        if r < 0.04 and len(old) < old_cap:
            old.append(b.alloc(rng.choice((24, 40, 64, 96, 200, 320))))
        elif r < 0.05 and old:
            b.free(old.pop(rng.randrange(len(old))))
        elif temp and (len(temp) > 40 or r < 0.5):
            b.free(temp.pop(rng.randrange(max(1, len(temp) // 4))))   # young die first
        else:
            temp.insert(0, b.alloc(rng.randint(4, 300)))


def _netbuf(rng, b):
    """A receive queue: buffers arrive in bursts, are processed in order (FIFO), some
    grow when a fragment is appended; control blocks (small) live as long as their buffer."""
    queue = []
    depth = rng.randint(20, 40)
    while not b.full():
        if queue and (len(queue) >= depth or rng.random() < 0.48):
            buf, ctl = queue.pop(0)
            b.free(buf)
            b.free(ctl)
        else:
            n = rng.choice((64, 128, 576, 1500, 1500, 1514))
            buf = b.alloc(n)
            ctl = b.alloc(rng.choice((20, 28, 44)))
            if n < 1500 and rng.random() < 0.1:
                b.resize(buf, min(1514, n * 2))
            queue.append((buf, ctl))


_MAKERS = {"bimodal": _bimodal, "uniform": _uniform, "longlived": _longlived, "netbuf": _netbuf}


def generate(family, events=10000, seed=1):
    """A valid trace of exactly `events` events from the family."""
    if family not in _MAKERS:
        raise UserError("no trace family %r: choose one of %s" % (family, ", ".join(FAMILIES)))
    if events < 1:
        raise UserError("a generated trace needs at least 1 event")
    b = _Builder(events)
    _MAKERS[family](random.Random("%s/%d" % (family, seed)), b)
    # any prefix of a valid trace is valid (a free or resize only follows its allocation)
    return Trace(b.out[:events], "%s-%d-s%d" % (family, events, seed))


def parse_spec(spec):
    """'family[:events[:seed]]' -> (family, events, seed), e.g. 'netbuf:100000:2'."""
    parts = spec.split(":")
    if not 1 <= len(parts) <= 3 or parts[0] not in FAMILIES:
        raise UserError("%r: give FAMILY[:EVENTS[:SEED]] with FAMILY one of %s"
                        % (spec[:80], ", ".join(FAMILIES)))
    try:
        nums = [int(p) for p in parts[1:]]
    except ValueError:
        raise UserError("%r: EVENTS and SEED must be whole numbers" % spec[:80])
    events = nums[0] if nums else 10000
    seed = nums[1] if len(nums) > 1 else 1
    return parts[0], events, seed
