# Report frames: encode/decode round trip, rejection of damage, report() and Reporter.
# Runs on CPython and on the MicroPython unix port (no pytest here).
import io
import time

import umalloc
from umalloc import frame
from umalloc.frame import FrameError, decode, encode
from _check import raises

MICROPYTHON_HEAP = "512k"

PICO = (65536, ((16, 128), (32, 64), (64, 32), (256, 16)))      # boards/pico.json
ESP32 = (32768, ((16, 64), (64, 32), (256, 8)))                 # boards/esp32.json


def _arena(layout, policy="first"):
    return umalloc.Arena(layout[0], partitions=layout[1], policy=policy)


def _churn(a, steps, seed=7):
    # a tiny LCG so both VMs make the same requests without `random`
    x, live = seed, []
    sizes = (8, 16, 30, 64, 100, 256, 700, 1500, 4000)
    for _ in range(steps):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        if live and x % 5 < 2:
            a.free(live.pop(x % len(live)))
        else:
            p = a.malloc(sizes[x % len(sizes)])
            if p is not None:
                live.append(p)
    return live


def _same_figures(d, st, cells):
    for k in ("arena_size", "heap_size", "free", "used", "largest_free", "free_fragments",
              "min_ever_free", "fail", "fail_fragmented", "live_blocks"):
        assert d[k] == st[k], (k, d[k], st[k])
    assert abs(d["frag"] - st["frag"]) < 1e-12, (d["frag"], st["frag"])
    assert d["partitions"] == st["partitions"], (d["partitions"], st["partitions"])
    assert d["map"] == cells, (d["map"], cells)


def test_round_trip_through_a_fragmenting_run():
    a = _arena(PICO)
    for step in range(12):
        _churn(a, 40, seed=step + 1)
        line = encode(a, seq=step, ms=1000 * step)
        d = decode(line)
        assert d["seq"] == step and d["ms"] == 1000 * step
        _same_figures(d, a.stats(), a.map(frame.MAP_WIDTH))
        assert d["bytes"] == len(line)


def test_round_trip_every_policy_and_width():
    for policy in ("first", "best", "twoended"):
        a = _arena(ESP32, policy)
        _churn(a, 150)
        for width in (64, 100, 128):
            d = decode(encode(a, width=width))
            assert len(d["map"]) == width
            _same_figures(d, a.stats(), a.map(width))


def test_frame_fits_the_budget_for_default_layouts():
    for layout in (PICO, ESP32):
        a = _arena(layout)
        worst = 0
        for step in range(10):
            _churn(a, 50, seed=step + 3)
            worst = max(worst, len(encode(a)))
        # ceiling: huge counters and a map with no two neighbouring cells alike
        st = a.stats()
        st["fail"] = st["fail_fragmented"] = 999999
        for q in st["partitions"]:
            q["fail"] = 999999
        ceiling = frame.encode_figures(st, ("U." * 32), seq=frame.TICKS_MASK,
                                       ms=frame.TICKS_MASK)
        assert worst <= frame.BUDGET and len(ceiling) <= frame.BUDGET, (worst, len(ceiling))
        assert decode(ceiling)["fail"] == 999999


def test_encoding_leaves_the_arena_untouched():
    a = _arena(PICO)
    live = _churn(a, 200)
    before = bytes(a._buf)
    stats = a.stats()
    for _ in range(5):
        encode(a)
    assert bytes(a._buf) == before
    assert a.stats() == stats
    a.check()
    for p in live:
        a.free(p)
    a.check()


def test_sequence_numbers_advance():
    a = _arena(ESP32)
    s1 = decode(encode(a))["seq"]
    s2 = decode(encode(a))["seq"]
    assert s2 == (s1 + 1) & frame.TICKS_MASK


def test_non_frames_are_none():
    for line in ("", "hello", ">>> ", "MPY: soft reboot", "@UMBRELLA 3", "UM1 1,2",
                 "Traceback (most recent call last):", b"\xff\xfe", None, 12):
        assert decode(line) is None, line


