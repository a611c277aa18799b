"""`umalloc bench`: its reduction and tables from device lines, and one tiny real run
on the unix port (structure, not speed: no timing is asserted)."""

import re

from umalloc_host import speedbench
from umalloc_host.cli import main
from umalloc_host.commands.bench import render


def test_bench_prints_every_section_on_the_unix_port(capsys):
    assert main(["bench", "--reps", "3", "--n", "200", "--worst", "2000"]) == 0
    out = capsys.readouterr().out
    for what in ("empty function call (floor)", "partition get+put pair", "heap malloc+free (64 B)",
                 "1000 free fragments", "import umalloc (.py source)", "first Arena(4096)",
                 "first malloc+free", "together: import, Arena(4096), malloc+free",
                 "first stats() and map(), what a report reads", "then first check(), realloc(), view()",
                 "worst case: longest single op over 2000 ops", "partition get+put (64 B blocks)"):
        assert what in out
    assert "x bytearray32" in out and "x bytearray64" in out and "x frag10" in out
    assert "1001 (asked 1000)" in out and "11 (asked 10)" in out
    assert "GC heap bytes per op (collections off): malloc+free(64) 0, get+put 0, bytearray(64)" in out
    imported = int(re.search(r"import umalloc \(\.py source\)\s+(\d+)", out).group(1))
    assert imported > 1000                      # a real gc.mem_alloc() delta was taken


def test_reduce_takes_medians_subtracts_the_loop_and_scales_by_the_clock():
    lines = ["CLOCK 40", "BENCH loop 100", "BENCH loop 300", "BENCH loop 200",
             "BENCH bytearray32 400", "BENCH bytearray32 900", "BENCH bytearray32 500",
             "BENCH part_pair 600", "BENCH part_pair 700", "BENCH part_pair 650",
             "FRAGS 10 11", "BENCH_DONE speed 3 100"]
    net, frags, reps, n = speedbench.reduce("\n".join(lines))
    assert (reps, n, frags) == (3, 100, {10: 11})
    # 40 ns ticks: (500 - 200) * 40 / 100 ops
    assert net["bytearray32"] == 120.0 and net["part_pair"] == 180.0 and net["loop"] == 80.0
    rows = {r[0]: r for r in speedbench.table(net)}
    assert rows["partition get+put pair"][2] == "1.50x bytearray32"
    assert rows["partition get+put pair"][4] == "MISSED by 1.50x"            # unix goal 1.0x
    board = {r[0]: r for r in speedbench.table(net, board=True)}
    assert board["partition get+put pair"][3] == "<= 0.9x"
    assert board["partition get+put pair"][4] == "MISSED by 1.67x"


def test_reduce_without_a_clock_line_reads_microseconds():
    net, _, _, _ = speedbench.reduce("BENCH loop 10\nBENCH call 30\nBENCH_DONE speed 1 10")
    assert net["call"] == 2000.0


def test_import_rows_check_each_kind_against_its_goal():
    out = "\n".join(["IMPORT mpy /lib/umalloc/__init__.mpy 26960 944",
                     "IMPORT mpy /lib/umalloc/__init__.mpy 1 1",        # the same kind again
                     "IMPORT frozen umalloc/__init__.py 3616 928"])
    imports = speedbench.reduce_imports(out)
    assert imports == {"mpy": ("/lib/umalloc/__init__.mpy", 26960, 944),
                       "frozen": ("umalloc/__init__.py", 3616, 928)}
    rows = speedbench.import_table(imports)
    assert rows[0] == ("import umalloc (.mpy in /lib)", "26960", "<= 10240", "MISSED by 2.63x (16720 B)")
    assert rows[2] == ("  together", "27904", "", "")
    assert rows[3] == ("import umalloc (frozen)", "3616", "<= 4096", "ok")
    assert len(rows) == 6
    assert "shares the frozen copy's names" in speedbench.import_notes(imports)[0]
    assert speedbench.import_notes({"frozen": imports["frozen"]}) == []


def test_import_rows_show_what_each_first_use_keeps():
    out = "\n".join(["IMPORT mpy /lib/umalloc/__init__.mpy 30000 448",
                     "FIRST mpy malloc 16", "FIRST mpy partitions 5000", "FIRST mpy report 4000",
                     "FIRST mpy cold 20000",
                     "FIRST mpy cold 1",                                 # the same step again
                     "IMPORT frozen umalloc/__init__.py 3000 400", "FIRST frozen malloc 0"])
    firsts = speedbench.reduce_first(out)
    assert firsts == {"mpy": {"malloc": 16, "partitions": 5000, "report": 4000, "cold": 20000},
                      "frozen": {"malloc": 0}}
    rows = speedbench.import_table(speedbench.reduce_imports(out), firsts)
    assert [r[:2] for r in rows] == [
        ("import umalloc (.mpy in /lib)", "30000"),
        ("  first Arena(4096), beyond its buffer", "448"),
        ("  first malloc+free", "16"),
        ("  together: import, Arena(4096), malloc+free", "30464"),
        ("  first Arena(4096, partitions=...), get+put, beyond its buffer", "5000"),
        ("  first stats() and map(), what a report reads", "4000"),
        ("  then first check(), realloc(), view()", "20000"),
        ("  all of the above", "59464"),
        ("import umalloc (frozen)", "3000"),
        ("  first Arena(4096), beyond its buffer", "400"),
        ("  first malloc+free", "0"),
        ("  together: import, Arena(4096), malloc+free", "3400"),
        ("  all of the above", "3400")]


def test_import_of_a_board_that_loaded_umalloc_at_boot_says_so():
    rows = speedbench.import_table(speedbench.reduce_imports("IMPORT preloaded - 0 0"))
    assert rows == [("import umalloc", "n/a", "", "already imported at boot (boot.py)")]


