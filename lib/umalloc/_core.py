"""The arena format, and which core runs the hot paths (malloc, free, get, put).

The C core (firmware/ccore: a user C module compiled into the firmware, or the
dynamic native module lib/umalloc/native/<arch>/_umcore.mpy) runs them where it
exists for the port (x64, armv6m, armv7m), and the heap's list helpers
(_insert, _remove, _free_block, size_class) too; elsewhere (ESP32, a firmware
without it, CPython) the viper core does: _coreviper (heap) and _corepart
(partitions), imported only then.  CCORE = None before Arena() forces the viper
core's malloc/free/get/put for the arenas made after it (tests run both; Arena's
layout and the cold code keep the list helpers _core imported).

Every function takes `w`, the arena seen as 32-bit words (a memoryview of it on
MicroPython, one cast to "I" on CPython), and ints; the entry points that
_arenabuild.bind_heap and bind_partition make for an arena reach it through handle(w), its
address.  All state is in the arena; nothing here allocates a Python object,
so these functions run under micropython.heap_lock() and from a hard IRQ
handler.

Pointers are byte offsets into the arena and stay below 2**24, so no value
that reaches Python code is ever a heap-allocated int on a 32-bit port.
Every word access is 4-byte aligned (Cortex-M0+ and Xtensa fault otherwise).

Arena header (words) ------------------------------------------------------
Heap block: one header word, then the payload.
    bit 0      USED
    bit 1      PREV_FREE (the block just below is free: its footer holds its size)
    bits 2-23  block size in bytes, header included (multiple of the granule)
    bits 24-28 slack: size - 4 - requested length, so view() knows the length
    bit 29     parity: the header word always has an even number of set bits
Free heap block: header, next free, prev free (address-ordered list), ...,
    footer = size in its last word.  Minimum block: 16 bytes.
Partition block: no header; a free block links to the next free one in its
    first aligned word, (p + 3) >> 2 (block sizes that are not a multiple of 4
    are at least 7 bytes, so every block holds one).
Heap page index (outside the blocks): one byte per page of 256 bytes (PAGE_SHIFT) from
    the heap's start, the granule offset in the page of its first block start, or
    NO_START (0xFF).  free() tells a real block from an interior or stale pointer by
    walking the headers from its page's first start, each checked before its size is
    used: at most 16, so O(1), at 1/256 of the heap (a block-start bitmap took 1/64).
Partition bitmaps (outside the blocks): each partition's used blocks, for the same check.

Memory safety: an application may write anything anywhere in the arena (an
overrun, a write through a view kept after free).  Every header, footer, link
and class-list entry is checked before it is followed or written through, and
the layout words are sealed (see "Damage checks" in _coreviper.py and "seals" below): damage
gives MemError(ERR_MEM_CORRUPT) naming the offset, never an access outside the
arena.  `umalloc fuzz` and host_tests/test_fuzz.py check it on the unix port.
"""

try:
    from micropython import const
    VIPER = True
except ImportError:
    from ._shim import const
    VIPER = False

PORTABLE = False          # True when _portable runs this source without viper

# The format's constants, with a leading underscore: const() inlines them and MicroPython
# keeps no global for such a name (_core's globals stay small: a .mpy's live in RAM).  The
# cold code's C.H_SIZE & co. come from _corecold's copy (__getattr__ below), which, like
# _coreviper's, _corepart's, arena's and _arenainit's, test_bench.py checks against this one.
_MAGIC = const(0x1D6A11C0)

