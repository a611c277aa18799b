"""Board profiles, `umalloc boards`, `umalloc devices` matching, and the boot/main app."""

import json
import shutil
import subprocess
from types import SimpleNamespace

import pytest

import umalloc
from umalloc_host import FIRMWARE_DIR, LIB_DIR, profiles
from umalloc_host.cli import main
from umalloc_host.commands import devices
from umalloc_host.errors import UserError


def test_every_profile_loads_and_its_arena_fits():
    assert set(profiles.names()) >= {"pico", "esp32", "unix"}
    for name in profiles.names():
        prof = profiles.load(name)
        arena = prof["arena"]
        a = umalloc.Arena(arena["arena_size"], partitions=tuple(map(tuple, arena["partitions"])),
                          policy=arena["policy"])
        s = a.stats()
        assert s["arena_size"] == arena["arena_size"]
        assert s["heap_size"] > arena["arena_size"] // 2, name   # the heap is the bigger part
        assert [q["block_size"] for q in s["partitions"]] == [p[0] for p in arena["partitions"]]
        a.check()


def test_profiles_carry_the_board_facts():
    pico, esp32, unix = (profiles.load(n) for n in ("pico", "esp32", "unix"))
    assert (pico["micropython_port"], pico["mpy_arch"]) == ("rp2", "armv6m")
    assert "2E8A:0005" in pico["usb_ids"] and pico["flash"]["volume_label"] == "RPI-RP2"
    assert (esp32["micropython_port"], esp32["mpy_arch"]) == ("esp32", "xtensawin")
    assert {"10C4:EA60", "1A86:7523"} <= set(esp32["usb_ids"])
    assert (esp32["flash"]["chip"], esp32["flash"]["offset"]) == ("esp32", "0x1000")
    assert unix["heap"] == "192k"
    assert profiles.mpy_arch(unix, machine="x86_64") == "x64"
    assert profiles.mpy_arch(pico, machine="x86_64") == "armv6m"
    with pytest.raises(UserError, match="--source"):
        profiles.mpy_arch(unix, machine="aarch64")


def test_mpy_tag_decodes_to_arch_names():
    assert profiles.arch_from_mpy_tag(6 | 3 << 8 | 2 << 10) == "x64"
    assert profiles.arch_from_mpy_tag(6 | 3 << 8 | 4 << 10) == "armv6m"
    assert profiles.arch_from_mpy_tag(6 | 3 << 8 | 10 << 10) == "xtensawin"
    assert profiles.arch_from_mpy_tag(6) is None


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(UserError) as err:
        profiles.load("pico2w")
    assert "esp32" in str(err.value) and "pico" in str(err.value) and "unix" in str(err.value)
    with pytest.raises(UserError):
        profiles.load("../pyproject")


@pytest.mark.parametrize("change, complaint", [
    (lambda p: p["arena"]["partitions"].append([6, 4]), "any size from 7"),
    (lambda p: p["arena"].update(align=16), "align"),
    (lambda p: p["arena"].update(small_threshold=-1), "small_threshold"),
    (lambda p: p["arena"].update(arena_size=10 ** 6), "GC heap"),
    (lambda p: p["arena"].update(policy="worst"), "policy"),
    (lambda p: p.update(usb_ids=["2e8a-5"]), "usb id"),
    (lambda p: p.update(mpy_arch="arm64"), "mpy_arch"),
    (lambda p: p["arena"].update(partitions=[[1024, 64]]), "no room for the heap"),
    (lambda p: p.pop("flash"), "flash"),
])
def test_broken_profiles_are_refused_with_the_field_named(change, complaint):
    prof = json.loads(json.dumps(profiles.load("pico")))
    change(prof)
    with pytest.raises(UserError, match=complaint):
        profiles.validate(prof, "pico.json")


def test_config_module_is_the_profile_in_python():
    for name in profiles.names():
        prof = profiles.load(name)
        ns = {}
        exec(profiles.config_module(prof), ns)
        assert ns["ARENA_SIZE"] == prof["arena"]["arena_size"]
        assert ns["PARTITIONS"] == tuple(map(tuple, prof["arena"]["partitions"]))
        assert ns["POLICY"] == prof["arena"]["policy"] and ns["NAME"] == name


def test_an_advised_layout_reaches_boot_py_whole():
    # 10-byte blocks, a twoended threshold and align 8: what `umalloc advise` may propose
    prof = json.loads(json.dumps(profiles.load("pico")))
    prof["arena"].update(partitions=[[10, 100], [64, 8]], policy="twoended", small_threshold=520, align=8)
    with pytest.raises(UserError, match="multiple of 8"):
        profiles.validate(prof, "pico.json")
    prof["arena"]["align"] = 4
    profiles.validate(prof, "pico.json")
    ns = {}
    exec(profiles.config_module(prof), ns)
    assert ns["PARTITIONS"] == ((10, 100), (64, 8))
    assert ns["OPTIONS"] == {"small_threshold": 520, "align": 4}
    import umalloc
    a = umalloc.Arena(ns["ARENA_SIZE"], partitions=ns["PARTITIONS"], policy=ns["POLICY"], **ns["OPTIONS"])
    assert a.stats()["policy"] == "twoended" and a.partitions[0].block_size == 10


def test_boards_command_lists_every_profile(capsys):
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for needle in ("pico", "esp32", "unix", "armv6m", "xtensawin", "2E8A:0005", "esptool", "uf2"):
        assert needle in out
    assert main(["boards", "esp32"]) == 0
    assert json.loads(capsys.readouterr().out)["mpy_arch"] == "xtensawin"


