"""Memory safety: 10,000 scribbled-arena trials on the MicroPython unix port, no crash.

Batches run in their own micropython process (two at a time) with fixed seeds;
see tools/umalloc_host/mp/fuzz_device.py for what one trial does.
"""

from umalloc_host import fuzz
from umalloc_host.cli import main


def test_ten_thousand_scribbled_arenas_never_crash_micropython():
    done = fuzz.run(10000, batch_size=1250, seed=1, jobs=2)
    t = fuzz.totals(done)
    crashed = [b.replay() for b in done if b.crashed]
    others = [line for b in done for line in b.others]
    assert crashed == [] and t["crashes"] == 0, crashed
    assert others == [] and t["other"] == 0, others[:5]
    assert t["trials"] == 10000 == t["normal"] + t["memerror"] + t["corrupt"]
    # the scribbles do damage, and the allocator finds it (rather than the trials all missing)
    assert t["corrupt"] > 1000 and t["normal"] > 0


def test_the_viper_core_ends_the_same_trials_the_same_way():
    # ESP32's core: the same seeds on both cores give the same outcomes (the C core is a
    # translation of the viper one), and neither crashes
    c_core = fuzz.totals(fuzz.run(2000, batch_size=1000, seed=3, jobs=2))
    viper = fuzz.totals(fuzz.run(2000, batch_size=1000, seed=3, jobs=2, viper=True))
    assert viper["crashes"] == 0 and viper["other"] == 0
    assert viper == c_core
    assert viper["corrupt"] > 200


def test_a_crashed_batch_is_counted_and_named(tmp_path, monkeypatch):
    # a script that dies the way an allocator writing outside the arena makes the VM die
    script = tmp_path / "crash.py"
    script.write_text("import micropython\nprint('P', 0)\nprint('P', 50)\n"
                      "@micropython.viper\ndef boom():\n    p = ptr32(8)\n    p[0] = 1\nboom()\n")
    monkeypatch.setattr(fuzz, "SCRIPT", script)
    batch = fuzz.run_batch(fuzz.Batch(3, 100, 200))
    assert batch.crashed and batch.exit != 0
    assert batch.replay() == "umalloc fuzz --seed 3 --first 150 --trials 150 --batch 150"
    assert fuzz.totals([batch])["crashes"] == 1


def test_batches_cover_the_trials_once():
    got = [(b.first, b.trials) for b in fuzz.batches(2500, 1000, seed=5, first=10)]
    assert got == [(10, 1000), (1010, 1000), (2010, 500)]


def test_fuzz_command_prints_trials_and_crashes(capsys):
    assert main(["fuzz", "--trials", "60", "--batch", "30", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "batch 2/2" in out and "so far: 60 trials, 0 crashes" in out
    assert "trials: 60  crashes: 0  other exceptions: 0" in out
