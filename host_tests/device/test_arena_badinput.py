# Bad input: a clear MemError / TypeError / ValueError, and the arena bytes unchanged.
import umalloc
from umalloc import Arena, MemError
from _check import raises

# The unix port compiles umalloc from source inside its own GC heap, which
# leaves 192k too fragmented for the tight-layout test's 17 KB arenas (with
# the .mpy files a board runs, 192k is plenty); with the viper core loaded as
# well, 256k was at the edge (a 17 KB bytearray failed with 190 KB free).
MICROPYTHON_HEAP = "320k"


def busy_arena():
    a = Arena(4096, partitions=((16, 8), (64, 4)))
    keep = [a.malloc(n) for n in (10, 40, 100, 300, 7)]
    a.free(keep[3])
    return a, keep


def unchanged(a, fn, *args):
    """Run fn (which must raise), then prove the arena's bytes did not change."""
    before = bytes(a._buf)
    try:
        fn(*args)
    except (MemError, TypeError, ValueError) as exc:
        assert bytes(a._buf) == before, "arena changed by a refused call"
        a.check()
        return exc
    raise AssertionError("no error from %r%r" % (fn, args))


def code(exc):
    return exc.code if isinstance(exc, MemError) else None


def test_free_none_zero_and_out_of_range():
    a, keep = busy_arena()
    assert code(unchanged(a, a.free, None)) == umalloc.ERR_MEM_INVALID_ADDR
    assert code(unchanged(a, a.free, 0)) == umalloc.ERR_MEM_INVALID_ADDR
    assert code(unchanged(a, a.free, 4)) == umalloc.ERR_MEM_INVALID_ADDR      # the arena header
    assert code(unchanged(a, a.free, 1 << 20)) == umalloc.ERR_MEM_INVALID_ADDR
    assert code(unchanged(a, a.free, -8)) == umalloc.ERR_MEM_INVALID_ADDR


def test_free_interior_pointers():
    a, keep = busy_arena()
    heap_block = keep[2]
    assert code(unchanged(a, a.free, heap_block + 4)) == umalloc.ERR_MEM_INVALID_PBLK
    assert code(unchanged(a, a.free, heap_block + 1)) == umalloc.ERR_MEM_INVALID_PBLK
    assert code(unchanged(a, a.free, keep[0] + 4)) == umalloc.ERR_MEM_INVALID_PBLK  # inside a partition block


def test_interior_pointer_that_looks_like_a_header_is_refused():
    a = Arena(4096, partitions=())
    p = a.malloc(200)
    q = a.malloc(50)
    # forge a valid-looking used header inside p's data: the page walk steps over it
    v = a.view(p)
    fake = q - p   # copy q's real header word into p's payload
    for i in range(4):
        v[40 + i] = a._buf[q - 4 + i]
    assert code(unchanged(a, a.free, p + 44)) == umalloc.ERR_MEM_INVALID_PBLK
    assert fake > 0


def test_double_free_heap_and_partition():
    a, keep = busy_arena()
    b1, b2, b3 = a.malloc(200), a.malloc(200), a.malloc(200)
    a.free(b2)
    assert code(unchanged(a, a.free, b2)) == umalloc.ERR_MEM_DOUBLE_FREE
    a.free(keep[0])
    assert code(unchanged(a, a.free, keep[0])) == umalloc.ERR_MEM_DOUBLE_FREE
    a.free(b1)     # merges with b2: b2 is no longer a block start at all
    assert code(unchanged(a, a.free, b2)) == umalloc.ERR_MEM_INVALID_PBLK


def test_put_into_wrong_partition_and_full():
    a, keep = busy_arena()
    small, big = a.partitions
    assert code(unchanged(a, big.put, keep[0])) == umalloc.ERR_MEM_INVALID_PBLK
    assert code(unchanged(a, small.put, keep[2])) == umalloc.ERR_MEM_INVALID_PBLK
    empty = Arena(2048, partitions=((16, 4),))
    part = empty.partitions[0]
    p = part.get()
    part.put(p)
    assert code(unchanged(empty, part.put, p)) == umalloc.ERR_MEM_FULL
    assert code(unchanged(a, small.put, None)) == umalloc.ERR_MEM_INVALID_PBLK


def test_malloc_sizes():
    a, keep = busy_arena()
    unchanged(a, a.malloc, -1)
    unchanged(a, a.malloc, "10")
    unchanged(a, a.malloc, 1.5)
    unchanged(a, a.malloc, None)
    before = a.stats()["fail"]
    assert a.malloc(10 ** 9) is None     # huge: refused and counted
    assert a.malloc(5000) is None
    assert a.stats()["fail"] == before + 2
    a.check()


def test_calloc_overflow_and_types():
    a, keep = busy_arena()
    assert a.calloc(1 << 20, 1 << 20) is None
    assert a.calloc(0x7FFFFFFF, 3) is None
    unchanged(a, a.calloc, -1, 4)
    unchanged(a, a.calloc, 4, "x")
    a.check()


