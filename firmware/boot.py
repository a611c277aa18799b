# umalloc boot: reserve the arena first, while the GC heap is still one piece.
# `umalloc deploy --app` installs this file as :boot.py; the arena size and
# layout come from :lib/umalloc_board.py, written from boards/<board>.json.
import gc

gc.collect()
try:
    import umalloc_board as _cfg
except ImportError:
    _cfg = None
# The arena's bytes before `import umalloc`: deployed as .py source (--source),
# umalloc is compiled right here, and that leaves the heap in pieces too small
# for a 64 KB block.
try:
    _buf = bytearray((_cfg.ARENA_SIZE if _cfg is not None else 16 * 1024) & ~3)
except MemoryError:
    _buf = None
try:
    import umalloc
    if _buf is None:
        print("umalloc boot: no room for the arena; lower arena_size in boards/<board>.json, "
              "deploy again, reset")
    elif _cfg is None:
        print("umalloc boot: no umalloc_board.py; using a 16 KB arena (run `umalloc deploy`)")
        umalloc.init(buf=_buf)
    else:
        umalloc.init(buf=_buf, partitions=_cfg.PARTITIONS, policy=_cfg.POLICY,
                     **getattr(_cfg, "OPTIONS", {}))   # small_threshold, align from an advised layout
except ImportError:
    print("umalloc boot: umalloc is not installed; run `umalloc deploy --port PORT --board BOARD`")
except MemoryError:
    print("umalloc boot: no room for the arena; lower arena_size in boards/<board>.json, "
          "deploy again, reset")
del gc, _cfg, _buf
