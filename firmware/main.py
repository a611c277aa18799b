# umalloc demo app: report the arena's figures over the serial line.
# Stop it with Ctrl-C; the REPL keeps the arena (umalloc.stats(), umalloc.map()).
import umalloc

try:
    import umalloc_board as _cfg
    _period = _cfg.REPORT_MS
except (ImportError, AttributeError):
    _period = 1000

_arena = umalloc.default_arena()
if _arena is None:
    print("umalloc main: no arena (boot.py did not run?); `umalloc deploy --app` installs it")
else:
    # Periodic frames from a timer: the REPL stays usable meanwhile.
    reporter = umalloc.Reporter(_arena, period_ms=_period)
    reporter.start()
    if reporter.mode == "poll":    # firmware with neither machine.Timer nor _thread
        print("umalloc: no timer on this firmware; call reporter.poll() in your loop "
              "to report every %d ms" % _period)
    else:
        print("umalloc: reporting every %d ms; reporter.stop() ends it" % _period)
