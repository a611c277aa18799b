"""umalloc's device API driven over serial (the virtual board, or --port)."""

import pytest

from umalloc_host.board import DeviceError


def test_partition_get_put_over_serial(umalloc_board):
    b = umalloc_board
    b.exec("a = umalloc.Arena(4096, partitions=((16, 8), (64, 4)))\npart = a.partitions[0]")
    ptrs = b.eval("[part.get() for _ in range(9)]")
    assert ptrs[-1] is None                      # 8 blocks, the 9th get fails
    assert len(set(ptrs[:8])) == 8 and all(p > 0 for p in ptrs[:8])
    q = b.eval("part.query()")
    assert (q["block_size"], q["nblks"], q["nfree"], q["nused"], q["fail"]) == (16, 8, 0, 8, 1)
    b.exec("for p in %r: part.put(p)" % (ptrs[:8],))
    assert b.eval("part.query()['nfree']") == 8
    b.exec("a.check()")
