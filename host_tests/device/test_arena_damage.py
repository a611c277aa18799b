# Memory safety: bytes an application writes into the arena (past a block's end,
# through a view kept after free) give MemError(ERR_MEM_CORRUPT) naming the
# damaged offset; the core never follows or writes through what it read
# without checking it.  Runs on CPython and on the MicroPython unix port, where
# each of the reproductions below used to segfault the VM.
import umalloc
from umalloc import Arena, MemError
from _check import fill, intact, raises

# The unix port compiles umalloc from source inside its own GC heap, which
# leaves 192k too fragmented for this module's many arenas (with the .mpy
# files a board runs, 192k is plenty).
MICROPYTHON_HEAP = "256k"


def corrupt(fn, *args):
    exc = raises(MemError, fn, *args)
    assert exc.code == umalloc.ERR_MEM_CORRUPT, exc
    return exc


def offset_named(exc, off):
    return ("offset %d" % off) in str(exc)


def put32(buf, off, value):
    for i in range(4):
        buf[off + i] = (value >> (8 * i)) & 0xFF


def test_off_by_one_nul_into_the_next_header_then_free():
    # issue 13, reproduction 1 (a segfault on the unix port)
    buf = bytearray(4096)
    a = Arena(buf=buf, partitions=())
    p = a.malloc(12)
    q = a.malloc(300)
    a.view(q)[:] = b"\xff" * 300
    buf[p + a.size_of(p)] = 0               # off-by-one NUL into q's header
    exc = corrupt(a.free, p)
    assert offset_named(exc, q - 4)         # the damaged header: q's
    assert a.size_of(p) == 12               # refused: p still live, nothing merged
    corrupt(a.check)


def test_off_by_one_nul_with_a_zero_payload_loses_no_other_block():
    buf = bytearray(4096)
    a = Arena(buf=buf, partitions=())
    p = a.malloc(12)
    q = a.malloc(300)                       # zero payload: its bytes look like a footer of 0
    r = a.malloc(40)
    fill(a, r, 0x3C)
    rsize = a.size_of(r)
    buf[p + a.size_of(p)] = 0
    corrupt(a.free, p)
    assert a.size_of(r) == rsize and intact(a, r, 0x3C)    # the third live block is not lost
    for _ in range(20):                     # and no later malloc hands it out again
        x = a.malloc(40)
        assert x is None or x + 40 <= r - 4 or x >= r + 40
    assert intact(a, r, 0x3C)


def test_write_through_a_view_kept_after_free_then_malloc():
    # issue 13, reproduction 2 (a segfault on the unix port, debug=True too)
    for debug in (False, True):
        a = Arena(4096, partitions=(), debug=debug)
        p = a.malloc(100)
        a.malloc(100)
        v = a.view(p)
        a.free(p)
        v[0:4] = b"\xff\xff\xff\x7f"       # the freed block's "next free" link
        exc = corrupt(a.malloc, 50)
        assert offset_named(exc, p)         # the link at p: the first word of the freed payload


def test_free_checks_the_footer_below_before_merging():
    a = Arena(4096, partitions=())
    p, q, r = a.malloc(100), a.malloc(100), a.malloc(100)
    a.free(p)                               # free below q: q's header says PREV_FREE
    put32(a._buf, q - 8, 0x7FFFFFF0)        # the footer of the free block below q
    exc = corrupt(a.free, q)
    assert offset_named(exc, q - 8)
    assert a.size_of(q) == 100 and a.size_of(r) == 100


def test_a_link_into_a_live_block_is_not_followed():
    a = Arena(4096, partitions=())
    p, q = a.malloc(100), a.malloc(100)
    live = a.malloc(200)
    a.malloc(20)
    fill(a, live, 0x77)
    a.free(p)
    a.view(live)[:16] = bytes(16)           # a fake free header inside a live block...
    put32(a._buf, p, live)                  # ...and the stale write that links to it
    corrupt(a.malloc, 50)
    corrupt(a.malloc, 60)
    corrupt(a.free, q)                      # merging q into p would rewrite p's list place
    assert list(a.view(live)[16:]) == [0x77] * 184 and a.size_of(q) == 100


