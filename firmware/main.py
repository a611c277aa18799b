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
    try:
        from umalloc.reporter import Reporter
    except ImportError:
        Reporter = None
    if Reporter is not None:
        # Periodic frames from a timer: the REPL stays usable meanwhile.
        reporter = Reporter(_arena, period_ms=_period)
        reporter.start()
        print("umalloc: reporting every %d ms; reporter.stop() ends it" % _period)
    else:
        s = _arena.stats()
        print("umalloc: arena %d bytes, heap free %d, largest %d, frag %.3f"
              % (s["arena_size"], s["free"], s["largest_free"], s["frag"]))
        print(_arena.map(64))