# Arena header word indexes.
_H_MAGIC = const(0)
_H_SIZE = const(1)
_H_NPARTS = const(2)
_H_HEAP_START = const(3)
_H_HEAP_END = const(4)
_H_CLASSES = const(5)       # byte offset of the class lists' heads, then their non-empty bitmap
_H_NCLASSES = const(6)
_H_FREE_SIZE = const(7)     # sum of free heap block sizes (headers included)
_H_FREE_COUNT = const(8)    # number of free heap blocks
_H_MIN_FREE = const(9)      # lowest usable free seen (FreeRTOS "minimum ever free")
_H_FAIL = const(10)
_H_FAIL_FRAG = const(11)
_H_LIVE = const(12)         # live heap blocks
_H_POLICY = const(13)
_H_SMALL = const(14)        # twoended: requests up to this size go top-down
_H_DEBUG = const(15)
_H_PAGES = const(16)        # byte offset of the heap's page index (see PAGE_SHIFT)
_H_TRACE = const(17)        # byte offset of the trace ring
_H_TRACE_CAP = const(18)
_H_TRACE_POS = const(19)
_H_TRACE_COUNT = const(20)
_H_GRAN_SHIFT = const(21)   # heap granule = 1 << this (4 or 8 bytes)
_H_PSTART = const(22)       # first byte of partition blocks
_H_SEAL = const(23)         # XOR of the layout words above and H_IRQ, ^ MAGIC (see seal_layout())
_H_IRQ = const(24)          # 1: the core masks interrupts around its updates (a board)
_H_PARTS = const(25)        # first partition descriptor
_HEADER_WORDS = const(25)

# Partition descriptor word offsets.
_PD_SIZE = const(0)
_PD_NBLKS = const(1)
_PD_START = const(2)
_PD_END = const(3)
_PD_HEAD = const(4)
_PD_NFREE = const(5)
_PD_MIN = const(6)
_PD_FAIL = const(7)
_PD_BITMAP = const(8)
_PD_SHIFT = const(9)        # bits 0-4: log2(block size) when a power of two, else 0 (divide);
                           # bits 5-28: the descriptor's seal (see seal_layout())
_PD_WORDS = const(10)

_POLICY_FIRST = const(0)
_POLICY_BEST = const(1)
_POLICY_TWOENDED = const(2)
_POLICY_GOOD = const(3)

_USED = const(1)
_PREV_FREE = const(2)
_SIZE_MASK = const(0xFFFFFC)
_SLACK_SHIFT = const(24)
_PARITY = const(0x20000000)
_MIN_BLOCK = const(16)
_PAGE_SHIFT = const(8)      # heap pages of 256 bytes: one page-index byte each, the granule
                            # offset in the page of its first block start, or NO_START
_NO_START = const(0xFF)
_MAX_SIZE = const(0x1000000)  # offsets and sizes fit 24 bits
_GUARD_SIZE = const(4)           # debug mode: guard bytes after each heap payload

# Negative results carry an ERR_MEM_* code (see errors.py).
_E_PBLK = const(-115)
_E_ADDR = const(-118)
_E_FULL = const(-114)
_E_DOUBLE = const(-120)
_E_CORRUPT = const(-121)
_PD_KEY = const(0xA5A5A5)      # folded into each descriptor's seal: all zeros never passes
_CORRUPT_AT = const(0x1000000)   # a result <= -CORRUPT_AT: damaged structure at offset -result - CORRUPT_AT
_FREE_BAD = const(-0x20FFFFFD)   # header bits a free block never has: USED, PREV_FREE, slack, 30-31



def _load_ccore():
    """The C core's module, or None: compiled into the firmware, else native/<arch>/_umcore.mpy.

    The folders by sys.implementation._mpy's arch field: an armv6m build also runs on later
    Cortex-M cores (deploy copies the board profile's one).  The .mpy is imported from its
    folder put first on sys.path for the moment, as the top-level _umcore that a firmware
    compiles in: importing it as umalloc.native.<arch>._umcore would keep two package
    modules alive beside it (about 500 bytes on a board).
    """
    try:
        import _umcore
        return _umcore
    except ImportError:
        pass
    import sys
    arch = (getattr(sys.implementation, "_mpy", 0) >> 10) & 15
    folder = __file__[:__file__.rfind("/") + 1] + "native/"

    def load(name):
        sys.path.insert(0, folder + name)
        try:
            import _umcore
            return _umcore
        except (ImportError, ValueError):     # not deployed, or built for another .mpy version
            return None
        finally:
            sys.path.remove(folder + name)

    # One call per folder, not a loop over a tuple of names: a constant tuple would stay in
    # RAM with _core's other constants after this function is gone.
    if arch == 2:
        return load("x64")
    if arch == 4:
        return load("armv6m")
    if 5 <= arch <= 8:
        return load("armv7m") or load("armv6m")
    return None