def test_a_damaged_class_list_head_is_refused():
    a = Arena(4096, partitions=())
    p, q, r, s = a.malloc(100), a.malloc(100), a.malloc(100), a.malloc(100)
    a.free(p)
    w = a._w
    C = umalloc._core
    heads = C.ld(w, C.H_CLASSES) >> 2
    damaged = 0
    for c in range(C.ld(w, C.H_NCLASSES)):  # the head of p's class points at the arena's header
        if C.ld(w, heads + c) == p - 4:
            C.st(w, heads + c, 8)
            damaged += 1
    assert damaged == 1
    corrupt(a.free, r)                      # r goes after p in that list: the walk checks the head
    assert a.size_of(r) == 100


def test_partition_link_outside_its_blocks_or_at_a_live_block():
    a = Arena(2048, partitions=((16, 4),))
    part = a.partitions[0]
    x, y = part.get(), part.get()
    fill(a, x, 0x11)
    part.put(y)
    put32(a._buf, y, 1 << 30)               # y's link: far outside the arena
    assert part.get() == y
    exc = corrupt(part.get)
    assert "offset" in str(exc)
    corrupt(a.malloc, 10)                   # malloc's own OSMemGet checks it too
    b = Arena(2048, partitions=((16, 4),))
    part = b.partitions[0]
    x, y = part.get(), part.get()
    part.put(y)
    put32(b._buf, y, x)                     # y's link: the live block x
    assert part.get() == y
    corrupt(part.get)                       # x is not handed out twice


def test_used_header_with_a_flipped_prev_free_is_refused():
    a = Arena(4096, partitions=())
    p, q = a.malloc(100), a.malloc(100)
    a._buf[q - 4] ^= 0x02                   # q says "free below" although p is live
    a._buf[q - 2] ^= 0x20                   # parity kept right: only the flag is wrong
    corrupt(a.free, p)


def test_stats_and_map_refuse_a_link_out_of_the_heap():
    a = Arena(4096, partitions=())
    p = a.malloc(100)
    a.malloc(100)
    a.free(p)
    top = 0
    for b, size in a._free_blocks():        # the large free block stats() walks for largest_free
        if size > 1000:
            top = b
    put32(a._buf, top + 4, 0x00FFFFF0)      # its "next free" link
    corrupt(a.stats)
    a.map()                                 # the map walks headers only: still drawn
    corrupt(a.check)


def test_partitions_after_odd_block_sizes_stay_word_aligned():
    a = Arena(4096, partitions=((7, 3), (16, 4)))
    assert a.partitions[1].get() % 4 == 0   # was 589
    for parts in (((7, 3), (12, 5), (24, 2)), ((9, 3), (10, 2), (16, 3), (21, 3), (32, 2))):
        a = Arena(8192, partitions=parts)
        for part in a.partitions:
            got = [part.get() for _ in range(part.query()["nblks"])]
            if part.block_size % 4 == 0:
                assert [p % 4 for p in got] == [0] * len(got), (part.block_size, got)
            for p in got:
                part.put(p)
        a.check()
    a = Arena(4096, partitions=((8, 3), (24, 3)), align=8)
    assert [a.partitions[i].get() % 8 for i in (0, 1)] == [0, 0]


class DepthLock:
    """A lock that records how deep it is held: entry points must take it exactly once."""

    def __init__(self):
        self.depth = self.entered = self.deepest = 0

    def __enter__(self):
        self.depth += 1
        self.entered += 1
        self.deepest = max(self.deepest, self.depth)

    def __exit__(self, exc_type, exc, tb):
        self.depth -= 1


def test_every_public_entry_point_takes_the_lock_once():
    lock = DepthLock()
    a = Arena(8192, partitions=((16, 4),), lock=lock, trace=8)
    part = a.partitions[0]

    class Sink:
        def write(self, s):
            pass
    p = a.malloc(100)
    calls = (lambda: a.malloc(10), lambda: a.calloc(3, 5), lambda: a.free(a.partitions[0].get()),
             lambda: a.realloc(p, 300), lambda: a.view(a.malloc(20)), lambda: a.size_of(a.malloc(30)),
             a.stats, a.map, a.check, lambda: list(a.trace_events()), lambda: a.dump_trace(Sink()),
             part.get, part.query, lambda: part.put(part.get()))
    for fn in calls:
        before = lock.entered
        fn()
        assert lock.entered > before and lock.depth == 0
    assert lock.deepest == 1                 # never re-entered (a _thread lock would deadlock)


