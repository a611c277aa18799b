"""Send report frames (see frame.py) over a serial stream, once or periodically.

    umalloc.report()                         # one frame of the default arena to sys.stdout
    r = umalloc.Reporter(arena, period_ms=500, stream=machine.UART(0, 115200))
    r.start()  ...  r.stop()

How Reporter.start() keeps time, by what the firmware has:
  * machine.Timer (RP2040, ESP32): the timer callback only calls
    micropython.schedule(), so the frame is encoded outside the interrupt, where
    allocating is allowed (encoding needs stats() and map(), which allocate).
  * no machine.Timer (the unix port, CPython): a _thread that sends a frame every
    period_ms.
  * neither (minimal ports): start() sends one frame and leaves the reporter in
    mode "poll": call poll() from your main loop (it sends when period_ms has
    passed), or await run_async() in your asyncio loop.  It does not raise: a
    boot script that starts a Reporter must not die on such a board.
Frames are never sent from inside a hard IRQ and never under heap_lock.
"""

import sys
import time

from . import frame

try:
    from micropython import schedule as _schedule   # looked up now: nothing to import in the IRQ
except ImportError:
    _schedule = None


def _default_arena():
    from . import default_arena
    a = default_arena()
    if a is None:
        raise RuntimeError("no default arena: call umalloc.init(size) first or pass arena=")
    return a


def _write(stream, line):
    # one write of the whole line: a print() from another thread cannot land mid-frame
    stream.write(line)


def report(stream=None, arena=None, width=frame.MAP_WIDTH):
    """Write one frame line of `arena` (default: umalloc's default arena) to `stream`.

    stream: anything with .write(str), e.g. machine.UART; default sys.stdout.
    Returns None, so that calling it at the REPL does not echo the frame a second
    time as a quoted string.  Not for IRQ handlers or heap_lock (it allocates).
    """
    line = frame.encode(arena if arena is not None else _default_arena(), width=width, end="\n")
    _write(stream if stream is not None else sys.stdout, line)


def _sleep_ms(ms):
    try:
        time.sleep_ms(ms)
    except AttributeError:
        time.sleep(ms / 1000)


def _ticks():
    try:
        return time.ticks_ms()
    except AttributeError:
        return int(time.monotonic() * 1000) & frame.TICKS_MASK


def _ticks_diff(a, b):
    try:
        return time.ticks_diff(a, b)
    except AttributeError:
        return ((a - b + (frame.TICKS_MASK + 1) // 2) & frame.TICKS_MASK) - (frame.TICKS_MASK + 1) // 2


class Reporter:
    """Frames of `arena` every `period_ms`, plus on demand with send().

    timer_id: the machine.Timer to use (default -1, a virtual timer; 0 on ESP32).
    """

    def __init__(self, arena=None, period_ms=1000, stream=None, width=frame.MAP_WIDTH,
                 timer_id=None):
        if not isinstance(period_ms, int) or period_ms < 10:
            raise ValueError("period_ms must be an int >= 10")
        self.arena = arena if arena is not None else _default_arena()
        self.period_ms = period_ms
        self.stream = stream
        self.width = width
        # ESP32 has hardware timers only (0..3); rp2 and most others take -1 (virtual)
        self.timer_id = timer_id if timer_id is not None else (0 if sys.platform == "esp32" else -1)
        self.sent = 0
        self.errors = 0
        self.running = False
        self.mode = None          # "timer", "thread" or "async" while running
        self._timer = None
        self._last = None
        # Bound once here: creating a bound method inside the timer IRQ would allocate.
        self._tick_cb = self._tick
        self._send_cb = self._scheduled

    def send(self):
        """Send one frame now (returns None: no second, quoted copy at the REPL)."""
        line = frame.encode(self.arena, width=self.width, end="\n")
        _write(self.stream if self.stream is not None else sys.stdout, line)
        self.sent += 1
        self._last = _ticks()

    def poll(self):
        """Send a frame if period_ms has passed since the last one (for a main loop)."""
        if self._last is None or _ticks_diff(_ticks(), self._last) >= self.period_ms:
            self.send()
            return True
        return False

    def start(self):
        """Start periodic frames (machine.Timer, else a thread, else "poll" mode); returns self.

        After start(), `mode` says how: "timer", "thread", or "poll" when the
        firmware has neither and frames go out only from your poll() calls.
        """
        if self.running:
            return self
        self.running = True
        try:
            from machine import Timer
        except (ImportError, AttributeError):
            Timer = None
        if Timer is not None and _schedule is not None:
            self._timer = Timer(self.timer_id)
            self._timer.init(period=self.period_ms, mode=Timer.PERIODIC, callback=self._tick_cb)
            self.mode = "timer"
            return self
        try:
            import _thread
        except ImportError:
            self.mode = "poll"
            self._safe_send()
            return self
        self.mode = "thread"
        _thread.start_new_thread(self._thread_loop, ())
        return self

    def stop(self):
        """Stop periodic frames (any mode); frames already scheduled may still go out once."""
        self.running = False
        if self._timer is not None:
            self._timer.deinit()
            self._timer = None
        self.mode = None

    def _tick(self, _timer):
        # Timer interrupt: no allocation here, only hand the work to the scheduler.
        try:
            _schedule(self._send_cb, None)
        except RuntimeError:      # schedule queue full: skip this tick, the next one will do
            self.errors += 1

    def _scheduled(self, _arg):
        if self.running:
            self._safe_send()

    def _safe_send(self):
        try:
            self.send()
        except Exception as exc:  # a broken stream must not kill the timer or thread
            self.errors += 1
            if self.errors == 1:
                print("umalloc.Reporter: send failed:", repr(exc))

    def _thread_loop(self):
        while self.running:
            self._safe_send()
            waited = 0
            while self.running and waited < self.period_ms:
                step = min(50, self.period_ms - waited)
                _sleep_ms(step)
                waited += step

    async def run_async(self):
        """Coroutine: send a frame every period_ms until stop()."""
        try:
            import asyncio
        except ImportError:
            import uasyncio as asyncio
        self.running = True
        self.mode = "async"
        while self.running:
            self._safe_send()
            await asyncio.sleep(self.period_ms / 1000)