def _refused(*args):
    """The cores' answer to a refused call (errors.py, loaded by the first refusal):
    (code, p, what) raises TypeError or MemError(code); (w, n), a malloc size that is not an
    int in 0..MAX_SIZE-1, raises or answers None.  One function for both (bind_heap passes
    it twice), and *args, not named parameters: each function and name costs RAM here."""
    from . import errors
    return (errors.refused if len(args) == 3 else errors.size_refused)(*args)


def _find_late(*args):
    """malloc's search (a, need, small), for a good-fit arena whose policy word was
    overwritten consistently with its seal: loaded now (_arenabuild binds it)."""
    return __getattr__("_find")(*args)


# -- word and byte access for Arena's layout and the cold code -------------------
# ld(w, i), st(w, i, v), fill(b, off, n, value), _address(b):
# the C core's where it exists, else _coreviper's viper ones (bound at the end of
# this module), so that with the C core _core loads no native code of its own.


# -- seals over the layout ------------------------------------------------------
#
# The arena's header and partition descriptors hold the layout every offset is
# checked against, so they are checked too: the words that never change after
# Arena() are XORed into a seal.  The heap's entry points check the header's
# (H_SEAL: H_SIZE .. H_IRQ, ^ MAGIC); a partition's entry points and malloc/
# free on its blocks check its descriptor's (bits 5-28 of PD_SHIFT: its fixed
# words, its shift and H_IRQ, ^ PD_KEY; every one of them is below 2**24, so
# the XOR is too).  A write of up to 4 bytes changes byte lanes of at most two
# neighbouring words that do not overlap, so the XOR always changes: a
# scribbled header or descriptor gives MemError(ERR_MEM_CORRUPT) before any
# offset in it is used.

# header_seal(w), part_seal(w, d) and seal_layout(w) (which writes them, last in Arena()):
# the C core's where it exists, else _coreviper's, bound at the end of this module.


# -- cold helpers ---------------------------------------------------------------
# parity, seal, test_bit, heap_block, heap_resize (with _used_above), owner,
# first_not, move, popcount and _find live in _corecold.py:
# `import umalloc` and a plain Arena() leave their code out of RAM until
# realloc, view, size_of, debug mode, check() or an arena of the
# first / best / twoended policy first asks for one.  The first such look-up puts all of
# them in this module's globals (where malloc looks up _find), so none is
# looked up again, and none allocates later under heap_lock().

def __getattr__(name):
    if name.startswith("__"):        # import machinery probing (__path__, ...): not ours
        raise AttributeError(name)
    from . import _corecold
    names = globals()
    for key in _corecold.NAMES:
        names[key] = getattr(_corecold, key)
    value = names[name] = getattr(_corecold, name)    # the format's constants, too: once each
    return value


# Frozen armv6m viper code on a 2-byte boundary misreads its 32-bit constants and long jumps:
# when CHECK_ALIGN is true, _coreviper, _corepart and _corecold refuse it at import (their
# refuse() call loads _codealign only then).  True on an armv6m build (sys.implementation._mpy)
# running the package frozen: frozen names are relative, and a .mpy read from a filesystem
# ("/lib/...") is loaded into 4-aligned RAM.  Worked out once, here (before the viper core's
# import below): module-level code leaves RAM after the import.
CHECK_ALIGN = False
if VIPER and not globals().get("_NO_CCORE"):      # (_portable: no viper code)
    import sys
    CHECK_ALIGN = (getattr(sys.implementation, "_mpy", 0) >> 10) & 15 == 4 and __file__[:1] != "/"
    del sys


# _portable runs this source as plain Python (no C core: its words are not a buffer)
CCORE = _load_ccore() if VIPER and not globals().get("_NO_CCORE") else None
if CCORE is not None:
    _insert, _remove, _free_block, size_class = CCORE.insert, CCORE.remove, CCORE._free_block, \
        CCORE.size_class
    ld, st, fill, _address = CCORE.ld, CCORE.st, CCORE.fill, CCORE._address
    header_seal, part_seal, seal_layout = CCORE.header_seal, CCORE.part_seal, CCORE.seal_layout
elif not globals().get("_NO_CCORE"):
    from ._coreviper import _insert, _remove, _free_block, size_class, ld, st, fill, \
        _address, header_seal, part_seal, seal_layout
del _load_ccore     # used once: its code leaves RAM
