"""A sample trace replayed on the board gives the same figures as on CPython.

Both sides run the same code: lib/umalloc's tracefmt.replay over one Arena.
The trace file goes to the board's filesystem and is read there line by line.
"""

import math
from pathlib import Path

import pytest

import umalloc
from umalloc import tracefmt
from umalloc_host.traces import SAMPLES_DIR

TRACES = SAMPLES_DIR
LAYOUT = dict(partitions=((16, 64), (64, 32)), policy="first")
ARENA_SIZE = 24 * 1024     # small enough that the bigger traces hit failures too


# The package ships these four samples: a missing one is a packaging bug, so it fails.
SAMPLES = ("churn.trace", "hole.trace", "netbuf.trace", "zebra.trace")


def _host_figures(path, policy):
    arena = umalloc.Arena(ARENA_SIZE, partitions=LAYOUT["partitions"], policy=policy)
    with open(path) as f:
        counts = tracefmt.replay(arena, f)
    arena.check()
    return counts, arena.stats()


def _device_figures(b, path, policy):
    b.fs_put(path, "trace.txt")
    b.exec("from umalloc import tracefmt\n"
           "a = umalloc.Arena(%d, partitions=%r, policy=%r)\n"
           "with open('trace.txt') as f:\n counts = tracefmt.replay(a, f)\n"
           "a.check()" % (ARENA_SIZE, LAYOUT["partitions"], policy), timeout=60)
    return b.eval("counts"), b.eval("a.stats()")


def _assert_same(device, host):
    # frag is a float: single precision on many boards, so compare it loosely.
    assert math.isclose(device.pop("frag"), host.pop("frag"), abs_tol=1e-5)
    assert device == host


@pytest.mark.parametrize("name", SAMPLES)
def test_trace_figures_identical_on_board_and_cpython(umalloc_board, name):
    path = TRACES / name
    dev_counts, dev_stats = _device_figures(umalloc_board, path, "first")
    host_counts, host_stats = _host_figures(path, "first")
    assert dev_counts == host_counts and dev_counts["events"] > 0
    _assert_same(dev_stats, host_stats)


def test_trace_figures_identical_with_best_fit(umalloc_board):
    path = TRACES / "churn.trace"
    dev_counts, dev_stats = _device_figures(umalloc_board, path, "best")
    host_counts, host_stats = _host_figures(path, "best")
    assert dev_counts == host_counts
    assert dev_stats["policy"] == "best"
    _assert_same(dev_stats, host_stats)
