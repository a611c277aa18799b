"""Runs every host_tests/device/test_*.py on the real MicroPython unix port.

The same modules are collected by pytest on CPython directly, so every device
test runs on both VMs (and over serial on a board: serial/test_device_over_serial.py).
One interpreter run per module; each test function is reported as its own pytest
item.  A module may set MICROPYTHON_HEAP = "512k".
"""

import pytest

from umalloc_host import unixport

from _devicerun import DEVICE_DIR, collect, parse

_results = {}


def _run_module(module, heap):
    if module not in _results:
        proc = unixport.run([DEVICE_DIR / "_mprunner.py", module], heap=heap, path=[DEVICE_DIR])
        _results[module] = (parse(proc.stdout), proc)
    return _results[module]


@pytest.mark.parametrize("module,test,heap", [
    pytest.param(m, t, h, id=f"{m}::{t}") for m, t, h in collect(unixport.DEFAULT_HEAP)])
def test_on_micropython(module, test, heap):
    (outcome, noimport, _ended), proc = _run_module(module, heap)
    assert noimport is None, f"{module} does not import on the unix port: {noimport}"
    if test not in outcome:
        pytest.fail(f"{module}.{test} did not run on MicroPython (exit {proc.returncode}):\n"
                    f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    word, trace = outcome[test]
    assert word == "PASS", "\n".join(trace)
