"""The pure-Python fallback for firmware without the native emitter.

A copy of lib/umalloc whose viper decorators the compiler rejects stands for
such a firmware: importing umalloc must fall back to the portable core and the
device tests must pass on it, on the real MicroPython unix port.
"""

import shutil
from pathlib import Path

import pytest

from umalloc_host import LIB_DIR, unixport

DEVICE_DIR = Path(__file__).parent / "device"
# heap_lock-freedom is a property of the viper core only (documented in _portable.py)
MODULES = ["test_arena_api", "test_arena_badinput", "test_arena_integrity", "test_arena_random"]


@pytest.fixture(scope="module")
def no_viper_lib(tmp_path_factory):
    root = tmp_path_factory.mktemp("noviper")
    # no native modules either: loading one takes the native emitter's arch support
    shutil.copytree(LIB_DIR / "umalloc", root / "umalloc", ignore=shutil.ignore_patterns("native"))
    # an unknown micropython decorator is the SyntaxError such a firmware raises for viper
    for name in ("_core.py", "_coreviper.py", "_corepart.py"):
        core = root / "umalloc" / name
        core.write_text(core.read_text().replace("@micropython.viper\n", "@micropython.viper_missing\n"))
    return root


def _run(lib, *args):
    return unixport.run(list(args), heap="512k", path=[lib, DEVICE_DIR])


def test_import_falls_back_to_portable_core(no_viper_lib):
    proc = _run(no_viper_lib, "-c", "import umalloc; print(umalloc._core.PORTABLE)")
    assert proc.stdout.strip() == "True", proc.stderr
    proc = _run(LIB_DIR, "-c", "import umalloc; print(umalloc._core.PORTABLE)")
    assert proc.stdout.strip() == "False", proc.stderr


@pytest.mark.parametrize("module", MODULES)
def test_device_suite_on_portable_core(no_viper_lib, module):
    proc = _run(no_viper_lib, DEVICE_DIR / "_mprunner.py", module)
    lines = proc.stdout.splitlines()
    assert lines and lines[-1] == "END", proc.stdout[-2000:] + proc.stderr[-2000:]
    failed = [line for line in lines if line.startswith("FAIL")]
    assert not failed, proc.stdout[-3000:]
    assert any(line.startswith("PASS") for line in lines)
