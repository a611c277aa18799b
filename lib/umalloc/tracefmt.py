"""The shared allocation-trace format: `a ID SIZE`, `f ID`, `r ID SIZE`, `# comment`.

write_trace turns recorded events (pointers) into trace lines (IDs); replay runs
trace lines through any allocator with malloc/free/realloc, on the board or on
CPython, so the same trace gives the same figures everywhere.
"""

import sys

OP_ALLOC, OP_FREE, OP_REALLOC, OP_FAIL = 1, 2, 3, 4   # trace event kinds (Arena(trace=...) writes them)


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


_DIGITS = "0123456789"
QUOTE_MAX = 80          # characters of a bad line an error message quotes


def _quoted(line):
    return repr(line if len(line) <= QUOTE_MAX else line[:QUOTE_MAX - 3] + "...")


def _number(text, line):
    """A plain decimal int: ASCII digits only (no sign, `_`, or other scripts' digits)."""
    if not text or len(text) > 10:
        raise ValueError("not a trace event (bad number): %s" % _quoted(line))
    for c in text:
        if c not in _DIGITS:
            raise ValueError("not a trace event (bad number): %s" % _quoted(line))
    return int(text)


def parse_line(line):
    """(op, id, size) for an event line, None for blank/comment; ValueError if malformed.

    IDs and sizes are plain decimal ints; the error quotes at most QUOTE_MAX
    characters of the line.
    """
    line = line.strip()
    if not line or line[0] == "#":
        return None
    parts = line.split()
    op = parts[0]
    if op in ("a", "r") and len(parts) == 3:
        return op, _number(parts[1], line), _number(parts[2], line)
    if op == "f" and len(parts) == 2:
        return op, _number(parts[1], line), 0
    raise ValueError("not a trace event: %s" % _quoted(line))


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