def test_damaged_frames_raise_frame_error():
    a = _arena(PICO)
    _churn(a, 120)
    good = encode(a)
    bad = [good[:-1], good[:len(good) // 2], good + "0", good.replace(";", ",", 1),
           good[:10] + "9" + good[11:] if good[10] != "9" else good[:10] + "8" + good[11:],
           good[:-8] + good[-8:].upper() if good[-8:] != good[-8:].upper() else good[:-1] + "g",
           "@UM2 " + good[5:], good[:40] + good, "@UM1 ", "@UM1 *00000000",
           good[:20] + "\x00" + good[21:]]
    for line in bad:
        if line == good:
            continue
        raises(FrameError, decode, line)


def test_frame_after_text_on_the_same_line():
    a = _arena(ESP32)
    line = encode(a, seq=5)
    assert decode("progress 40%" + line + "\r\n")["seq"] == 5
    assert decode(line.encode())["seq"] == 5


def test_report_writes_one_line_to_a_stream():
    a = _arena(ESP32)
    _churn(a, 60)
    out = io.StringIO()
    assert umalloc.report(out, arena=a) is None     # nothing for the REPL to echo
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and text.startswith(frame.PREFIX)
    _same_figures(decode(text), a.stats(), a.map(64))


def test_report_uses_the_default_arena():
    a = umalloc.init(16384, partitions=((32, 16),))
    a.malloc(100)
    out = io.StringIO()
    umalloc.report(out)
    assert decode(out.getvalue())["used"] == a.stats()["used"]


def test_reporter_send_and_poll():
    a = _arena(ESP32)
    out = io.StringIO()
    r = umalloc.Reporter(a, period_ms=10000, stream=out)
    r.send()
    assert r.poll() is False          # the period has not passed since send()
    assert r.sent == 1
    r2 = umalloc.Reporter(a, period_ms=10, stream=out)
    assert r2.poll() is True          # never sent: poll sends at once
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(decode(ln) for ln in lines)
    raises(ValueError, umalloc.Reporter, a, 0)


def _sleep_ms(ms):
    if hasattr(time, "sleep_ms"):
        time.sleep_ms(ms)
    else:
        time.sleep(ms / 1000)


def test_reporter_start_stop_periodic():
    a = _arena(ESP32)
    out = io.StringIO()
    r = umalloc.Reporter(a, period_ms=20, stream=out).start()
    assert r.mode in ("timer", "thread"), r.mode
    _sleep_ms(200)
    r.stop()
    _sleep_ms(80)                     # a frame already under way may still finish
    sent = r.sent
    _sleep_ms(120)
    assert r.sent == sent, "frames after stop()"
    assert 3 <= sent <= 15, sent
    frames = [decode(ln) for ln in out.getvalue().splitlines()]
    assert len(frames) == sent and all(f is not None for f in frames)
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(seqs)


def test_reporter_run_async():
    try:
        import asyncio
    except ImportError:
        import uasyncio as asyncio
    a = _arena(ESP32)
    out = io.StringIO()
    r = umalloc.Reporter(a, period_ms=20, stream=out)

    async def main():
        task = asyncio.create_task(r.run_async())
        await asyncio.sleep(0.15)
        r.stop()
        await asyncio.sleep(0.05)
        return task

    asyncio.run(main())
    assert 3 <= r.sent <= 12, r.sent
    assert all(decode(ln) for ln in out.getvalue().splitlines())


def test_encode_can_end_the_line_itself():
    a = _arena(ESP32)
    line = encode(a, seq=3, ms=4, end="\n")
    assert line[-10] == "*" and line.endswith("\n") and line.count("\n") == 1
    assert line[:-1] == encode(a, seq=3, ms=4)
    assert decode(line)["seq"] == 3


def test_reporter_timer_mode_sends_outside_the_interrupt():
    import sys
    import umalloc.reporter           # loaded lazily by umalloc.Reporter(): maybe not yet
    mod = sys.modules["umalloc.reporter"]
    queued = []

    class FakeTimer:
        PERIODIC = 1
        made = []

        def __init__(self, tid):
            self.tid, self.cb, self.period = tid, None, None
            FakeTimer.made.append(self)

        def init(self, period, mode, callback):
            self.period, self.cb = period, callback

        def deinit(self):
            self.cb = None

    class FakeMachine:
        Timer = FakeTimer

    saved_machine = sys.modules.get("machine")
    saved_schedule = mod._schedule
    sys.modules["machine"] = FakeMachine
    mod._schedule = lambda fn, arg: queued.append((fn, arg))
    try:
        a = _arena(ESP32)
        out = io.StringIO()
        r = umalloc.Reporter(a, period_ms=100, stream=out, timer_id=2).start()
        t = FakeTimer.made[-1]
        assert r.mode == "timer" and t.tid == 2 and t.period == 100
        t.cb(t)
        t.cb(t)                               # two timer interrupts
        assert out.getvalue() == "" and len(queued) == 2   # nothing encoded in the IRQ
        for fn, arg in queued:
            fn(arg)                           # the scheduler runs them later
        assert r.sent == 2 and len(out.getvalue().splitlines()) == 2
        r.stop()
        assert t.cb is None and r.mode is None
        queued[0][0](None)                    # a send still queued at stop() is dropped
        assert r.sent == 2
    finally:
        mod._schedule = saved_schedule
        if saved_machine is None:
            sys.modules.pop("machine", None)
        else:
            sys.modules["machine"] = saved_machine
