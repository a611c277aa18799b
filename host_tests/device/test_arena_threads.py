# Arena(lock=...) shares one arena between threads.  The unix port runs
# threads in parallel (no GIL), so without the lock these rounds would race.
import time

import _thread
from umalloc import Arena

THREADS = 3
ROUNDS = 1500
# The viper core's run loads its native code (on the 64-bit unix port far larger than on a
# board) before the 16 KB arena: in 192k the unix port's conservative GC sometimes found no
# 16 KB hole for its buffer (a GC MemoryError in Arena(), about one run in six)
MICROPYTHON_HEAP = "256k"


def _worker(a, part, seed, done, errors):
    try:
        x = seed
        for _ in range(ROUNDS):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            p = a.malloc(8 + (x & 255))
            q = part.get()
            if p is None or q is None:
                errors.append("out of memory")
                break
            a.view(p)[0] = seed
            part.put(q)
            if a.view(p)[0] != seed:
                errors.append("block shared with another thread")
            a.free(p)
    except Exception as exc:        # report it to the main thread
        errors.append(repr(exc))
    done.append(seed)


def test_threads_share_an_arena_through_its_lock():
    a = Arena(16384, partitions=((32, 16),), lock=_thread.allocate_lock())
    part = a.partitions[0]
    done, errors = [], []
    for seed in range(1, THREADS + 1):
        _thread.start_new_thread(_worker, (a, part, seed, done, errors))
    deadline = time.time() + 60
    while len(done) < THREADS and time.time() < deadline:
        time.sleep(0.01)
    assert len(done) == THREADS, "threads did not finish"
    assert errors == []
    a.check()
    st = a.stats()
    assert st["live_blocks"] == 0 and st["partitions"][0]["nfree"] == 16


def test_check_and_stats_under_the_lock_while_workers_run():
    # before lock= covered them, check() saw half-done updates (false corruption)
    # and stats() could report largest_free > free
    a = Arena(16384, partitions=((32, 16),), lock=_thread.allocate_lock())
    part = a.partitions[0]
    done, errors = [], []
    for seed in range(1, THREADS):
        _thread.start_new_thread(_worker, (a, part, seed, done, errors))
    deadline = time.time() + 60
    rounds = 0
    while len(done) < THREADS - 1 and time.time() < deadline:
        a.check()
        st = a.stats()
        assert st["largest_free"] <= st["free"], st
        a.map()
        rounds += 1
    assert len(done) == THREADS - 1 and errors == [] and rounds > 0
