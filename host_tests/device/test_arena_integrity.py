# check() catches broken invariants; debug mode catches overruns and writes after free.
import umalloc
from umalloc import Arena, MemError
from _check import raises


def corrupt_code(a):
    return raises(MemError, a.check).code


def poke(a, off, value):
    a._buf[off] = value


def test_clean_arena_passes_check():
    a = Arena(4096, partitions=((16, 8),))
    ps = [a.malloc(n) for n in (5, 50, 150, 20)]
    a.free(ps[1])
    a.check()


def test_overwritten_magic():
    a = Arena(2048, partitions=())
    poke(a, 0, 0)
    assert corrupt_code(a) == umalloc.ERR_MEM_CORRUPT


def test_heap_header_bit_flip_breaks_parity():
    a = Arena(2048, partitions=())
    p = a.malloc(100)
    a.malloc(100)
    a._buf[p - 4] ^= 0x40          # flips one size bit of p's header
    e = raises(MemError, a.check)
    assert e.code == umalloc.ERR_MEM_CORRUPT and "parity" in str(e)
    # a corrupt header is refused by free() as well, rather than trusted
    assert raises(MemError, a.free, p).code == umalloc.ERR_MEM_CORRUPT


def test_broken_free_list_link():
    a = Arena(2048, partitions=())
    x, y, z = a.malloc(100), a.malloc(100), a.malloc(100)
    a.free(y)
    a._buf[y + 4] = 8              # y's "next free" link now points into the header
    assert corrupt_code(a) == umalloc.ERR_MEM_CORRUPT


def test_partition_free_list_cycle():
    a = Arena(2048, partitions=((16, 4),))
    part = a.partitions[0]
    p = part.get()
    q = part.get()
    part.put(p)
    part.put(q)                    # list: q -> p -> ...
    for i in range(4):             # make q point to itself
        a._buf[q + i] = (q >> (8 * i)) & 0xFF
    assert corrupt_code(a) == umalloc.ERR_MEM_CORRUPT


def test_partition_count_mismatch():
    a = Arena(2048, partitions=((16, 4),))
    a.partitions[0].get()
    d = a.partitions[0]._d
    a._buf[(d + 5) * 4] = 4        # nfree says 4 although one block is out
    assert corrupt_code(a) == umalloc.ERR_MEM_CORRUPT


def test_debug_mode_catches_buffer_overrun():
    a = Arena(4096, partitions=(), debug=True)
    p = a.malloc(10)
    a.check()
    a._buf[p + 10] = 0             # one byte past the requested length
    e = raises(MemError, a.check)
    assert "overrun" in str(e)


def test_debug_mode_catches_write_after_free():
    a = Arena(4096, partitions=(), debug=True)
    p = a.malloc(100)
    q = a.malloc(100)
    a.free(p)
    a.check()
    a._buf[p + 50] = 1             # a stale pointer writes into freed memory
    e = raises(MemError, a.check)
    assert "freed" in str(e)
    a.free(q)


def test_debug_mode_keeps_poison_through_merges():
    a = Arena(4096, partitions=(), debug=True)
    ps = [a.malloc(n) for n in (30, 60, 90, 120)]
    for p in (ps[1], ps[3], ps[2], ps[0]):
        a.free(p)
        a.check()
    p = a.malloc(64)
    q = a.realloc(p, 300)
    a.check()
    assert len(a.view(q)) == 300 and a.stats()["overhead"] == 8
