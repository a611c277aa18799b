"""What no placement can avoid: the arena a heap with zero overhead needs for a trace.

A yardstick for `umalloc advise`, not an allocator to use: it tells how much of
an arena is the trace's own holes (the order of requests and frees) and how
much is umalloc's metadata, headers and rounding.
"""

import bisect


def ideal_arena(trace, policy="first"):
    """Bytes an allocator with no header, metadata or rounding needs for the trace when it
    places each block first fit (lowest address) or best fit (smallest hole, lowest address;
    fresh space only when no hole fits) and never moves a block.

    Neither rule depends on the arena's size, so one run in unbounded memory gives the
    answer: the highest address ever used.  realloc grows in place when the space above
    is free, else allocates anew and then frees the old block, as umalloc does.
    """
    free = [[0, None]]           # address-ordered free runs [start, end); end None: unbounded
    blocks = {}
    top = 0

    def take(n):
        i = None
        if policy == "best":
            for k, (a, b) in enumerate(free):
                if b is not None and b - a >= n and (i is None or b - a < free[i][1] - free[i][0]):
                    i = k
        if i is None:
            i = next(k for k, (a, b) in enumerate(free) if b is None or b - a >= n)
        a, b = free[i]
        if b is not None and b - a == n:
            del free[i]
        else:
            free[i][0] = a + n
        return a

    def give(a, n):
        if n == 0:               # a zero-byte block holds no space: nothing to give back
            return
        k = bisect.bisect(free, [a, -1])
        free.insert(k, [a, a + n])
        if k + 1 < len(free) and free[k + 1][0] == a + n:
            free[k][1] = free[k + 1][1]
            del free[k + 1]
        if k > 0 and free[k - 1][1] == a:
            free[k - 1][1] = free[k][1]
            del free[k]

    for op, ident, n in trace.events:
        if op == "a":
            blocks[ident] = (take(n), n)
        elif op == "f":
            give(*blocks.pop(ident))
        else:
            a, old = blocks[ident]
            if n <= old:
                if n < old:
                    give(a + n, old - n)
                blocks[ident] = (a, n)
            else:
                run = next((r for r in free if r[0] == a + old), None)
                if run is not None and (run[1] is None or run[1] - run[0] >= n - old):
                    if run[1] is not None and run[1] - run[0] == n - old:
                        free.remove(run)
                    else:
                        run[0] += n - old
                    blocks[ident] = (a, n)
                else:
                    blocks[ident] = (take(n), n)
                    give(a, old)
        if op != "f":
            a, m = blocks[ident]
            top = max(top, a + m)
    return top
