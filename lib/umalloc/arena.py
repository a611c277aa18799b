"""Arena: one bytearray carved into fixed partitions plus a good-fit heap.

malloc/free/calloc and Partition.get/put allocate nothing on the GC heap once
the arena exists (they run under micropython.heap_lock(), so also from a hard
IRQ handler).  On a plain arena they are the core's native closures themselves
(_core.bind_heap / _corepart.bind_partition), installed as instance attributes; debug,
trace and lock= arenas wrap them in methods of _arenacold.py, which, like
stats, check, map, view and realloc, load on first use (Arena.__getattr__)
and may allocate: they are for normal code.  Debug mode's guard and poison
checks (_debug.py) load with them, for debug arenas only.
"""

from . import _core as C
from ._guard import IRQ, Nothing
from .errors import (MemError, ERR_MEM_INVALID_BLKS,
                     ERR_MEM_INVALID_SIZE)

MAX_ARENA = 0x1000000          # offsets must fit the 24-bit size field
POLICIES = ("first", "best", "twoended", "good")
# No partitions unless asked for: idle partition blocks cost more than they save on every
# trace measured (issue 14: `umalloc sim --min-arena` on the four samples and the generated
# families; e.g. churn 1.37x -> 1.34x, zebra 1.85x -> 1.70x); `umalloc advise` sizes them.
DEFAULT_PARTITIONS = ()
POISON = 0x55                  # debug mode: fills free heap memory
GUARD_BYTE = 0xFD              # debug mode: the bytes right after each payload
TRACE_WORDS = 3                # per event: op << 24 | ptr, size, new ptr
OP_ALLOC, OP_FREE, OP_REALLOC, OP_FAIL = 1, 2, 3, 4   # trace event kinds (tracefmt reads them)


def _words(buf):
    if C.PORTABLE:
        return C.Words(buf)
    try:
        return memoryview(buf).cast("I")   # CPython: word view for the viper shim
    except AttributeError:
        # MicroPython: viper's ptr32 takes any buffer; the closures hold this
        # view, whose repr is short (a bytearray cell would print the whole arena)
        return memoryview(buf)


def _log2(n):
    """k when n == 2**k, else 0."""
    k = 0
    while (1 << k) < n:
        k += 1
    return k if (1 << k) == n else 0


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


class Partition:
    """A uC/OS-style memory partition: nblks blocks of block_size bytes."""

    def __init__(self, arena, desc, lock=None):
        self._arena = arena
        self._debug = arena._debug
        self._w = arena._w
        self._d = desc        # word index of this partition's descriptor
        self._lock = lock if lock is not None else Nothing()
        from ._corepart import bind_partition     # native code loaded with the first partition
        self._get, self._put = bind_partition(arena._handle, arena._keep, desc)
        if lock is None and not arena._debug:
            self.get, self.put = self._get, self._put    # no Python frame in between

    def get(self):
        """OSMemGet: a free block's pointer, or None (counted in `fail`)."""
        with self._lock:
            p = self._get()
            if p and self._debug:
                self._arena._sound()
                self._arena._dbg._part_taken(self._d, p, self.block_size)
        return p

    def put(self, p):
        """OSMemPut: return block p.  MemError: INVALID_PBLK, FULL or DOUBLE_FREE."""
        with self._lock:
            if self._debug and _is_int(p) and self.contains(p):
                self._arena._sound()
                self._arena._dbg._part_check(self._d, p)
            self._put(p)
            if self._debug:
                self._arena._dbg._part_poison(self._d, p)

    @property
    def block_size(self):
        return self._word(C.PD_SIZE)

    def _word(self, k):
        return C.ld(self._w, self._d + k)

    def contains(self, p):
        return self._word(C.PD_START) <= p < self._word(C.PD_END)

    def query(self):
        """OSMemQuery: the partition's figures."""
        with self._lock:
            return self._query()

    def _query(self):
        nblks, nfree = self._word(C.PD_NBLKS), self._word(C.PD_NFREE)
        return {"block_size": self._word(C.PD_SIZE), "nblks": nblks, "nfree": nfree,
                "nused": nblks - nfree, "min_free": self._word(C.PD_MIN),
                "fail": self._word(C.PD_FAIL)}


def _tables(off, avail, gshift, align):
    """(classes offset, class count, partitions start) when the heap tables start at off."""
    classes = off + (((max(avail, 0) >> gshift) + 31) >> 5) * 4
    nclasses = C.size_class(avail if avail > C.MIN_BLOCK else C.MIN_BLOCK) + 1
    end = classes + 4 * nclasses + 4 * ((nclasses + 31) >> 5)
    return classes, nclasses, (end + align - 1) & -align


