# umalloc boot: reserve the arena first, while the GC heap is still one piece.
# `umalloc deploy --app` installs this file as :boot.py; the arena size and
# layout come from :lib/umalloc_board.py, written from boards/<board>.json.
import gc
import os

gc.collect()
try:
    # One soft reset without the arena: a test session (umalloc's pytest plugin)
    # leaves this file to get a fresh heap; it is used up here.
    os.remove("/umalloc_skipboot")
    _skip = True
except OSError:
    _skip = False
_cfg = None
if not _skip:
    try:
        import umalloc_board as _cfg
    except ImportError:
        pass
# The arena's bytes before `import umalloc`: deployed as .py source (--source),
# umalloc is compiled right here, and that leaves the heap in pieces too small
# for a 64 KB block.
try:
    _buf = None if _skip else bytearray((_cfg.ARENA_SIZE if _cfg is not None else 16 * 1024) & ~3)
except MemoryError:
    _buf = None
try:
    if _skip:
        pass
    elif _buf is None:
        print("umalloc boot: no room for the arena; lower arena_size in boards/<board>.json, "
              "deploy again, reset")
    elif _cfg is None:
        import umalloc
        print("umalloc boot: no umalloc_board.py; using a 16 KB arena (run `umalloc deploy`)")
        umalloc.init(buf=_buf)
    else:
        import umalloc
        umalloc.init(buf=_buf, partitions=_cfg.PARTITIONS, policy=_cfg.POLICY,
                     **getattr(_cfg, "OPTIONS", {}))   # small_threshold, align from an advised layout
except ImportError:
    print("umalloc boot: umalloc is not installed; run `umalloc deploy --port PORT --board BOARD`")
except MemoryError:
    print("umalloc boot: no room for the arena; lower arena_size in boards/<board>.json, "
          "deploy again, reset")
del gc, os, _cfg, _buf, _skip