def test_realloc_bad_pointers_and_sizes():
    a, keep = busy_arena()
    assert code(unchanged(a, a.realloc, keep[3], 50)) in (umalloc.ERR_MEM_DOUBLE_FREE, umalloc.ERR_MEM_INVALID_PBLK)
    assert code(unchanged(a, a.realloc, 3, 50)) == umalloc.ERR_MEM_INVALID_ADDR
    unchanged(a, a.realloc, keep[2], -5)
    unchanged(a, a.realloc, keep[2], "big")
    unchanged(a, a.size_of, keep[3])
    unchanged(a, a.view, keep[2] + 8)


def test_bad_layouts():
    assert raises(MemError, Arena, 200, ((16, 64),)).code == umalloc.ERR_MEM_INVALID_SIZE   # too small: a size error
    assert raises(MemError, Arena, 64, ()).code == umalloc.ERR_MEM_INVALID_SIZE          # too small for its header
    assert raises(MemError, Arena, 4096, ((0, 8),)).code == umalloc.ERR_MEM_INVALID_SIZE
    assert raises(MemError, Arena, 4096, ((2, 8),)).code == umalloc.ERR_MEM_INVALID_SIZE
    assert raises(MemError, Arena, 4096, ((6, 8),)).code == umalloc.ERR_MEM_INVALID_SIZE     # no aligned word inside
    assert raises(MemError, Arena, 4096, ((12, 8),), "first", 8).code == umalloc.ERR_MEM_INVALID_SIZE
    assert raises(MemError, Arena, 4096, ((16, 0),)).code == umalloc.ERR_MEM_INVALID_BLKS
    assert raises(MemError, Arena, 4096, ((16, 1),)).code == umalloc.ERR_MEM_INVALID_BLKS
    raises(ValueError, Arena, 4096, ((16, 4), (16, 8)))     # two partitions of one size
    raises(TypeError, Arena, 4096, ((16,),))
    raises(TypeError, Arena, 4096, (("16", 4),))
    raises(TypeError, Arena, "4096")
    raises(ValueError, Arena, 4096, (), "worst")
    raises(ValueError, Arena, 4096, (), "first", 16)
    assert raises(MemError, Arena, 1 << 25).code == umalloc.ERR_MEM_INVALID_SIZE
    # a partition count where the pairs belong, with or without other arguments
    assert "(block_size, nblks) pairs" in str(raises(TypeError, Arena, 4096, 16))
    assert "(block_size, nblks) pairs" in str(raises(TypeError, Arena, 4096, 16, "first"))
    assert "(block_size, nblks) pairs" in str(raises(TypeError, Arena, 4096, "16x8"))
    assert len(Arena(4096, [[16, 8]]).partitions) == 1        # a list, as a board profile has


def test_size_and_buf_must_agree():
    buf = bytearray(b"\xaa" * 8192)
    exc = raises(ValueError, lambda: Arena(4096, buf=buf))
    assert "4096" in str(exc) and "8192" in str(exc), str(exc)
    assert buf == bytearray(b"\xaa" * 8192)                 # refused before buf is touched
    assert len(Arena(8192, buf=buf)._buf) == 8192           # the same size twice is fine


def test_module_functions_need_init_or_work_after_it():
    umalloc.init(1024, partitions=())
    p = umalloc.malloc(10)
    raises(MemError, umalloc.free, p + 1)
    umalloc.free(p)
    umalloc.check()


def test_tight_layouts_fit_or_are_refused():
    # Around the smallest size that holds a layout: either a clear MemError, or an
    # arena whose every partition block lies inside the buffer and check() passes.
    for size0, parts, align in ((10308, ((10, 1000),), 4), (208, ((8, 3),), 4),
                                (17104, ((24, 46), (64, 34), (256, 53)), 8)):
        built = 0
        a = None
        for size in range(size0 - 48, size0 + 48, 4):
            a = None                # one arena at a time: 192k of GC heap also holds the compiled package
            try:
                a = Arena(size, parts, "first", align)
            except MemError as exc:
                assert exc.code in (umalloc.ERR_MEM_INVALID_ADDR, umalloc.ERR_MEM_INVALID_SIZE)
                continue
            built += 1
            a.check()
            for part in a.partitions:
                got = [part.get() for _ in range(part.query()["nblks"])]
                assert max(got) + part.block_size <= size
                for p in got:
                    part.put(p)
            a.check()
            a = part = None      # let the next arena reuse this one's RAM (192 KB heap)
        assert built > 0


def test_at_most_64_partitions():
    # put() finds its descriptor from bits 24-29 of its size mask (a small int on a
    # 32-bit port): 64 partitions work, a 65th is refused when the arena is made
    parts = tuple((size, 2) for size in range(7, 71))      # small: a board's heap holds it
    a = Arena(10 * 1024, partitions=parts)
    last = a.partitions[63]
    p = last.get()
    assert last.block_size == 70 and last.contains(p)
    last.put(p)
    a.check()
    a = last = None
    assert raises(MemError, Arena, 10 * 1024, parts + ((71, 2),)).code == umalloc.ERR_MEM_INVALID_BLKS
    buf = bytearray(b"\xaa" * 10240)            # refused with the other arguments: buf untouched
    raises(MemError, lambda: Arena(buf=buf, partitions=parts + ((71, 2),)))
    assert buf == bytearray(b"\xaa" * 10240)