def test_worst_case_rows_compare_with_bytearray():
    out = "\n".join(["CLOCK 40", "LIVE 100016 50000",
                     "WORST heap_pair64 100000 170 165",     # 6.8 us, 6.6 us
                     "WORST part_pair64 100000 70 70",
                     "WORST bytearray64 100000 42185 42170"])
    live, worst = speedbench.reduce_worst(out)
    assert live == 100016
    assert worst["heap_pair64"] == (100000, 6.8, 6.6)
    rows = {r[0]: r for r in speedbench.worst_table(worst)}
    assert rows["bytearray(64)"][1:3] == ("1687.4", "1686.8")
    heap = rows["heap malloc+free (64 B)"]
    assert heap[3:] == ("1/248", "1/255", "<= 1/50", "ok")
    slow = speedbench.worst_table({"bytearray64": (10, 100.0, 90.0), "heap_pair64": (10, 4.0, 1.0)})
    assert slow[1][3] == "1/25" and slow[1][6] == "MISSED by 2.0x"
    zero = speedbench.worst_table({"bytearray64": (10, 80.0, 9.0), "part_pair64": (10, 0.0, 0.0)})
    assert zero[1][3] == "< 1/80" and zero[1][6] == "ok"
    host = speedbench.worst_table({"bytearray64": (10, 100.0, 90.0), "heap_pair64": (10, 4.0, 1.0)},
                                  board=False)           # the unix port: the OS's preemption
    assert host[1][3] == "1/25" and host[1][6] == "not judged: the host OS preempts"


def test_gc_bytes_per_op_line():
    found = speedbench.gc_bytes("GCBYTES heap_pair64 0\nGCBYTES part_pair 0\nGCBYTES bytearray64 80")
    assert speedbench.gc_bytes_line(found) == ("GC heap bytes per op (collections off): "
                                               "malloc+free(64) 0, get+put 0, bytearray(64) 80")
    assert speedbench.gc_bytes_line({}) is None


def test_render_puts_the_three_tables_together():
    out = "\n".join(["IMPORT py /x/umalloc/__init__.py 23000 1800", "CLOCK 1000", "USING /x/umalloc/__init__.py",
                     "BENCH loop 1", "BENCH bytearray64 3", "BENCH heap_pair64 4", "BENCH_DONE speed 1 1000",
                     "HEAP 60000 130000",
                     "LIVE 100000 1", "WORST bytearray64 5 100 90", "WORST heap_pair64 5 1 1"])
    text = "\n".join(render(out, board=False, reps=1, n=1000))
    assert re.search(r"import umalloc \(\.py source\)\s+23000", text)
    assert "umalloc from /x/umalloc/__init__.py" in text
    assert "heap malloc+free (64 B)" in text and "1.50x bytearray64" in text
    assert "over 5 ops, 100000 bytes of live GC objects" in text
    assert "GC heap during the ratio rows: 60000 bytes in use, 130000 free" in text


def test_cold_core_constants_are_the_cores_own():
    # _coreviper, _corecold and _corepart repeat _core's const() block, or the part they use,
    # and arena, _arenabuild, _arenainit, _arenacold, _arenareport, _debug and audit the layout words they use, as hidden
    # _NAMEs (const only
    # inlines within one module); _core's own are hidden _NAMEs too (on CPython they are
    # plain globals, which is what lets this test read them)
    from umalloc import _arenacold, _arenainit, _arenabuild, _arenareport, _core, _corecold, _corepart, _coreviper, \
        _debug, arena, audit, errors
    own = {n[1:]: getattr(_core, n) for n in vars(_core) if n[:1] == "_" and n[1:].isupper()}
    assert len(own) > 55 and own["H_PARTS"] == 25
    for module, least in ((_coreviper, 40), (_corecold, 40), (_corepart, 15), (arena, 0), (_arenabuild, 20),
                          (_arenainit, 10), (_arenacold, 10), (_arenareport, 20), (_debug, 8), (audit, 20),
                          (errors, 0)):
        names = [n for n in vars(module) if n.lstrip("_") in own]
        assert len(names) > least, module.__name__
        for name in names:
            assert getattr(module, name) == own[name.lstrip("_")], (module.__name__, name)


def test_trace_and_debug_constants_agree():
    # arena and _arenacold keep hidden copies of what tracefmt and _debug publish
    from umalloc import _arenacold, _debug, arena, tracefmt
    for module in (arena, _arenacold):
        for name in ("OP_ALLOC", "OP_FAIL") + (("OP_FREE", "OP_REALLOC") if module is _arenacold else ()):
            assert getattr(module, "_" + name) == getattr(tracefmt, name), (module.__name__, name)
    from umalloc import _arenabuild
    assert _arenabuild._TRACE_WORDS == _arenacold._TRACE_WORDS
    assert _arenabuild._POISON == _debug.POISON and _debug.GUARD_BYTE == 0xFD


def test_the_virtual_board_through_port_is_judged_as_the_unix_port():
    # `bench --port` on the virtual board judged the host OS's preemption: 'MISSED by 21.2x'
    out = "\n".join(["PLATFORM linux", "CLOCK 1000", "BENCH loop 1", "BENCH bytearray64 3",
                     "BENCH heap_pair64 4", "BENCH_DONE speed 1 1000", "LIVE 100000 1",
                     "WORST bytearray64 5 85 43", "WORST heap_pair64 5 36 1"])
    text = "\n".join(render(out, board=True, reps=1, n=1000))
    assert "not judged: the host OS preempts" in text and "MISSED" not in text
    silicon = "\n".join(render(out.replace("PLATFORM linux", "PLATFORM rp2"), board=True, reps=1, n=1000))
    assert "MISSED by 21.2x" in silicon
