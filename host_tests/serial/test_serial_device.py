"""What only a device shows: heap_lock, soft reset in the middle, a hung program."""

import time

from umalloc_host.board import BoardTimeout, DeviceError
from umalloc_host.pytest_plugin import reset_fresh

FREE_AFTER_GC = "(__import__('gc').collect(), __import__('gc').mem_free())[1]"


def test_malloc_and_free_work_under_heap_lock(umalloc_board):
    b = umalloc_board
    out = b.exec(
        "import micropython\n"
        "a = umalloc.Arena(4096, partitions=((16, 8), (64, 4)))\n"
        "part = a.partitions[1]\n"
        "p = q = r = locked = None   # globals bound first: a new name would grow the dict\n"
        "micropython.heap_lock()\n"
        "try:\n"
        "    p = a.malloc(10); q = a.malloc(300); r = part.get()\n"
        "    a.free(p); a.free(q); part.put(r)\n"
        "    try:\n"
        "        bytearray(64)\n"
        "        locked = False\n"
        "    except MemoryError:\n"
        "        locked = True\n"
        "finally:\n"
        "    micropython.heap_unlock()\n"
        "a.check()\n"
        "print(locked, p > 0, q > 0, r > 0)\n")
    # The lock was real (a bytearray failed) while the allocator kept working.
    assert out.split() == ["True", "True", "True", "True"]
    assert b.eval("a.stats()['live_blocks']") == 0


def test_soft_reset_in_the_middle_gives_back_the_heap(umalloc_board):
    b = umalloc_board
    before = b.eval(FREE_AFTER_GC)
    b.exec("a = umalloc.Arena(64 * 1024, partitions=((16, 64),))\np = a.malloc(1000)")
    during = b.eval(FREE_AFTER_GC)
    assert before - during >= 64 * 1024
    reset_fresh(b)              # a soft reset, without deploy --app's boot.py arena
    try:
        b.exec("a")
    except DeviceError as exc:
        assert "NameError" in exc.exception_line     # the old interpreter state is gone
    else:
        raise AssertionError("the arena survived a soft reset")
    b.exec("import umalloc")
    after = b.eval(FREE_AFTER_GC)
    assert abs(after - before) < 4096
    b.exec("a = umalloc.Arena(4096, partitions=())\nassert a.stats()['min_ever_free'] == a.stats()['free']")


def test_hung_program_times_out_and_board_recovers(umalloc_board):
    b = umalloc_board
    b.exec("keep = 42")
    started = time.monotonic()
    try:
        b.exec("while True:\n    pass", timeout=1.5)
    except BoardTimeout as exc:
        assert exc.seconds == 1.5
    else:
        raise AssertionError("an endless loop returned")
    assert time.monotonic() - started < 10
    # Interrupted and soft-reset: it answers again, with a fresh interpreter.
    assert b.eval("1 + 1") == 2
    assert b.exec("print('keep' in globals())").strip() == "False"


def test_board_answers_after_the_hung_test(umalloc_board):
    # Runs after the test above: the fixture's reset must have worked.
    assert umalloc_board.eval("umalloc.Arena(2048, partitions=()).malloc(8) > 0") is True


def test_chatty_program_still_times_out(umalloc_board):
    # mpremote's own timeout counts silence only; Board's counts the whole call.
    b = umalloc_board
    seen = []
    try:
        b.exec("import time\nwhile True:\n    print('tick')\n    time.sleep(0.05)",
               on_output=seen.append, timeout=1.5)
    except BoardTimeout as exc:
        assert "tick" in exc.output
    else:
        raise AssertionError("an endless printing loop returned")
    assert "tick" in "".join(seen)
    assert b.eval("2 * 21") == 42


def test_report_frames_read_back_over_serial(umalloc_board):
    b = umalloc_board
    code = ("a = umalloc.Arena(4096, partitions=((16, 8),))\n"
            "print('ordinary output between frames')\n"
            "for n in (100, 200, 300):\n"
            "    a.malloc(n)\n"
            "    umalloc.report(arena=a)\n")
    frames = list(b.frames(10, code=code))
    assert [f["live_blocks"] for f in frames] == [1, 2, 3]
    assert all(f["arena_size"] == 4096 and f["partitions"][0]["nblks"] == 8 for f in frames)
    assert frames[-1]["used"] >= 600 and frames[-1]["free"] < frames[0]["free"]
    # The arena is still there afterwards and agrees with the last frame.
    assert b.eval("a.stats()['free']") == frames[-1]["free"]
