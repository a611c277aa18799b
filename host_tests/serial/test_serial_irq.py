"""A hard interrupt handler and the main program share one partition (and one heap).

On a board the core masks interrupts around every get/put/malloc/free update, so
a hard machine.Timer callback may allocate from the arena the main loop uses.
Here the handler takes three blocks on one tick and gives them back on the
next, so its gets and puts land inside the main loop's own; both sides fill
their blocks with their own byte and check it before giving a block back (a
block handed to both would show the other's byte), and the arena's check()
runs at the end.  The same race on an Arena(irq=False) must be caught: that is
the proof that this check sees a lost update when there is one.

Runs on the QEMU board (`pytest -m board --qemu IMAGE host_tests`) or a real
board (--port); the unix-port virtual board has no interrupts to race with.
"""

import pytest

RACE = '''
import machine, umalloc
from array import array

def _tick(t):                 # hard IRQ: allocates nothing (module globals, no closure)
    try:
        if held[0] == 0:
            for k in range(3):
                p = take()
                if p is None:
                    break
                held[k] = p
                st[0] += 1
                for j in range(p, p + SIZE):
                    buf[j] = 0xEE
        else:
            for k in range(3):
                p = held[k]
                if p:
                    for j in range(p, p + SIZE):
                        if buf[j] != 0xEE:
                            st[2] += 1
                    held[k] = 0
                    give(p)
                    st[1] += 1
    except Exception:
        st[2] += 1

def race(irq, heap, cycles, rounds):
    """(damage seen, handler gets, handler puts) once the handler gave back `cycles` blocks."""
    global take, give, buf, held, st, SIZE
    a = umalloc.Arena(4096, partitions=((32, 8),), irq=irq)
    part = a.partitions[0]
    SIZE = 32
    if heap:
        take, give = (lambda: a.malloc(SIZE)), a.free
    else:
        take, give = part.get, part.put
    buf = a._buf
    held = array("i", [0, 0, 0])
    st = array("i", [0, 0, 0])
    bad = 0
    tim = machine.Timer(period=1, callback=_tick, hard=True)
    try:
        r = 0
        while st[1] < cycles and r < rounds and not (bad or st[2]):
            fill = bytes([r & 0x7F]) * SIZE
            ps = [take(), take(), take()]
            for p in ps:
                if p is not None:
                    buf[p:p + SIZE] = fill
            for p in ps:
                if p is not None:
                    if buf[p:p + SIZE] != fill:
                        bad += 1
                    give(p)
            r += 1
    except Exception as e:        # a refused put/free or a damaged list: MemError
        bad += 1
    finally:
        tim.deinit()
    for p in held:
        if p:
            try:
                give(p)
            except Exception:
                bad += 1
    try:
        a.check()
    except Exception:
        bad += 1
    return bad + st[2], st[0], st[1]
'''


@pytest.fixture
def irq_board(umalloc_board):
    b = umalloc_board
    b.exec("try:\n import machine\n ok = hasattr(machine, 'Timer') and hasattr(machine, 'disable_irq')\n"
           "except ImportError:\n ok = False")
    if not b.eval("ok"):
        pytest.skip("this board has no machine.Timer / disable_irq (the unix-port virtual board): "
                    "run with --qemu IMAGE or --port of a real board")
    b.exec(RACE)
    return b


@pytest.mark.parametrize("heap", [False, True], ids=["partition", "heap"])
def test_hard_timer_irq_shares_the_arena_with_the_main_loop(irq_board, heap):
    damage, gets, puts = irq_board.eval("race(True, %r, 300, 200000)" % heap, timeout=120)
    assert puts >= 300 and gets >= puts, (gets, puts)      # the handler really ran, often
    assert damage == 0


@pytest.mark.parametrize("heap", [False, True], ids=["partition", "heap"])
def test_the_same_race_without_masking_is_caught(irq_board, heap):
    # Arena(irq=False): no masking, so a get/put inside the main loop's loses an update
    damage, gets, puts = irq_board.eval("race(False, %r, 20000, 400000)" % heap, timeout=300)
    assert damage > 0, (gets, puts)
