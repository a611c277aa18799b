"""mpy-cross builds of lib/umalloc for the boards' arches, and the x64 build on the unix port."""

import pytest

from umalloc_host import mpybuild, profiles, unixport
from umalloc_host.errors import UserError

SOURCES = mpybuild.sources()
BOARD_ARCHS = ("armv6m", "xtensawin")


def _run_from_mpy(tmp_path, code):
    """Run code on the unix port with umalloc from .mpy files built for it (as a board's /lib)."""
    arch = profiles.mpy_arch(profiles.load("unix"))
    mpybuild.build(arch, out_dir=tmp_path / "umalloc", progress=None)
    return unixport.run_code(code, path=[tmp_path])


def _header(path):
    head = path.read_bytes()[:4]
    return head[0], head[1], head[2] >> 2          # magic, version, arch index


@pytest.mark.parametrize("arch", BOARD_ARCHS)
def test_build_compiles_every_module(arch, tmp_path):
    out = mpybuild.build(arch, out_dir=tmp_path, progress=None)
    assert [p.stem for p in out] == [s.stem for s in SOURCES]
    archs = set()
    for path in out:
        magic, version, arch_index = _header(path)
        assert (magic, version) == (ord("M"), 6), path
        archs.add(arch_index)
    # the viper hot paths are machine code for exactly this CPU
    assert profiles.MPY_ARCHS.index(arch) in archs


@pytest.mark.parametrize("arch", BOARD_ARCHS)
@pytest.mark.parametrize("src", SOURCES, ids=[s.name for s in SOURCES])
def test_each_module_compiles_on_its_own(src, arch, tmp_path):
    out = mpybuild.compile_one(src, tmp_path / (src.stem + ".mpy"), arch)
    assert out.stat().st_size > 0


def test_rebuild_skips_fresh_files_and_drops_stale_ones(tmp_path):
    mpybuild.build("armv6m", out_dir=tmp_path, progress=None)
    (tmp_path / "gone.mpy").write_bytes(b"M\x06")
    lines = []
    mpybuild.build("armv6m", out_dir=tmp_path, progress=lines.append)
    assert all("up to date" in line for line in lines)
    assert not (tmp_path / "gone.mpy").exists()


def test_unknown_arch_is_a_user_error():
    with pytest.raises(UserError, match="armv6m"):
        mpybuild.build("armv99", progress=None)


def test_compile_error_names_the_file(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n")
    with pytest.raises(UserError, match="bad.py"):
        mpybuild.compile_one(bad, tmp_path / "out" / "bad.mpy", "armv6m")
    assert not (tmp_path / "out" / "bad.mpy").exists()


def test_host_build_runs_on_the_unix_port(tmp_path):
    done = _run_from_mpy(
        tmp_path,
        "import umalloc\nprint(umalloc.__file__)\na = umalloc.Arena(4096)\n"
        "p = a.malloc(100)\na.free(p)\na.check()\nprint('ok', a.stats()['free'])")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("umalloc/__init__.mpy")
    assert "ok " in done.stdout


def test_arena_construction_code_is_released_from_a_mpy(tmp_path):
    # From .mpy files (a board's /lib) Arena()'s construction code, _arenabuild, is loaded by
    # each Arena() and forgotten when it returns (its code would otherwise stay in the RAM of
    # a board); Arena() keeps working after that, with partitions and with a refusal.
    done = _run_from_mpy(
        tmp_path,
        "import gc, sys, umalloc\n"
        "a = umalloc.Arena(4096)\n"
        "print('released', 'umalloc._arenabuild' not in sys.modules, '_arenabuild' not in umalloc.__dict__)\n"
        "b = umalloc.Arena(4096, partitions=((16, 4),), policy='first')\n"
        "part = b.partitions[0]\n"
        "part.put(part.get())\n"
        "b.free(b.malloc(100))\n"
        "try:\n"
        "    umalloc.Arena(64, partitions=((16, 40),))\n"
        "except umalloc.MemError as exc:\n"
        "    print('refused', exc.code)\n"
        "print('released', 'umalloc._arenabuild' not in sys.modules, '_arenabuild' not in umalloc.__dict__)\n"
        "gc.collect()\n"
        "before = gc.mem_alloc()\n"
        "for i in range(5):\n"
        "    umalloc.Arena(4096)\n"
        "gc.collect()\n"
        "print('kept', gc.mem_alloc() - before)\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "released True True" and lines[2] == "released True True", done.stdout
    assert lines[1] == "refused %d" % 112, done.stdout                 # ERR_MEM_INVALID_SIZE
    assert int(lines[3].split()[1]) < 256, done.stdout                  # five more Arena()s keep nothing


def test_arena_argument_checks_are_released_from_a_mpy(tmp_path):
    # boot.py's umalloc.init(buf=..., policy=...) goes through _arenaargs (the checks of the
    # less common arguments, and the refusals' words): from .mpy files it is released with
    # _arenabuild, or its code would stay in a board's RAM for good (about 6 KB on armv6m).
    done = _run_from_mpy(
        tmp_path,
        "import sys, umalloc\n"
        "def loaded():\n"
        "    return ('umalloc._arenaargs' in sys.modules, '_arenaargs' in umalloc.__dict__)\n"
        "a = umalloc.init(buf=bytearray(8192), partitions=((16, 8),), policy='first')\n"
        "print('init', loaded())\n"
        "try:\n"
        "    umalloc.Arena(4096, debug=1)\n"
        "except TypeError:\n"
        "    print('refused', loaded())\n"
        "b = umalloc.Arena(4096, trace=4, irq=False)\n"
        "b.free(b.malloc(10))\n"
        "a.partitions[0].put(a.partitions[0].get())\n"
        "a.check()\n"
        "print('after', loaded())\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "init (False, False)", "refused (False, False)", "after (False, False)"], done.stdout


@pytest.mark.parametrize("arch", BOARD_ARCHS)
def test_firmware_scripts_compile_for_the_boards(arch, tmp_path):
    """boot.py, main.py and the demo workload run on the boards: MicroPython syntax only."""
    from umalloc_host import FIRMWARE_DIR
    for name in ("boot.py", "main.py", "demo.py"):
        mpybuild.compile_one(FIRMWARE_DIR / name, tmp_path / (name + ".mpy"), arch)


def test_installed_copies_sharing_the_cache_never_deploy_each_others_mpy(tmp_path, monkeypatch):
    # Two installed versions build into the same ~/.cache/umalloc: the one whose sources are
    # older than the other's .mpy took those .mpy as "up to date" and deployed them.
    import os
    monkeypatch.setattr(mpybuild, "IN_CHECKOUT", False, raising=False)
    monkeypatch.setattr(mpybuild, "BUILD_DIR", tmp_path / "cache" / "build" / "mpy")
    old, new = tmp_path / "old" / "umalloc", tmp_path / "new" / "umalloc"
    for folder, value in ((old, 1), (new, 2)):
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("VALUE = %d\n" % value)
    os.utime(old / "__init__.py", (1, 1))            # installed long ago
    built = {}
    for folder in (new, old):                        # the newer one deploys first
        monkeypatch.setattr(mpybuild, "sources", lambda folder=folder: [folder / "__init__.py"])
        lines = []
        (path,) = mpybuild.build("armv6m", progress=lines.append)
        assert "compiled" in lines[0], lines
        built[folder] = path.read_bytes()
    assert built[old] != built[new]
    assert not list((tmp_path / "cache").rglob("*.part"))
