"""Arena()'s refusals, and the checks of its less common arguments.

Loaded by an Arena() call with more than a size and partitions, and by the
first refusal (with its message), not by `import umalloc`.
"""

from .arena import MAX_ARENA, POLICIES, _is_int


def mem_error(code, detail):
    """MemError(code, detail), code an ERR_MEM_* (112 INVALID_SIZE, 111 INVALID_BLKS):
    errors.py is loaded by the first refusal, not by every Arena with partitions."""
    from .errors import MemError
    return MemError(code, detail)


def checked(size, partitions, policy, align, buf, debug, trace, small_threshold, lock, irq):
    """The partitions Arena() was given, sorted and checked; TypeError, ValueError or MemError
    for the first argument that is wrong."""
    if buf is None:
        if not _is_int(size):
            raise TypeError("Arena(size) needs an int size or buf=bytearray")
        if size <= 0 or size >= MAX_ARENA:
            raise mem_error(112, "arena size must be 1..%d bytes" % (MAX_ARENA - 1))
    elif not isinstance(buf, bytearray):
        raise TypeError("buf must be a bytearray")
    elif len(buf) >= MAX_ARENA:
        raise mem_error(112, "arena size must be below %d bytes" % MAX_ARENA)
    elif len(buf) % 4:
        raise ValueError("buf length must be a multiple of 4 bytes, got %d" % len(buf))
    elif size is not None and size != len(buf):
        raise ValueError("size %r and a buf of %d bytes disagree: give buf alone (its length "
                         "is the arena's size)" % (size, len(buf)))
    if not isinstance(policy, str) or policy not in POLICIES:
        raise ValueError("policy must be one of %s" % (POLICIES,))
    if align is not None and not _is_int(align):
        raise TypeError("align must be the int 4 or 8, got %r" % (align,))
    if align is not None and align not in (4, 8):
        raise ValueError("align must be 4 or 8")
    if not _is_int(trace):
        raise TypeError("trace must be an int number of events, got %r" % (trace,))
    if trace < 0 or trace >= MAX_ARENA:
        raise ValueError("trace must be a number of events >= 0")
    if not _is_int(small_threshold):
        raise TypeError("small_threshold must be an int, got %r" % (small_threshold,))
    if small_threshold < 0 or small_threshold >= MAX_ARENA:
        raise ValueError("small_threshold must be 0..%d bytes" % (MAX_ARENA - 1))
    if debug is not True and debug is not False:
        raise TypeError("debug must be True or False, got %r" % (debug,))
    if irq is not True and irq is not False:
        raise TypeError("irq must be True or False, got %r" % (irq,))
    if lock is not None and not (hasattr(lock, "__enter__") and hasattr(lock, "__exit__")):
        raise TypeError("lock must be a context manager such as _thread.allocate_lock()")
    if not partitions:
        return []
    from ._arenainit import validated
    return validated(partitions, 8 if align == 8 else 4)


def partitions_refused(partitions):
    raise TypeError("partitions must be a tuple or list of (block_size, nblks) pairs, such as "
                    "((16, 8), (64, 4)), got %r" % (partitions,))


def too_small(size, off, blocks, gshift, align, parts):
    """Too small is a size error; name the minimum (the tables grow with the size)."""
    from ._arenabuild import _tables     # called from there: loaded now
    least = (off + blocks + 8 + 3) & -4
    while _tables(off, least - off - blocks - 8, gshift, align)[2] + blocks > least:
        least += 4
    raise mem_error(112, "%d bytes cannot hold this layout: the arena needs "
                    "at least %d (metadata%s)" % (size, least, ", then partitions " + " ".join(
                        "%dx%d" % p for p in parts) if parts else ""))


def calloc_refused(n, size):
    if not (_is_int(n) and _is_int(size)):
        raise TypeError("calloc takes two ints, got %r, %r" % (n, size))
    raise ValueError("calloc counts must be >= 0")