def test_bad_sizes_and_pointers_give_one_type_error_everywhere():
    parts = ((16, 64), (64, 32))
    arenas = (Arena(4096, partitions=parts), Arena(4096, partitions=parts, debug=True),
              Arena(4096, partitions=parts, lock=DepthLock()), Arena(4096, partitions=parts, trace=4))
    c_core = getattr(umalloc._core, "CCORE", None) is not None
    # the C core's refusal quotes the value; viper's `&` names the type first
    for bad, words in ((True, "got True"), (False, "got False"), (1.5, "got 1.5" if c_core else "'float'"),
                       ("3", "got '3'" if c_core else "'str'")):
        msgs = set()
        for a in arenas:
            msgs.add(str(raises(TypeError, a.malloc, bad)))
        assert len(msgs) == 1 and words in msgs.pop(), msgs
    for bad in (True, 2.0, "8"):
        msgs = set()
        for a in arenas:
            msgs.add(str(raises(TypeError, a.free, bad)))
            raises(TypeError, a.realloc, a.malloc(8), bad)
            raises(TypeError, a.size_of, bad)
            raises(TypeError, a.view, bad)
            raises(TypeError, a.calloc, bad, 4)
        assert len(msgs) == 1, msgs
    part = arenas[0].partitions[0]
    raises(TypeError, part.put, True)
    assert str(raises(TypeError, arenas[0].malloc, 1.5)) == (
        "malloc size must be an int, got 1.5" if c_core else "unsupported types for __and__: 'float', 'int'")
    if c_core:
        assert str(raises(TypeError, arenas[0].free, 2.0)) == "free() takes an int pointer, got 2.0"
        assert str(raises(TypeError, part.put, "8")) == "put() takes an int pointer, got '8'"
    assert str(raises(TypeError, arenas[0].malloc, True)) == "malloc size must be an int, got True"


def test_constructor_checks_every_argument_before_touching_buf():
    for kwargs, exc_type in (({"align": 4.0}, TypeError), ({"align": True}, TypeError),
                             ({"small_threshold": -1}, ValueError), ({"small_threshold": 2.5}, TypeError),
                             ({"small_threshold": "big"}, TypeError), ({"trace": -1}, ValueError),
                             ({"trace": 1.0}, TypeError), ({"debug": 1}, TypeError),
                             ({"policy": "worst"}, ValueError), ({"policy": 3}, ValueError),
                             ({"partitions": ((16, 1),)}, MemError), ({"lock": 5}, TypeError)):
        buf = bytearray(b"\xaa" * 4096)
        kwargs["buf"] = buf
        raises(exc_type, lambda: Arena(**kwargs))
        assert buf == bytearray(b"\xaa" * 4096), kwargs
    buf = bytearray(b"\xaa" * 4094)
    exc = raises(ValueError, lambda: Arena(buf=buf))
    assert "multiple of 4" in str(exc) and buf == bytearray(b"\xaa" * 4094)


def test_debug_free_refuses_an_overrun_heap_block():
    a = Arena(4096, partitions=(), debug=True)
    p = a.malloc(10)
    a._buf[p + 10] = 0                      # one byte past the requested length
    exc = corrupt(a.free, p)
    assert "overrun" in str(exc) and offset_named(exc, p + 10)
    assert a.size_of(p) >= 10               # refused: still live, arena unchanged
    raises(MemError, a.realloc, p, 100)


def test_debug_malloc_finds_a_write_into_freed_memory_once():
    a = Arena(4096, partitions=(), debug=True)
    p = a.malloc(100)
    a.malloc(100)
    a.free(p)
    a._buf[p + 40] = 1                      # a stale pointer writes into the freed block
    exc = corrupt(a.malloc, 100)
    assert "freed" in str(exc) and offset_named(exc, p + 40)
    a.check()                               # given back re-poisoned
    q = a.malloc(100)
    assert q == p


def test_debug_partition_blocks_get_guard_and_poison_checks():
    a = Arena(4096, partitions=((16, 4),), debug=True)
    part = a.partitions[0]
    p = a.malloc(10)
    assert part.contains(p)
    a._buf[p + 12] = 0                      # past the 10 bytes asked for, inside the block
    exc = corrupt(a.free, p)
    assert "overrun" in str(exc)
    a._buf[p + 12] = 0xFD                   # guard restored: free works
    a.free(p)
    x = part.get()
    part.put(x)
    a._buf[x + 9] = 0                       # write after put(): poison changed
    exc = corrupt(part.get)
    assert "freed" in str(exc) and offset_named(exc, x + 9)
    assert part.query()["nfree"] == 4       # given back
    y = part.get()
    part.put(y)
    a.check()


