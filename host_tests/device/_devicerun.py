"""Host side of the device tests: which tests exist, and what _mprunner printed.

Used by test_device_on_micropython.py (the unix port) and
serial/test_device_over_serial.py (a board over --port): one pytest item per
device test function, whichever VM runs it.
"""

import ast
from pathlib import Path

DEVICE_DIR = Path(__file__).parent


def collect(default_heap):
    """[(module, test, heap)] for every test_* function of device/test_*.py, in file order.

    A module may set MICROPYTHON_HEAP = "512k" (the unix port's -X heapsize).
    """
    found = []
    for path in sorted(DEVICE_DIR.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        heap = default_heap
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                    getattr(t, "id", None) == "MICROPYTHON_HEAP" for t in node.targets):
                heap = ast.literal_eval(node.value)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found.append((path.stem, node.name, heap))
    return found


def parse(output):
    """({test: [word, traceback lines]}, import error or None, saw END) from _mprunner output."""
    outcome, current, noimport, ended = {}, None, None, False
    for line in output.splitlines():
        word, _, name = line.strip("\r").partition(" ")
        if word in ("PASS", "FAIL") and name:
            current = name
            outcome[name] = [word, []]
        elif word == "NOIMPORT":
            noimport = name.partition(" ")[2]
        elif line.strip() == "END":
            ended = True
        elif current:
            outcome[current][1].append(line.rstrip("\r"))
    return outcome, noimport, ended
