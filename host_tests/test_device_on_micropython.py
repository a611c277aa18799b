"""Runs every host_tests/device/test_*.py on the real MicroPython unix port.

The same modules are collected by pytest on CPython directly, so every device
test runs on both VMs.  One interpreter run per module; each test function is
reported as its own pytest item.  A module may set MICROPYTHON_HEAP = "512k".
"""

import ast
from pathlib import Path

import pytest

from umalloc_host import unixport

DEVICE_DIR = Path(__file__).parent / "device"
_results = {}


def _device_tests():
    for path in sorted(DEVICE_DIR.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        heap = unixport.DEFAULT_HEAP
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                    getattr(t, "id", None) == "MICROPYTHON_HEAP" for t in node.targets):
                heap = ast.literal_eval(node.value)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                yield pytest.param(path.stem, node.name, heap, id=f"{path.stem}::{node.name}")


def _run_module(module, heap):
    if module not in _results:
        proc = unixport.run([DEVICE_DIR / "_mprunner.py", module], heap=heap, path=[DEVICE_DIR])
        outcome, current = {}, None
        for line in proc.stdout.splitlines():
            word, _, name = line.partition(" ")
            if word in ("PASS", "FAIL") and name:
                current = name
                outcome[name] = [word, []]
            elif current and line != "END":
                outcome[current][1].append(line)
        _results[module] = (outcome, proc)
    return _results[module]


@pytest.mark.parametrize("module,test,heap", list(_device_tests()))
def test_on_micropython(module, test, heap):
    outcome, proc = _run_module(module, heap)
    if test not in outcome:
        pytest.fail(f"{module}.{test} did not run on MicroPython (exit {proc.returncode}):\n"
                    f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    word, trace = outcome[test]
    assert word == "PASS", "\n".join(trace)