def test_a_scribbled_header_or_descriptor_is_refused_everywhere():
    C = umalloc._core
    for word in (C.H_HEAP_END, C.H_CLASSES, C.H_NPARTS, C.H_PAGES, C.H_GRAN_SHIFT, C.H_IRQ):
        a = Arena(4096, partitions=((16, 4),))
        p = a.malloc(100)
        q = a.partitions[0].get()
        a._buf[word * 4 + 1] ^= 0x40       # one bit of a layout word the core computes offsets from
        for fn, args in ((a.malloc, (10,)), (a.malloc, (100,)), (a.free, (p,)), (a.realloc, (p, 200)),
                         (a.view, (p,)), (a.size_of, (p,)), (a.stats, ()), (a.map, ()), (a.check, ())):
            exc = corrupt(fn, *args)
            assert "offset" in str(exc)
        if word == C.H_IRQ:                 # folded into every descriptor's seal too
            corrupt(a.partitions[0].put, q)
    a = Arena(4096, partitions=((16, 4), (32, 4)))
    part = a.partitions[1]
    x = part.get()
    d = part._d
    a._buf[(d + C.PD_BITMAP) * 4] ^= 0x10   # the used-block bitmap's offset
    exc = corrupt(part.get)
    assert offset_named(exc, d * 4)
    corrupt(part.put, x)
    corrupt(a.free, x)
    corrupt(a.malloc, 20)                   # served by that partition: its seal is checked
    assert a.partitions[0].get() is not None   # the other partition is sound
    corrupt(a.check)


def page_index(a):
    """The heap's page index bytes (one per 256-byte page: its first block start, or 0xFF)."""
    C = umalloc._core
    w = a._w
    pages = C.ld(w, C.H_PAGES)
    heap = C.ld(w, C.H_HEAP_END) - C.ld(w, C.H_HEAP_START)
    return list(a._buf[pages:pages + (heap + 255) // 256])


def test_the_page_index_follows_splits_and_merges():
    a = Arena(4096, partitions=())
    start = umalloc._core.ld(a._w, umalloc._core.H_HEAP_START)
    n = len(page_index(a))
    assert page_index(a) == [0] + [0xFF] * (n - 1)      # one free block: the heap's first granule
    p = a.malloc(300)                                    # a 304-byte block: the free rest starts in page 1
    assert page_index(a)[:3] == [0, (start + 304 - start - 256) // 8, 0xFF]
    q = a.malloc(1000)                                   # the rest now starts in page 5
    assert page_index(a)[1] == 6 and page_index(a)[5] == (start + 1312 - 5 * 256 - start) // 8
    a.free(p)                                            # no merge: p's start stays
    assert page_index(a)[:2] == [0, 6]
    a.free(q)                                            # one free block again: its starts are gone
    assert page_index(a) == [0] + [0xFF] * (n - 1)
    a.check()


def test_a_damaged_header_on_the_page_walk_is_named():
    # free(r) walks r's page from its first start: p's header, then q's
    a = Arena(4096, partitions=())
    p, q, r = a.malloc(8), a.malloc(8), a.malloc(8)
    a._buf[q - 4] ^= 0x40                  # one bit of q's size: its parity fails
    exc = corrupt(a.free, r)
    assert offset_named(exc, q - 4)


def test_a_damaged_page_index_is_caught():
    C = umalloc._core
    a = Arena(4096, partitions=())
    p = a.malloc(300)
    q = a.malloc(8)
    pages = C.ld(a._w, C.H_PAGES)
    a._buf[pages + 1] = 0xFF                # page 1 claims no block start: q's is there
    assert raises(MemError, a.free, q).code == umalloc.ERR_MEM_INVALID_PBLK   # refused, not followed
    exc = corrupt(a.check)
    assert offset_named(exc, pages + 1)
    a._buf[pages + 1] = 3                   # an entry pointing into p's payload
    a.view(p)[:] = b"\xff" * 300
    exc = corrupt(a.free, q)               # the walk checks the header it lands on
    assert offset_named(exc, (C.ld(a._w, C.H_HEAP_START) + 256 + 3 * 8))
