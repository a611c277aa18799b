"""MemError and its codes.  Numbers follow uC/OS-II's OS_ERR_MEM_* where it has one."""

try:
    from micropython import const
except ImportError:
    from ._shim import const

_H_FAIL = const(10)          # _core's header word: failed mallocs (test_bench checks it)

ERR_MEM_INVALID_BLKS = 111   # a partition needs at least 2 blocks
ERR_MEM_INVALID_SIZE = 112   # block size too small / unaligned, or arena too small for its layout
ERR_MEM_NO_FREE_BLKS = 113   # partition exhausted (get() returned None)
ERR_MEM_FULL = 114           # put() into a partition whose blocks are all free already
ERR_MEM_INVALID_PBLK = 115   # not the start of a block of this partition / heap
ERR_MEM_INVALID_ADDR = 118   # pointer outside every partition and the heap (None, 0, out of range)
ERR_MEM_DOUBLE_FREE = 120    # the block is already free
ERR_MEM_CORRUPT = 121        # check() found a broken invariant

_NAMES = {
    ERR_MEM_INVALID_BLKS: "INVALID_BLKS",
    ERR_MEM_INVALID_SIZE: "INVALID_SIZE",
    ERR_MEM_NO_FREE_BLKS: "NO_FREE_BLKS",
    ERR_MEM_FULL: "FULL",
    ERR_MEM_INVALID_PBLK: "INVALID_PBLK",
    ERR_MEM_INVALID_ADDR: "INVALID_ADDR",
    ERR_MEM_DOUBLE_FREE: "DOUBLE_FREE",
    ERR_MEM_CORRUPT: "CORRUPT",
}


def error_name(code):
    return "ERR_MEM_" + _NAMES.get(code, str(code))


class MemError(Exception):
    """An allocator error; `.code` is one of the ERR_MEM_* numbers."""

    def __init__(self, code, detail=""):
        self.code = code
        self.detail = detail
        super().__init__("%s: %s" % (error_name(code), detail) if detail else error_name(code))


def refused(code, p, what):
    """What the core's _refused raises: code <= -0x1000000 is damage at offset -code - 0x1000000
    (_core.CORRUPT_AT), any other code is -ERR_MEM_*; a p that is no int is a TypeError."""
    if code <= -0x1000000:
        raise MemError(ERR_MEM_CORRUPT, "%s(%s): damaged allocator structure at offset %d "
                       "(a write past a block's end or through a freed block?)"
                       % (what, "" if p is None else p, -code - 0x1000000))
    if p is not None and (not isinstance(p, int) or isinstance(p, bool)):
        raise TypeError("%s() takes an int pointer, got %r" % (what, p))
    raise MemError(-code, "%s(%r)" % (what, p))


def size_refused(w, n):
    """What the core's _refused(w, n) does with a malloc size that is not an int in
    0..MAX_SIZE-1: TypeError / ValueError, or (an int too large for any arena) count a
    failure, like no room, and answer None."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError("malloc size must be an int, got %r" % (n,))
    if n < 0:
        raise ValueError("malloc size must be >= 0, got %d" % n)
    from ._core import ld, st
    st(w, _H_FAIL, ld(w, _H_FAIL) + 1)
    return None
