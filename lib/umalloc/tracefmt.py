"""The shared allocation-trace format: `a ID SIZE`, `f ID`, `r ID SIZE`, `# comment`.

write_trace turns recorded events (pointers) into trace lines (IDs); replay runs
trace lines through any allocator with malloc/free/realloc, on the board or on
CPython, so the same trace gives the same figures everywhere.
"""

import sys

from .arena import OP_ALLOC, OP_FREE, OP_REALLOC, OP_FAIL


def write_trace(events, stream=None):
    """events: (op, ptr, size, new_ptr) tuples, oldest first."""
    out = stream or sys.stdout
    ids = {}
    next_id = 0
    for op, p, n, q in events:
        if op == OP_ALLOC:
            ids[p] = next_id
            out.write("a %d %d\n" % (next_id, n))
            next_id += 1
        elif op == OP_FREE:
            if p in ids:
                out.write("f %d\n" % ids.pop(p))
            else:  # allocated before the ring's oldest event
                out.write("# f ? (block %d allocated before the trace began)\n" % p)
        elif op == OP_REALLOC:
            if p in ids:
                ident = ids.pop(p)
                ids[q] = ident
                out.write("r %d %d\n" % (ident, n))
            else:
                out.write("# r ? %d (block %d allocated before the trace began)\n" % (n, p))
        elif op == OP_FAIL:
            out.write("# failed request of %d bytes\n" % n)


def parse_line(line):
    """(op, id, size) for an event line, None for blank/comment; ValueError if malformed."""
    line = line.strip()
    if not line or line[0] == "#":
        return None
    parts = line.split()
    op = parts[0]
    if op in ("a", "r") and len(parts) == 3:
        size = int(parts[2])
        if size < 0:
            raise ValueError("negative size")
        return op, int(parts[1]), size
    if op == "f" and len(parts) == 2:
        return op, int(parts[1]), 0
    raise ValueError("not a trace event: %r" % line)


def replay(alloc, lines, tick=None, every=1, live=None):
    """Run trace lines through `alloc`; returns a dict of counts.

    A failed allocation leaves its ID dead (later frees of it are skipped), as
    a program would skip freeing a NULL pointer.  tick() is called after every
    `every` events; `live` (a dict) receives the ID -> pointer map left at the end.
    """
    if live is None:
        live = {}
    events = failed = 0
    for line in lines:
        event = parse_line(line)
        if event is None:
            continue
        op, ident, size = event
        events += 1
        if op == "a":
            p = alloc.malloc(size)
            if p is None:
                failed += 1
            else:
                live[ident] = p
        elif op == "f":
            p = live.pop(ident, None)
            if p is not None:
                alloc.free(p)
        else:
            p = live.get(ident)
            q = alloc.realloc(p, size)
            if q is None:
                failed += 1
            else:
                live[ident] = q
        if tick is not None and events % every == 0:
            tick()
    return {"events": events, "failed": failed, "live": len(live)}
