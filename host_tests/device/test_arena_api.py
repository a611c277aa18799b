# Behaviour of every Arena / Partition operation.  Runs on CPython and MicroPython.
import umalloc
from umalloc import Arena, MemError
from _check import fill, intact, raises


def make(**kw):
    kw.setdefault("partitions", ((16, 8), (64, 4)))
    return Arena(kw.pop("size", 4096), **kw)


def test_malloc_returns_offsets_and_views_of_requested_length():
    a = make()
    p = a.malloc(100)
    assert isinstance(p, int) and p > 0
    assert len(a.view(p)) == 100
    assert a.size_of(p) >= 100
    a.check()


def test_blocks_do_not_overlap():
    a = make(partitions=())
    ptrs = [a.malloc(n) for n in (1, 7, 30, 100, 3)]
    for k in range(len(ptrs)):
        fill(a, ptrs[k], k + 1)
    for k in range(len(ptrs)):
        assert intact(a, ptrs[k], k + 1)
    a.check()


def test_routing_smallest_fitting_partition_then_heap():
    a = make()
    small, big = a.partitions
    p = a.malloc(10)
    assert small.contains(p) and a.size_of(p) == 16
    q = a.malloc(17)
    assert big.contains(q) and a.size_of(q) == 64
    r = a.malloc(65)
    assert not small.contains(r) and not big.contains(r)
    # exhaust the 16-byte partition: the next small request goes to the 64-byte one
    rest = [a.malloc(16) for _ in range(7)]
    assert all(small.contains(x) for x in rest)
    s = a.malloc(16)
    assert big.contains(s)
    for x in rest + [p, q, r, s]:
        a.free(x)
    assert small.query()["nfree"] == 8 and big.query()["nfree"] == 4
    a.check()


def test_partition_get_put_query():
    a = make()
    part = a.partitions[0]
    got = [part.get() for _ in range(8)]
    assert len(set(got)) == 8
    assert part.get() is None
    q = part.query()
    assert (q["block_size"], q["nblks"], q["nfree"], q["nused"], q["min_free"], q["fail"]) == (16, 8, 0, 8, 0, 1)
    for p in got:
        part.put(p)
    assert part.query()["nfree"] == 8
    assert raises(MemError, part.put, got[0]).code == umalloc.ERR_MEM_FULL
    a.check()


def test_partition_put_errors():
    a = make()
    small, big = a.partitions
    p, q = small.get(), small.get()
    assert raises(MemError, small.put, p + 4).code == umalloc.ERR_MEM_INVALID_PBLK
    assert raises(MemError, big.put, p).code == umalloc.ERR_MEM_INVALID_PBLK
    small.put(p)
    assert raises(MemError, small.put, p).code == umalloc.ERR_MEM_DOUBLE_FREE
    small.put(q)
    a.check()


def test_partition_blocks_of_any_size_from_7_bytes():
    # 10-byte blocks sit 2 bytes apart from alignment; the free-list link uses
    # each free block's first aligned word, and the heap after them is aligned
    a = Arena(2048, partitions=((10, 9), (7, 3)))
    tiny, ten = a.partitions
    assert (tiny.block_size, ten.block_size) == (7, 10)
    got = [ten.get() for _ in range(9)]
    assert ten.get() is None and len(set(got)) == 9
    assert [q - got[0] for q in got] == [10 * i for i in range(9)]
    for p in got:
        fill(a, p, 0xA5)           # data fills the whole block, link word included
    for p in got[::2]:
        ten.put(p)
    assert raises(MemError, ten.put, got[1] + 2).code == umalloc.ERR_MEM_INVALID_PBLK
    assert raises(MemError, ten.put, got[0]).code == umalloc.ERR_MEM_DOUBLE_FREE
    assert [intact(a, p, 0xA5) for p in got[1::2]] == [True] * 4
    again = sorted(ten.get() for _ in range(5))
    assert again == sorted(got[::2])
    small = [a.malloc(n) for n in (1, 5, 7)]         # 7-byte partition, then 10-byte: full
    assert [a.size_of(p) for p in small] == [7, 7, 7]
    h = a.malloc(9)                                   # both partitions full: the heap
    assert h % 4 == 0 and a.size_of(h) >= 9
    for p in small + [h] + got[1::2] + again:
        a.free(p)
    a.check()
    assert ten.query()["nfree"] == 9 and tiny.query()["nfree"] == 3


def test_entry_points_print_short_at_the_repl():
    # the closures hold a view of the arena, not the bytearray (whose repr is all of it:
    # about 40 KB here); the heap's also print the core functions their slow paths call
    a = make(size=8192)
    for fn in (a.malloc, a.free, a.partitions[0].get, a.partitions[0].put):
        assert len(repr(fn)) < 2000