class Arena:
    """One bytearray holding fixed partitions and a heap; all state inside it."""

    def __init__(self, size=None, partitions=DEFAULT_PARTITIONS, policy="good", align=None,
                 buf=None, debug=False, trace=0, small_threshold=256, lock=None, irq=True):
        # Every argument is checked before buf is touched: a refused call changes nothing.
        if buf is None:
            if not _is_int(size):
                raise TypeError("Arena(size) needs an int size or buf=bytearray")
            if size <= 0 or size >= MAX_ARENA:
                raise MemError(ERR_MEM_INVALID_SIZE, "arena size must be 1..%d bytes" % (MAX_ARENA - 1))
        elif not isinstance(buf, bytearray):
            raise TypeError("buf must be a bytearray")
        elif len(buf) >= MAX_ARENA:
            raise MemError(ERR_MEM_INVALID_SIZE, "arena size must be below %d bytes" % MAX_ARENA)
        elif len(buf) % 4:
            raise ValueError("buf length must be a multiple of 4 bytes, got %d" % len(buf))
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
        if buf is None:                   # first: a fresh large block fragments the GC heap least
            buf = bytearray(size & ~3)
        parts = self._validated(partitions, 8 if align == 8 else 4)
        if policy != "good":
            C._find                # malloc's search for these policies: see _corecold
        self._buf = buf
        self._w = _words(buf)
        self._debug = debug
        self._trace = trace
        self._lock = lock if lock is not None else Nothing()
        # irq=False: never touched from an interrupt handler, so no masking (faster on a board)
        self._irq = irq
        self._layout(len(buf), parts, POLICIES.index(policy), align, trace, small_threshold)
        # what the core's closures hold: the arena's address, and its word view
        # (so they keep the buffer alive) with, on a board, the IRQ switches
        self._handle = C.handle(self._w)
        self._keep = (self._w,) + IRQ if IRQ else self._w
        self._core_malloc, self._core_free = C.bind_heap(self._handle, self._keep)
        if lock is None and not (debug or trace):
            self.malloc, self.free = self._core_malloc, self._core_free   # straight into native code
        self.partitions = tuple(Partition(self, C.H_PARTS + i * C.PD_WORDS, lock)
                                for i in range(len(parts)))
        if lock is not None or debug or trace:
            # their malloc/free wrappers (and debug mode's checks) live in _arenacold:
            # load them now, not later under heap_lock() or in two threads at once
            from . import _arenacold
            _arenacold.prepare(self)

    @staticmethod
    def _validated(partitions, align):
        """Partitions as sorted (block_size, nblks) pairs, checked like OSMemCreate."""
        out = []
        for item in partitions or ():
            try:
                block_size, nblks = item
            except (TypeError, ValueError):
                raise TypeError("each partition is a (block_size, nblks) pair, got %r" % (item,))
            if not (_is_int(block_size) and _is_int(nblks)):
                raise TypeError("partition sizes must be ints, got %r" % (item,))
            if block_size < 4 or (block_size % align and (align == 8 or block_size < 7)):
                raise MemError(ERR_MEM_INVALID_SIZE,
                               "block_size %d: must be a multiple of %d (>= 4), or any size >= 7 with align=4"
                               % (block_size, align))
            if nblks < 2:
                raise MemError(ERR_MEM_INVALID_BLKS, "a partition needs >= 2 blocks, got %d" % nblks)
            if block_size >= MAX_ARENA or nblks >= MAX_ARENA:
                raise MemError(ERR_MEM_INVALID_SIZE, "partition %r is larger than any arena" % (item,))
            for other, _ in out:
                if other == block_size:
                    raise ValueError("two partitions of %d-byte blocks: give one with the summed count"
                                     % block_size)
            out.append((block_size, nblks))
        out.sort()
        return out

    def _layout(self, size, parts, policy, align, trace, small):
        """[header | descriptors | bitmaps | trace ring | partitions | heap].

        The heap's granule is 8 bytes unless align=4 asks for 4: its block-start bitmap (one
        bit per granule) then takes 1/64 of the heap, not 1/32, which saves more than the
        coarser rounding costs on most traces measured (issue 14).  Partition blocks follow
        align=4's rules unless align=8 is given.
        """
        w = self._w
        off = (C.HEADER_WORDS + len(parts) * C.PD_WORDS) * 4
        bitmaps = []
        for _, nblks in parts:
            bitmaps.append(off)
            off += ((nblks + 31) >> 5) * 4
        ring = off
        off += trace * TRACE_WORDS * 4
        gshift = 2 if align == 4 else 3
        align = 8 if align == 8 else 4      # partitions' alignment
        # Partition offsets from the (aligned) first one: a block size that is
        # a multiple of 4 starts on a word boundary whatever odd sizes come before
        # (a Cortex-M0+ faults on an unaligned word access).
        rel = []
        blocks = 0
        for block_size, nblks in parts:
            if block_size % 4 == 0:
                blocks = (blocks + 3) & -4
            rel.append(blocks)
            blocks += block_size * nblks
        avail = size - off - blocks - 8
        # The heap bitmap (one bit per granule), one list head per size class up
        # to the heap's own size, then a bitmap of the non-empty classes.
        hbitmap = off
        classes, nclasses, pstart = _tables(off, avail, gshift, align)
        if avail < 0 or pstart + blocks > size:
            # Too small is a size error; name the minimum (the tables grow with the size).
            least = (off + blocks + 8 + 3) & -4
            while _tables(off, least - off - blocks - 8, gshift, align)[2] + blocks > least:
                least += 4
            raise MemError(ERR_MEM_INVALID_SIZE, "%d bytes cannot hold this layout: the arena needs "
                           "at least %d (metadata%s)" % (size, least, ", then partitions " + " ".join(
                               "%dx%d" % p for p in parts) if parts else ""))
        C.fill(self._buf, 0, pstart, 0)   # a buf= passed in may hold anything
        for i in range(len(parts)):
            d = C.H_PARTS + i * C.PD_WORDS
            block_size, nblks = parts[i]
            off = pstart + rel[i]
            C.st(w, d + C.PD_SIZE, block_size)
            C.st(w, d + C.PD_NBLKS, nblks)
            C.st(w, d + C.PD_START, off)
            C.st(w, d + C.PD_END, off + block_size * nblks)
            C.st(w, d + C.PD_BITMAP, bitmaps[i])
            C.st(w, d + C.PD_SHIFT, _log2(block_size))
            C.st(w, d + C.PD_NFREE, nblks)
            C.st(w, d + C.PD_MIN, nblks)
            C.st(w, d + C.PD_HEAD, off)
            for k in range(nblks):     # thread the free list through the blocks
                b = off + k * block_size
                C.st(w, (b + 3) >> 2, b + block_size if k < nblks - 1 else 0)
        off = pstart + blocks
        # Heap payloads (block + 4) must be aligned to the granule.
        heap_start = (off + 3) & -4 if gshift == 2 else ((off + 4 + 7) & -8) - 4
        heap_end = heap_start + (((size - heap_start) >> gshift) << gshift)
        if heap_end - heap_start < C.MIN_BLOCK:      # no heap (its start may lie past the end)
            heap_start = heap_end = min(heap_start, size)
        C.st(w, C.H_MAGIC, C.MAGIC)
        C.st(w, C.H_SIZE, size)
        C.st(w, C.H_NPARTS, len(parts))
        C.st(w, C.H_HEAP_START, heap_start)
        C.st(w, C.H_HEAP_END, heap_end)
        C.st(w, C.H_POLICY, policy)
        C.st(w, C.H_SMALL, small)
        C.st(w, C.H_DEBUG, 1 if self._debug else 0)
        C.st(w, C.H_HBITMAP, hbitmap)
        C.st(w, C.H_TRACE, ring)
        C.st(w, C.H_TRACE_CAP, trace)
        C.st(w, C.H_GRAN_SHIFT, gshift)
        C.st(w, C.H_PSTART, pstart)
        C.st(w, C.H_CLASSES, classes)
        C.st(w, C.H_IRQ, 1 if IRQ and self._irq else 0)
        C.st(w, C.H_NCLASSES, nclasses)
        if heap_end > heap_start:
            hsize = heap_end - heap_start
            C._bit(w, hbitmap, 0, 1)
            C._insert(w, heap_start, hsize)
            if self._debug:
                C.fill(self._buf, heap_start + 12, hsize - 16, POISON)
        C.st(w, C.H_MIN_FREE, self._heap_free())
        C.seal_layout(w)

    # -- allocation --------------------------------------------------------
    #
    # Each public method takes the lock (when the arena has one) once, then
    # runs the unlocked _methods: a _thread lock is not re-entrant.  calloc and
    # _malloc stay here: like malloc/free they must work under heap_lock() at once.

    def _malloc(self, n):
        p = self._core_malloc(n)
        if p and self._debug:
            self._dbg._taken(p, n)
        if self._trace:
            self._record(OP_ALLOC if p else OP_FAIL, p or 0, n if n < MAX_ARENA else 0, 0)
        return p

    def _count_fail(self):
        w = self._w
        C.st(w, C.H_FAIL, C.ld(w, C.H_FAIL) + 1)
    def calloc(self, n, size):
        """malloc(n * size) zeroed; None when out of memory or the product is too large."""
        if not (_is_int(n) and _is_int(size)):
            raise TypeError("calloc takes two ints, got %r, %r" % (n, size))
        if n < 0 or size < 0:
            raise ValueError("calloc counts must be >= 0")
        with self._lock:
            if size and n > (MAX_ARENA - 1) // size:   # checked before multiplying: no big ints
                self._count_fail()
                if self._trace:
                    self._record(OP_FAIL, 0, 0, 0)
                return None
            total = n * size
            p = self._malloc(total)
            if p:
                C.fill(self._buf, p, total, 0)
            return p


    # -- figures -----------------------------------------------------------

    def _heap_free(self):
        w = self._w
        return C.ld(w, C.H_FREE_SIZE) - 4 * C.ld(w, C.H_FREE_COUNT)

    # -- everything else: _arenacold.py, loaded on first use ------------------

    def __getattr__(self, name):
        # Only reached for what neither the instance nor the class has: the
        # cold methods, until the first of them installs them all on the class.
        # Special names (bool(a), print(a) probe them) never load anything.
        if name.startswith("__"):
            raise AttributeError(name)
        from . import _arenacold
        if name in _arenacold.METHODS:
            _arenacold.install(Arena)
            return getattr(self, name)
        raise AttributeError(name)
