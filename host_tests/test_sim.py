"""`umalloc sim` and the min-arena search, checked against umalloc.Arena directly."""

import json

import umalloc
from umalloc_host import simulate, traces
from umalloc_host.cli import main
from umalloc_host.refalloc import FirstFit8

SMALL = traces.generate(seed=3, events=400, max_live=30)


def _write(tmp_path, trace, name="small.trace"):
    path = tmp_path / name
    path.write_text("# generated\n" + trace.text())
    return path


def _table(out):
    """Rows of the printed table as dicts keyed by its header."""
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("trace "))
    keys = lines[head].split()
    rows = []
    for ln in lines[head + 2:]:
        if not ln.strip():
            break
        rows.append(dict(zip(keys, ln.split())))
    return rows


def test_sim_matches_a_direct_replay(tmp_path, capsys):
    path = _write(tmp_path, SMALL)
    arena = int(SMALL.peak_live * 1.1)
    assert main(["sim", str(path), "--arena", str(arena), "--policy", "all"]) == 0
    rows = {r["allocator"]: r for r in _table(capsys.readouterr().out)}
    assert set(rows) == {"umalloc/good", "umalloc/first", "umalloc/best", "umalloc/twoended", "firstfit8", "buddy"}
    for policy in umalloc.POLICIES:
        a = umalloc.Arena(arena, partitions=umalloc.arena.DEFAULT_PARTITIONS, policy=policy)
        live, failed = {}, 0
        for op, ident, n in SMALL.events:          # the replay written out by hand
            if op == "a":
                p = a.malloc(n)
            elif op == "f":
                p = live.pop(ident, None)
                if p is not None:
                    a.free(p)
                continue
            else:
                p = a.realloc(live[ident], n) if ident in live else a.malloc(n)
            if p is None:
                failed += 1
            else:
                live[ident] = p
        a.check()
        st = a.stats()
        row = rows["umalloc/" + policy]
        assert int(row["failed"]) == failed
        assert int(row["fail_frag"]) == st["fail_fragmented"]
        assert int(row["min_ever_free"]) == st["min_ever_free"]
        assert int(row["end_largest"]) == st["largest_free"]
        assert int(row["arena"]) == arena
    assert int(rows["buddy"]["failed"]) > 0        # 1.1x peak is too tight for power-of-two blocks


def test_min_arena_is_the_smallest_that_replays_cleanly():
    make = simulate.umalloc_factory(simulate.Layout((), "first"))
    m = simulate.min_arena(make, SMALL)
    assert m >= SMALL.peak_live
    assert simulate.fits(make, m, SMALL)
    assert not simulate.fits(make, m - 8, SMALL)
    f = simulate.min_arena(FirstFit8, SMALL)
    assert simulate.fits(FirstFit8, f, SMALL) and not simulate.fits(FirstFit8, f - 8, SMALL)