def test_lock_option_wraps_every_entry_point():
    class CountingLock:
        def __init__(self):
            self.entered = 0

        def __enter__(self):
            self.entered += 1

        def __exit__(self, exc_type, exc, tb):
            pass

    lock = CountingLock()
    a = make(lock=lock)
    part = a.partitions[0]
    part.put(part.get())
    a.free(a.malloc(100))
    a.free(a.realloc(a.malloc(10), 300))
    assert lock.entered == 2 + 2 + 3      # malloc, realloc (moved out of the partition), free
    a.check()
    assert raises(TypeError, Arena, 4096, (), "first", 4, None, False, 0, 256, object())


def test_heap_coalesces_with_both_neighbours():
    a = make(partitions=())
    whole = a.stats()["largest_free"]
    x, y, z = a.malloc(100), a.malloc(100), a.malloc(100)
    a.free(x)
    a.free(z)
    assert a.stats()["free_fragments"] == 2
    a.free(y)
    st = a.stats()
    assert st["free_fragments"] == 1 and st["largest_free"] == whole and st["live_blocks"] == 0
    a.check()


def test_calloc_zeroes():
    a = make(partitions=())
    p = a.malloc(64)
    fill(a, p, 0xEE)
    a.free(p)
    q = a.calloc(8, 8)
    assert q == p and intact(a, q, 0)
    assert a.calloc(0, 5) is not None


def test_realloc_in_place_grow_and_shrink():
    a = make(partitions=())
    p = a.malloc(40)
    fill(a, p, 7)
    assert a.realloc(p, 200) == p           # next block is free: grows in place
    assert len(a.view(p)) == 200 and all(x == 7 for x in a.view(p)[:40])
    assert a.realloc(p, 20) == p            # shrinks in place, tail returned
    assert len(a.view(p)) == 20
    a.check()


def test_realloc_moves_and_keeps_contents():
    a = make(partitions=())
    p = a.malloc(40)
    fill(a, p, 9)
    blocker = a.malloc(8)
    q = a.realloc(p, 300)
    assert q != p and q is not None
    assert all(x == 9 for x in a.view(q)[:40])
    assert raises(MemError, a.free, p).code in (umalloc.ERR_MEM_DOUBLE_FREE, umalloc.ERR_MEM_INVALID_PBLK)
    a.free(blocker)
    a.free(q)
    a.check()


def test_realloc_partition_block_grows_out_of_it():
    a = make()
    p = a.malloc(10)
    fill(a, p, 3)
    assert a.realloc(p, 12) == p
    q = a.realloc(p, 40)
    assert a.partitions[1].contains(q) and all(x == 3 for x in a.view(q)[:16])
    assert a.partitions[0].query()["nfree"] == 8


def test_realloc_failure_leaves_block_intact():
    a = make(partitions=(), size=1024)
    p = a.malloc(100)
    fill(a, p, 5)
    blocker = a.malloc(100)
    before = a.stats()
    assert a.realloc(p, 5000) is None
    assert a.realloc(p, 700) is None        # fits the arena, not the room after p
    assert intact(a, p, 5) and len(a.view(p)) == 100
    after = a.stats()
    assert after["fail"] == before["fail"] + 2
    assert (after["free"], after["live_blocks"]) == (before["free"], before["live_blocks"])
    a.free(blocker)
    a.check()


def test_realloc_none_is_malloc():
    a = make()
    p = a.realloc(None, 30)
    assert p and a.size_of(p) >= 30


def test_malloc_zero_gives_a_valid_block():
    a = make(partitions=())
    p = a.malloc(0)
    assert p and len(a.view(p)) == 0
    a.free(p)
    a.check()


def test_out_of_memory_counts_and_fragmented_failures():
    a = make(partitions=(), size=2048)
    ptrs = []
    while True:
        p = a.malloc(100)
        if p is None:
            break
        ptrs.append(p)
    assert a.stats()["fail"] == 1
    for p in ptrs[::2]:
        a.free(p)
    st = a.stats()
    assert st["free"] >= 300 and st["largest_free"] < 300
    assert a.malloc(300) is None
    st = a.stats()
    assert st["fail"] == 2 and st["fail_fragmented"] == 1
    assert 0 < st["frag"] < 1
    assert abs(st["frag"] - (1 - st["largest_free"] / st["free"])) < 1e-9
    assert st["min_ever_free"] <= st["free"]


def test_stats_names_and_consistency():
    a = make()
    p = a.malloc(200)
    st = a.stats()
    for key in ("arena_size", "heap_size", "free", "used", "largest_free", "free_fragments", "frag",
                "min_ever_free", "fail", "fail_fragmented", "live_blocks", "overhead", "meta",
                "policy", "partitions"):
        assert key in st, key
    assert st["arena_size"] == 4096 and st["overhead"] == 4 and st["live_blocks"] == 1
    assert st["used"] + st["free"] + 4 * st["free_fragments"] == st["heap_size"]
    assert [q["block_size"] for q in st["partitions"]] == [16, 64]
    a.free(p)