def test_boards_command_unknown_name_is_one_line(capsys):
    assert main(["boards", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "known boards" in err


def _port(device, vid, pid, desc=""):
    return SimpleNamespace(device=device, vid=vid, pid=pid, description=desc)


def test_devices_match_usb_ids_to_profiles():
    ports = [_port("/dev/ttyACM0", 0x2E8A, 0x0005), _port("/dev/ttyUSB0", 0x1A86, 0x7523),
             _port("/dev/ttyUSB1", 0x10C4, 0xEA60), _port("/dev/ttyUSB2", 0x0403, 0x6001),
             _port("/dev/ttyS0", None, None)]
    found = {p.device: b for p, b in devices.match(ports, profiles.all_profiles())}
    assert found == {"/dev/ttyACM0": "pico", "/dev/ttyUSB0": "esp32", "/dev/ttyUSB1": "esp32",
                     "/dev/ttyUSB2": None, "/dev/ttyS0": None}


def test_devices_command_runs_without_boards(capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "umalloc vboard" in out or "umalloc deploy --port" in out or "?" in out


def test_boot_and_main_reserve_the_arena_on_micropython(tmp_path):
    """firmware/boot.py + main.py as a board runs them, on the unix port."""
    from umalloc_host.unixport import find_micropython
    shutil.copytree(LIB_DIR / "umalloc", tmp_path / "lib" / "umalloc")
    (tmp_path / "lib" / "umalloc_board.py").write_text(profiles.config_module(profiles.load("esp32")))
    for name in ("boot.py", "main.py"):
        shutil.copy(FIRMWARE_DIR / name, tmp_path / name)
    code = ("exec(open('boot.py').read())\nexec(open('main.py').read())\n"
            "import time\ntime.sleep(2.5)\n"
            "import umalloc\nprint('size', umalloc.default_arena().stats()['arena_size'])\n"
            "reporter.stop()")
    done = subprocess.run([find_micropython(), "-X", "heapsize=192k", "-c", code], cwd=tmp_path,
                          env={"MICROPYPATH": "lib"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "size 32768" in done.stdout
    assert "umalloc: reporting every 1000 ms" in done.stdout
    from umalloc import frame
    frames = [frame.decode(l) for l in done.stdout.splitlines() if l.startswith(frame.MARK)]
    assert len(frames) >= 2                   # periodic, from the device's own Reporter
    assert all(f["arena_size"] == 32768 and len(f["partitions"]) == 3 for f in frames)


def test_boot_says_what_to_do_when_the_arena_does_not_fit(tmp_path):
    from umalloc_host.unixport import find_micropython
    shutil.copytree(LIB_DIR / "umalloc", tmp_path / "lib" / "umalloc")
    (tmp_path / "lib" / "umalloc_board.py").write_text(
        "ARENA_SIZE = 900000\nPARTITIONS = ((16, 8),)\nPOLICY = 'first'\n")
    shutil.copy(FIRMWARE_DIR / "boot.py", tmp_path / "boot.py")
    done = subprocess.run([find_micropython(), "-X", "heapsize=192k", "boot.py"], cwd=tmp_path,
                          env={"MICROPYPATH": "lib"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "no room for the arena" in done.stdout


def test_devices_lists_a_running_virtual_board(tmp_path, monkeypatch, capsys):
    from umalloc_host import serialsource
    port_file = tmp_path / "vboard.port"
    monkeypatch.setattr(serialsource, "VBOARD_PORT_FILE", port_file)
    port_file.write_text("/dev/null\n")          # an existing path, as a live pty would be
    assert main(["devices"]) == 0
    assert "/dev/null" in capsys.readouterr().out
    assert main(["deploy"]) == 2
    assert "a virtual board is running: --port /dev/null" in capsys.readouterr().err


def test_one_partition_notation_block_size_first(capsys):
    """boards, sim, advise and demo all write partitions as `16x64` = 64 blocks of 16 bytes."""
    from umalloc_host.cli import main
    from umalloc_host.notation import partitions_text
    from umalloc_host.simulate import Layout
    assert partitions_text(((16, 64), (64, 32))) == "16x64 64x32"
    assert Layout(((16, 64), (64, 32)), "first", None, "t").describe().startswith("16x64 64x32,")
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    assert "partitions (block size x count)" in out
    pico = profiles.load("pico")["arena"]["partitions"]
    assert partitions_text(pico) in out


def test_boot_skips_the_arena_once_when_a_test_session_asks(tmp_path):
    """The pytest plugin's fresh heap: /umalloc_skipboot makes one boot leave the heap alone."""
    from umalloc_host.unixport import find_micropython
    shutil.copytree(LIB_DIR / "umalloc", tmp_path / "lib" / "umalloc")
    (tmp_path / "lib" / "umalloc_board.py").write_text(profiles.config_module(profiles.load("pico")))
    shutil.copy(FIRMWARE_DIR / "boot.py", tmp_path / "boot.py")
    (tmp_path / "umalloc_skipboot").write_text("")
    code = ("import vfs, sys\nvfs.mount(vfs.VfsPosix('.'), '/')\n"   # the folder as the board's /
            "exec(open('/boot.py').read(), {})\n"
            "print('loaded', sorted(k for k in sys.modules if k.startswith('umalloc')))\n")
    run = lambda: subprocess.run([find_micropython(), "-X", "heapsize=192k", "-c", code],  # noqa: E731
                                 cwd=tmp_path, env={"MICROPYPATH": "lib"}, capture_output=True,
                                 text=True, timeout=60)
    done = run()
    assert done.returncode == 0, done.stderr
    assert "loaded []" in done.stdout                 # skipped: nothing imported, no arena
    assert not (tmp_path / "umalloc_skipboot").exists()          # used up
    done = run()
    assert "'umalloc'" in done.stdout                  # the next boot reserves it again
