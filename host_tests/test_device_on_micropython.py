"""Runs every host_tests/device/test_*.py on the real MicroPython unix port.

The same modules are collected by pytest on CPython directly, so every device
test runs on both VMs (and over serial on a board: serial/test_device_over_serial.py).
One interpreter run per module; each test function is reported as its own pytest
item.  A module may set MICROPYTHON_HEAP = "512k".

The unix port (x64) runs the C core (lib/umalloc/native/x64/_umcore.mpy); the
modules that exercise the hot paths run a second time on the viper core, which
ESP32 boards and the simulator use (_mprunner.py --viper).
"""

import pytest

from umalloc_host import unixport

from _devicerun import DEVICE_DIR, collect, parse

_results = {}
# heap, partitions, damage, heap_lock, irq masking, random runs, cold loading: the
# modules whose calls go through malloc/free/get/put
VIPER_TOO = ("test_arena_api", "test_arena_badinput", "test_arena_coldload", "test_arena_damage",
             "test_arena_heaplock", "test_arena_integrity", "test_arena_irqflag",
             "test_arena_random", "test_arena_threads")


def _run_module(module, heap, core="c"):
    if (module, core) not in _results:
        flags = ["--viper"] if core == "viper" else []
        proc = unixport.run([DEVICE_DIR / "_mprunner.py", *flags, module], heap=heap,
                            path=[DEVICE_DIR])
        _results[module, core] = (parse(proc.stdout), proc)
    return _results[module, core]


def _items():
    for m, t, h in collect(unixport.DEFAULT_HEAP):
        yield pytest.param(m, t, h, "c", id=f"{m}::{t}")
        if m in VIPER_TOO:
            yield pytest.param(m, t, h, "viper", id=f"viper:{m}::{t}")


def test_viper_runs_cover_modules_that_exist():
    modules = {m for m, _, _ in collect(unixport.DEFAULT_HEAP)}
    assert set(VIPER_TOO) <= modules


@pytest.mark.parametrize("module,test,heap,core", list(_items()))
def test_on_micropython(module, test, heap, core):
    (outcome, noimport, _ended), proc = _run_module(module, heap, core)
    assert noimport is None, f"{module} does not import on the unix port: {noimport}"
    if test not in outcome:
        pytest.fail(f"{module}.{test} did not run on MicroPython (exit {proc.returncode}):\n"
                    f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    word, trace = outcome[test]
    assert word == "PASS", "\n".join(trace)