def test_best_fit_picks_the_smallest_hole():
    a = make(partitions=(), policy="best")
    x1, g1, x2, g2, x3 = [a.malloc(n) for n in (200, 8, 60, 8, 8)]
    a.free(x1)
    a.free(x2)
    p = a.malloc(50)
    assert p == x2
    first = make(partitions=(), policy="first")
    y1, h1, y2, h2, y3 = [first.malloc(n) for n in (200, 8, 60, 8, 8)]
    first.free(y1)
    first.free(y2)
    assert first.malloc(50) == y1


def test_good_fit_prefers_the_smallest_larger_class_and_keeps_the_heap_end_for_last():
    a = make(partitions=())                 # the default policy
    assert a.stats()["policy"] == "good"
    x1, g1, x2, g2, x3, g3 = [a.malloc(n) for n in (400, 8, 60, 8, 20, 8)]
    a.free(x1)                              # holes of 404 (low) and 64 and 24 bytes
    a.free(x2)
    a.free(x3)
    assert a.malloc(16) == x3               # its own class, first fit
    assert a.malloc(40) == x2               # the smallest larger class, not the lowest hole
    big = a.malloc(500)                     # no hole fits: the free block ending the heap
    assert big > g3
    assert a.malloc(300) == x1              # the 404-byte hole before the heap's end block
    a.check()


def test_twoended_puts_small_blocks_at_the_top():
    a = make(partitions=(), policy="twoended", small_threshold=64)
    big = a.malloc(500)
    small = a.malloc(20)
    assert small > big + 500
    assert small + a.size_of(small) > len(a._buf) - 8   # the very top of the heap
    mid = a.malloc(100)                     # large (> 64): from the bottom, after `big`
    assert big < mid < small
    a.free(small)
    a.free(mid)
    a.free(big)
    assert a.stats()["free_fragments"] == 1
    a.check()


def test_align8_payloads():
    a = make(partitions=((8, 4), (32, 4)), align=8)
    for n in (1, 9, 13, 100, 33):
        p = a.malloc(n)
        assert p % 8 == 0, (n, p)
    a.check()


def test_map_shows_each_kind_of_cell():
    a = make(size=2048, partitions=((64, 8),))
    line = a.map(64)
    assert len(line) == 64 and line[0] == "#" and "p" in line and "." in line
    ps = [a.malloc(60) for _ in range(8)] + [a.malloc(600)]
    line = a.map(64)
    assert "P" in line and "U" in line and "p" not in line
    assert len(a.map(7)) == 7


def test_module_level_default_arena():
    umalloc.init(2048, partitions=((16, 4),))
    p = umalloc.malloc(10)
    assert umalloc.default_arena().partitions[0].contains(p)
    umalloc.view(p)[0] = 1
    q = umalloc.realloc(umalloc.calloc(2, 50), 120)
    umalloc.free(q)
    umalloc.free(p)
    umalloc.check()
    assert umalloc.stats()["live_blocks"] == 0 and umalloc.size_of(umalloc.malloc(3)) == 16


def test_buf_argument_carves_an_existing_bytearray():
    buf = bytearray(3000)
    a = Arena(buf=buf, partitions=())
    p = a.malloc(10)
    a.view(p)[0] = 0x42
    assert buf[p] == 0x42


class _Lines:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s


def test_trace_ring_records_events_in_trace_format():
    a = make(trace=5)
    p = a.malloc(100)
    q = a.malloc(10)
    p = a.realloc(p, 300)
    a.free(q)
    a.free(p)
    out = _Lines()
    a.dump_trace(out)
    lines = out.text.strip().split("\n")
    assert lines == ["a 0 100", "a 1 10", "r 0 300", "f 1", "f 0"], lines
    a.malloc(20)                            # a sixth event pushes the oldest out of the ring
    out = _Lines()
    a.dump_trace(out)
    assert out.text.split("\n")[0] == "a 0 10"


def test_calloc_on_trace_and_debug_arenas_does_what_malloc_does():
    a = make(trace=4)                       # calloc's own copy of malloc's bookkeeping
    p = a.calloc(3, 10)
    assert a.calloc(1 << 20, 1 << 20) is None     # too large: a failure, traced as one
    a.free(p)
    out = _Lines()
    a.dump_trace(out)
    lines = out.text.strip().split("\n")
    assert lines[0] == "a 0 30" and lines[2] == "f 0" and lines[1].startswith("# failed"), lines
    d = make(partitions=(), debug=True)
    q = d.calloc(5, 2)
    assert intact(d, q, 0) and len(d.view(q)) == 10
    d.free(q)                               # calloc guarded it: free's guard check passes
    r = d.calloc(5, 2)
    d._buf[r + 10] = 0                      # one byte past the 10 asked for: an overrun
    assert raises(MemError, d.free, r).code == umalloc.ERR_MEM_CORRUPT
