# What `import umalloc` leaves out until it is used: the cold core (_corecold),
# Arena's cold methods (_arenacold) and, until an arena has partitions, their
# viper get/put (_corepart); where the C core runs, the viper core (_coreviper,
# _corepart) never loads.  A plain arena's malloc/free/calloc/
# get/put never load them, so they work under heap_lock() from the start; the
# first stats()/view() loads them.  Checked on MicroPython, where each device
# module runs in its own interpreter (pytest's CPython process shares modules).
import sys

try:
    import micropython
except ImportError:                       # CPython: the shim's heap_lock does nothing
    from umalloc._shim import micropython
import umalloc
from umalloc import Arena
from _check import on_micropython


def _loaded(name):
    return ("umalloc." + name) in sys.modules


def _c_core():
    return umalloc._core.CCORE is not None


def test_1_hot_paths_need_no_cold_module():
    a = Arena(4096, partitions=((32, 4),))
    part = a.partitions[0]
    micropython.heap_lock()
    try:
        for _ in range(50):
            p = a.malloc(100)
            q = part.get()
            r = a.calloc(3, 10)
            a.free(p)
            part.put(q)
            a.free(r)
    finally:
        micropython.heap_unlock()
    if on_micropython():
        assert not _loaded("_arenareport") and not _loaded("_arenacold") and not _loaded("_corecold")
    assert a.stats()["live_blocks"] == 0         # the first cold call loads what it needs
    assert len(a.map(32)) == 32
    if on_micropython():
        # a report's stats() and map(): their own module, reading the arena through C.ld
        assert _loaded("_arenareport")
        assert not _loaded("_arenacold") and not _loaded("_corecold") and not _loaded("audit")
    p = a.malloc(50)                             # a heap block: view() is its asked length
    assert len(a.view(p)) == 50 and a.size_of(p) >= 50
    assert _loaded("_arenacold") and _loaded("_corecold")
    a.free(p)
    a.check()


def test_2_every_policy_and_mode_works_after_a_lazy_load():
    for policy in umalloc.POLICIES:
        a = Arena(8192, partitions=(), policy=policy)
        ps = [a.malloc(n) for n in (10, 300, 40, 900)]
        assert None not in ps
        q = a.realloc(ps[0], 200)
        for p in [q] + ps[1:]:
            a.free(p)
        a.check()
    for options in ({"debug": True}, {"trace": 8}):
        a = Arena(4096, **options)
        micropython.heap_lock()      # their wrappers were loaded when the arena was made
        try:
            p = a.malloc(30)
            a.free(p)
        finally:
            micropython.heap_unlock()
        a.check()


def test_0_special_name_probes_load_nothing():
    a = Arena(1024, partitions=())
    micropython.heap_lock()
    try:
        truth = bool(a)              # looks for __bool__ / __len__ first
    finally:
        micropython.heap_unlock()
    assert truth
    if on_micropython():
        assert not _loaded("_arenacold") and not _loaded("_corecold")
        # Arena's default has no partitions: their get/put native code is not loaded either
        assert not _loaded("_corepart")
        # the C core's malloc/free leave the viper ones out of RAM
        assert _loaded("_coreviper") != _c_core()
        # Arena()'s construction code is released when it came from a .mpy (a board's /lib)
        assert _loaded("_arenabuild") != umalloc.__file__.endswith(".mpy")
        assert ("_arenabuild" in umalloc.__dict__) == _loaded("_arenabuild")


def test_0b_partition_code_loads_with_the_first_partition():
    if on_micropython():          # after test_0 (sorted): umalloc imported, one all-heap arena made
        assert not _loaded("_corepart")
    a = Arena(1024, partitions=((16, 4),))
    assert _loaded("_corepart") != _c_core()       # the C core has its own get/put
    part = a.partitions[0]
    part.put(part.get())
    assert part.query()["nfree"] == 4       # (no check(): test_1 wants the cold core unloaded)


def test_3_cold_names_unknown_anywhere_still_raise():
    a = Arena(1024, partitions=())
    try:
        a.no_such_method
    except AttributeError:
        pass
    else:
        raise AssertionError("a missing attribute did not raise AttributeError")
