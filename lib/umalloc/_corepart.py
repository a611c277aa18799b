"""Partition entry points (OSMemGet / OSMemPut), loaded by the first arena with partitions.

Arena(size) has none by default, so `import umalloc` leaves this native code out
of RAM (a .mpy's native code lives on the GC heap).  The constants are _core's
own (const() only inlines names defined in the same module;
host_tests/test_bench.py checks the lists agree).  Descriptor, seal and bitmap
formats: see _core.py ("Arena header", "seals"); the heap's malloc/free read
and write partition blocks the same way.

Each closure is called straight from Python (Partition.get/put are these
closures), so every cell is chosen for the hot path.  MicroPython copies a
closure's cells and arguments to the GC heap when there are more than five of
them, so get() has five cells and put(p) four:
    a     the arena's address (handle(w)): ptr32(uint(a)) is one cheap cast
    m     0xFFFFFF | i << 24, i the partition's index: put's `(p & m) is p`
          passes exactly the non-negative small ints whose bits lie inside m
          (every pointer into an arena is below 2**24, and larger ones fail the
          range checks), and get/put find the descriptor at H_PARTS + 10 * i
    dis   machine.disable_irq on a board, else None: called directly (a call
          through a tuple costs about as much again)
    t     (w, enable_irq, _refused): w keeps the buffer alive; enable_irq is
          the one subscript on the hot path; _refused is reached here rather
          than as a global, because a viper function that names a global saves
          and restores the module globals (and pushes an exception frame) on
          every call from another module
    box   (get) round: round(p) is p, an int object made from the native int
"""

try:
    import micropython
    from micropython import const
    _Mask = None
except ImportError:
    from ._shim import micropython, const, SizeOk as _Mask, words_at as uint, words_ptr as ptr32

from ._core import _refused, CHECK_ALIGN

# _core's constants (see the note above).
H_IRQ = const(24)          # 1: the core masks interrupts around its updates (a board)
H_PARTS = const(25)        # first partition descriptor

# Partition descriptor word offsets.
PD_SIZE = const(0)
PD_NBLKS = const(1)
PD_START = const(2)
PD_END = const(3)
PD_HEAD = const(4)
PD_NFREE = const(5)
PD_MIN = const(6)
PD_FAIL = const(7)
PD_BITMAP = const(8)
PD_SHIFT = const(9)        # bits 0-4: log2(block size) when a power of two, else 0 (divide);
                           # bits 5-28: the descriptor's seal (see _core.seal_layout())
PD_WORDS = const(10)

E_PBLK = const(-115)
E_FULL = const(-114)
E_DOUBLE = const(-120)
PD_KEY = const(0xA5A5A5)      # folded into each descriptor's seal: all zeros never passes
CORRUPT_AT = const(0x1000000)   # a result <= -CORRUPT_AT: damaged structure at offset -result - CORRUPT_AT

def bind_partition(a, keep, d):
    """(get, put) of the partition whose descriptor is at word d: OSMemGet / OSMemPut.

    keep is the arena's word view w, or on a board (w, disable_irq, enable_irq);
    the arena's H_IRQ word (sealed into every descriptor's seal) says whether
    get/put mask interrupts.
    """
    i = (d - H_PARTS) // PD_WORDS      # below _arenainit.MAX_PARTITIONS: validated() checked
    if type(keep) is tuple:
        w, dis, en = keep
    else:
        w, dis, en = keep, None, None
    m = 0xFFFFFF | (i << 24)
    if _Mask is not None:
        m = _Mask(m)
    return _closures(a, m, (w, en, _refused), dis)


def _closures(a, m, t, dis):
    box = round

    @micropython.viper
    def get():
        b = uint(a)
        h = ptr32(b)
        k = H_PARTS + PD_WORDS * (int(m) >> 24)
        pd = ptr32(b + (k << 2))         # the descriptor: its words at constant offsets
        v = pd[PD_SHIFT]                 # the descriptor's seal (see _core.seal_layout)
        irq = h[H_IRQ]
        if (pd[PD_SIZE] ^ pd[PD_NBLKS] ^ pd[PD_START] ^ pd[PD_END] ^ pd[PD_BITMAP] ^ (v & 31) ^ irq
                ^ PD_KEY) != (v >> 5):
            return t[2](0 - CORRUPT_AT - (k << 2), None, "get")
        s = t
        if irq:
            s = dis()
        r = 0
        p = pd[PD_HEAD]
        if p:                            # a free block of this partition, or damage
            rel = p - pd[PD_START]
            if v & 31:
                i = rel >> (v & 31)
            else:
                bs = pd[PD_SIZE]
                if bs == 0:              # never in a sound descriptor; no SIGFPE on a damaged one
                    bs = 1
                i = rel // bs
            n = (pd[PD_BITMAP] >> 2) + (i >> 5)
            if rel < 0 or p >= pd[PD_END] or i * pd[PD_SIZE] != rel or (h[n] >> (i & 31)) & 1:
                r = 0 - CORRUPT_AT - ((k + PD_HEAD) << 2)
                p = 0
            else:
                pd[PD_HEAD] = h[(p + 3) >> 2]
                h[n] = h[n] | (1 << (i & 31))
                n = pd[PD_NFREE] - 1
                pd[PD_NFREE] = n
                if n < pd[PD_MIN]:
                    pd[PD_MIN] = n
        else:
            pd[PD_FAIL] += 1
        if irq:
            t[1](s)
        if r:
            return t[2](r, None, "get")
        if p:
            return box(p)
        return None

    @micropython.viper
    def put(p):
        if not p:
            return t[2](E_PBLK, p, "put")
        if (p & m) is p:                 # a small int >= 0 (not a bool, not a long int)
            q = int(p)
        else:
            return t[2](E_PBLK, p, "put")
        b = uint(a)
        h = ptr32(b)
        k = H_PARTS + PD_WORDS * (int(m) >> 24)
        pd = ptr32(b + (k << 2))         # the descriptor: its words at constant offsets
        v = pd[PD_SHIFT]                 # the descriptor's seal (see _core.seal_layout)
        irq = h[H_IRQ]
        if (pd[PD_SIZE] ^ pd[PD_NBLKS] ^ pd[PD_START] ^ pd[PD_END] ^ pd[PD_BITMAP] ^ (v & 31) ^ irq
                ^ PD_KEY) != (v >> 5):
            return t[2](0 - CORRUPT_AT - (k << 2), p, "put")
        s = t
        if irq:
            s = dis()
        r = E_PBLK
        rel = q - pd[PD_START]
        if v & 31:
            i = rel >> (v & 31)
        else:
            bs = pd[PD_SIZE]
            if bs == 0:                  # never in a sound descriptor; no SIGFPE on a damaged one
                bs = 1
            i = rel // bs
        if rel >= 0 and q < pd[PD_END] and i * pd[PD_SIZE] == rel:
            r = E_FULL
            if pd[PD_NFREE] < pd[PD_NBLKS]:
                r = E_DOUBLE
                n = (pd[PD_BITMAP] >> 2) + (i >> 5)
                bit = 1 << (i & 31)
                if h[n] & bit:
                    h[n] = h[n] ^ bit
                    h[(q + 3) >> 2] = pd[PD_HEAD]
                    pd[PD_HEAD] = q
                    pd[PD_NFREE] += 1
                    r = 0
        if irq:
            t[1](s)
        if r:
            return t[2](r, p, "put")
        return None

    return get, put


if CHECK_ALIGN:      # frozen armv6m code: refused at import if misaligned (see _core)
    from ._codealign import refuse
    refuse(globals(), _closures(0, 0, None, None))
    del refuse       # (its module leaves RAM)