def test_sim_min_arena_layout_and_png(tmp_path, capsys):
    path = _write(tmp_path, SMALL)
    layout = tmp_path / "layout.json"
    layout.write_text(json.dumps({"arena_size": 8192, "partitions": [[8, 10], [24, 10]], "policy": "best"}))
    png = tmp_path / "cmp.png"
    assert main(["sim", str(path), "--layout", str(layout), "--min-arena", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    rows = {r["allocator"]: r for r in _table(out)}
    assert set(rows) == {"umalloc/best", "firstfit8", "buddy"}
    make = simulate.umalloc_factory(simulate.load_layout(layout))
    assert int(rows["umalloc/best"]["min_arena"]) == simulate.min_arena(make, SMALL)
    assert rows["buddy"]["min/peak"].endswith("x") and float(rows["buddy"]["min/peak"][:-1]) >= 1.0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sim_board_layout(capsys, tmp_path):
    path = _write(tmp_path, SMALL)
    assert main(["sim", str(path), "--board", "pico"]) == 0
    out = capsys.readouterr().out
    assert "16x128 32x64 64x32 256x16" in out          # block size x count
    assert all(int(r["arena"]) == 65536 and r["failed"] == "0" for r in _table(out))


def test_sim_user_errors(tmp_path, capsys):
    bad = tmp_path / "bad.trace"
    bad.write_text("a 0 10\nf 1\n")
    assert main(["sim", str(bad)]) == 2
    assert "bad.trace:2:" in capsys.readouterr().err
    layout = tmp_path / "l.json"
    layout.write_text('{"partitions": [[6, 4]]}')     # under 7 bytes and not a multiple of 4
    assert main(["sim", str(_write(tmp_path, SMALL)), "--layout", str(layout)]) == 2
    assert "bad partitions" in capsys.readouterr().err
    assert main(["sim", str(_write(tmp_path, SMALL)), "--arena", "64"]) == 2
    assert "give a larger --arena" in capsys.readouterr().err


def test_sim_min_arena_prints_the_band(tmp_path, capsys):
    trace = traces.generate(seed=9, events=600, max_live=40, sizes=(6, 20, 40, 90, 300))
    path = _write(tmp_path, trace)
    assert main(["sim", str(path), "--min-arena", "--policy", "all"]) == 0
    rows = {r["allocator"]: r for r in _table(capsys.readouterr().out)}
    for label, row in rows.items():
        smallest, safe = int(row["min_arena"]), int(row["safe_from"])
        assert trace.peak_live <= smallest <= safe, label
    for policy in ("good", "first"):         # placements that do not depend on the heap's size
        row = rows["umalloc/" + policy]
        assert row["band"] == "proven"
        make = simulate.umalloc_factory(simulate.Layout(umalloc.arena.DEFAULT_PARTITIONS, policy))
        assert int(row["min_arena"]) == simulate.min_arena(make, trace)      # the same bisection rule
        for size in range(int(row["safe_from"]), int(row["safe_from"]) + 160, 4):
            assert simulate.fits(make, size, trace), size
    assert rows["buddy"]["band"].startswith("sampled..")


def test_sim_min_arena_names_a_request_no_arena_holds(tmp_path, capsys):
    path = tmp_path / "huge.trace"
    path.write_text("a 0 10\na 1 20000000\nf 0\n")
    assert main(["sim", str(path), "--min-arena"]) == 2
    assert "event 2 asks for 20000000 bytes" in capsys.readouterr().err
    assert main(["sim", str(path), "--arena", "4096"]) == 0          # a plain replay counts it failed
    assert _table(capsys.readouterr().out)[0]["failed"] == "1"


def test_a_trace_beyond_the_arena_limit_is_not_told_to_grow_the_arena(tmp_path, capsys):
    # it said "26001024 bytes cannot hold the umalloc layout ...; give a larger --arena"
    path = tmp_path / "big.trace"
    path.write_text("a 0 10\na 1 20000000\nf 0\n")
    assert main(["sim", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "above umalloc's limit of 16777215" in err, err
    assert "larger" not in err and "give --arena N" in err


def test_layout_json_of_the_wrong_shape_is_one_line(tmp_path, capsys):
    # each of these was accepted and quietly converted or ignored, or raised a traceback
    for text, words in (('{"arena_size": true}', "arena_size must be a positive whole number"),
                        ('{"arena_size": 99999999}', "above umalloc's limit"),
                        ('{"partitions": [["16", "4"]]}', "pairs of whole numbers"),
                        ('{"partitions": [[16.5, 4]]}', "pairs of whole numbers"),
                        ('{"align": 4.0}', "align must be 4 or 8"),
                        ('{"partiton": [[16, 4]]}', "unknown key 'partiton'")):
        layout = tmp_path / "l.json"
        layout.write_text(text)
        assert main(["sim", "zebra", "--layout", str(layout)]) == 2, text
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, (text, err)
