"""umalloc's device API driven over serial (the virtual board, or a real board with --port).

Each test gets a soft-reset board with umalloc deployed (the umalloc_board fixture);
figures read back over serial are compared with the same calls on CPython.
"""

import math

import umalloc
from umalloc_host.board import DeviceError

LAYOUT = "4096, partitions=((16, 8), (64, 4))"
MAP_CHARS = set("#PpU.")


def same_figures(device, host):
    """Equal, except that floats need only agree to single precision: boards have
    32-bit floats (frag 0.045241832 on a Pico is 0.04524180967238689 on CPython)."""
    if isinstance(device, float) or isinstance(host, float):
        return math.isclose(device, host, rel_tol=1e-6, abs_tol=1e-7)
    if isinstance(device, dict) and isinstance(host, dict):
        return device.keys() == host.keys() and all(same_figures(device[k], host[k]) for k in host)
    if isinstance(device, (list, tuple)) and isinstance(host, (list, tuple)):
        return len(device) == len(host) and all(map(same_figures, device, host))
    return device == host


def test_same_figures_allows_single_precision_only():
    assert same_figures({"frag": 0.045241832, "p": [{"n": 1}]},
                        {"frag": 0.04524180967238689, "p": [{"n": 1}]})
    assert not same_figures({"frag": 0.0452}, {"frag": 0.04524180967238689})
    assert not same_figures({"frag": 0.0, "p": [{"n": 1}]}, {"frag": 0.0, "p": [{"n": 2}]})


def _make(b, name="a"):
    b.exec("%s = umalloc.Arena(%s)" % (name, LAYOUT))


def test_partition_get_put_over_serial(umalloc_board):
    b = umalloc_board
    _make(b)
    b.exec("part = a.partitions[0]")
    ptrs = b.eval("[part.get() for _ in range(9)]")
    assert ptrs[-1] is None                      # 8 blocks: the 9th get fails
    assert len(set(ptrs[:8])) == 8 and all(p > 0 for p in ptrs[:8])
    q = b.eval("part.query()")
    assert (q["block_size"], q["nblks"], q["nfree"], q["nused"], q["min_free"], q["fail"]) == \
        (16, 8, 0, 8, 0, 1)
    b.exec("for p in %r: part.put(p)" % (ptrs[:8],))
    assert b.eval("part.query()['nfree']") == 8
    b.exec("a.check()")


def test_malloc_routes_by_size_and_free_finds_the_owner(umalloc_board):
    b = umalloc_board
    _make(b)
    p16, p64, heap = b.eval("[a.malloc(10), a.malloc(50), a.malloc(200)]")
    # the heap block: 200 B + its 4-byte header rounded up to the 8-byte granule, less the header
    assert b.eval("[a.size_of(p) for p in %r]" % ([p16, p64, heap],)) == [16, 64, 204]
    s = b.eval("a.stats()")
    assert [(p["block_size"], p["nused"]) for p in s["partitions"]] == [(16, 1), (64, 1)]
    assert s["live_blocks"] == 1 and s["used"] >= 200
    b.exec("for p in %r: a.free(p)" % ([heap, p64, p16],))
    s = b.eval("a.stats()")
    assert [p["nused"] for p in s["partitions"]] == [0, 0]
    assert s["live_blocks"] == 0 and s["used"] == 0
    assert s["free"] == s["largest_free"] and s["free_fragments"] == 1   # coalesced again
    b.exec("a.check()")


def test_bad_frees_return_memerror_codes(umalloc_board):
    b = umalloc_board
    _make(b)
    b.exec("def _code(p):\n try:\n  a.free(p)\n except umalloc.MemError as e:\n  return e.code\n")
    heap = b.eval("a.malloc(200)")
    assert b.eval("_code(12345)") == umalloc.ERR_MEM_INVALID_ADDR
    assert b.eval("_code(0)") == umalloc.ERR_MEM_INVALID_ADDR
    assert b.eval("_code(%d)" % (heap + 4)) == umalloc.ERR_MEM_INVALID_PBLK
    assert b.eval("_code(%d)" % heap) is None            # the real free succeeds
    assert b.eval("_code(%d)" % heap) == umalloc.ERR_MEM_DOUBLE_FREE
    b.exec("a.check()")                                  # bad input left the arena intact
    assert b.eval("a.stats()['live_blocks']") == 0


def test_uncaught_memerror_comes_back_as_device_error_with_traceback(umalloc_board):
    b = umalloc_board
    _make(b)
    try:
        b.exec("p = a.malloc(100)\na.free(p)\na.free(p)")
    except DeviceError as exc:
        assert "Traceback" in exc.traceback
        assert exc.exception_line.startswith("MemError")
        assert "DOUBLE_FREE" in exc.exception_line
    else:
        raise AssertionError("a double free on the device did not raise")


def test_check_detects_corruption_over_serial(umalloc_board):
    b = umalloc_board
    b.exec("buf = bytearray(4096)\na = umalloc.Arena(buf=buf, partitions=((16, 8), (64, 4)))\n"
           "p = a.malloc(300)\na.check()")
    b.exec("for i in range(p - 16, p): buf[i] ^= 0x5a")   # scribble over the block header
    try:
        b.exec("a.check()")
    except DeviceError as exc:
        assert "ERR_MEM_CORRUPT" in exc.exception_line
    else:
        raise AssertionError("check() passed over a scribbled header")


def test_stats_and_map_match_cpython(umalloc_board):
    b = umalloc_board
    steps = "ps = [a.malloc(n) for n in (10, 50, 200, 300, 12, 700, 64)]\n" \
            "a.free(ps[2])\na.free(ps[5])\nq = a.realloc(ps[3], 500)\nc = a.calloc(10, 8)\n"
    _make(b)
    b.exec(steps)
    device_stats = b.eval("a.stats()")
    device_map = b.eval("a.map(48)")
    scope = {"umalloc": umalloc}
    exec("a = umalloc.Arena(%s)\n%s" % (LAYOUT, steps), scope)
    host_stats = scope["a"].stats()
    assert same_figures(device_stats, host_stats), (device_stats, host_stats)
    assert device_map == scope["a"].map(48)
    assert len(device_map) == 48 and set(device_map) <= MAP_CHARS and "U" in device_map


def test_default_arena_wrappers_over_serial(umalloc_board):
    b = umalloc_board
    b.exec("umalloc.init(%s)" % LAYOUT)
    p = b.eval("umalloc.malloc(100)")
    b.exec("umalloc.view(%d)[:5] = b'hello'" % p)
    assert b.eval("bytes(umalloc.view(%d)[:5])" % p) == b"hello"
    b.exec("umalloc.free(%d)\numalloc.check()" % p)
    assert b.eval("umalloc.stats()['live_blocks']") == 0
