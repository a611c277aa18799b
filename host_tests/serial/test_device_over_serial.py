"""Every host_tests/device/test_*.py run ON the board over serial (--port, --qemu, or the
virtual board): one pytest item per device test function.

The module, _check.py and _mprunner.py go to :/_umalloc_devtests once per session,
as .mpy (mpy-cross, bytecode only: the board needs no RAM to compile them).  A module
runs in one go right after the umalloc_board fixture's soft reset (fresh heap,
umalloc deployed), and its items report what the board printed.  A module that asks
for a bigger heap than the default (MICROPYTHON_HEAP, e.g. "512k") runs one test per
soft reset instead, so each starts on a fresh 192 KB heap as on a Pico; if one of those
still runs out of memory there, it is skipped saying so (the module itself declares it
needs more than a Pico has).
A module that cannot import on the board's firmware (test_arena_threads needs _thread)
is skipped with that reason.
"""

import subprocess

import pytest

from umalloc_host import REPO_ROOT, mpybuild, unixport

from _devicerun import DEVICE_DIR, collect, parse

pytestmark = pytest.mark.board

REMOTE = "/_umalloc_devtests"
MODULE_TIMEOUT = 900.0      # a whole module on an emulated Cortex-M0+
MPY_DIR = REPO_ROOT / "build" / "mpy" / "devtests"
_copied = set()
_results = {}


def _mpy(stem):
    """device/<stem>.py compiled to bytecode .mpy (no -march: the tests hold no native code)."""
    src, out = DEVICE_DIR / (stem + ".py"), MPY_DIR / (stem + ".mpy")
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        MPY_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([mpybuild.mpy_cross_path(), "-s", src.name, "-o", str(out), str(src)],
                       check=True, capture_output=True)
    return out


def _copy(board, stem):
    if (board.port, stem) not in _copied:
        board.fs_put(_mpy(stem), "%s/%s.mpy" % (REMOTE, stem))
        _copied.add((board.port, stem))


def _run(request, module, tests=()):
    board = request.getfixturevalue("umalloc_board")
    for stem in ("_check", "_mprunner", module):
        _copy(board, stem)
    out = board.exec("import sys\nsys.path.insert(0, %r)\nimport _mprunner\n"
                     "_mprunner.run(%r, %r)" % (REMOTE, module, tuple(tests)),
                     timeout=MODULE_TIMEOUT)
    return parse(out), out


def _result(request, module, test, heap):
    if heap != unixport.DEFAULT_HEAP:       # needs a fresh heap for each test
        return _run(request, module, (test,))
    if module not in _results:
        _results[module] = _run(request, module)
    return _results[module]


@pytest.mark.parametrize("module,test,heap", [
    pytest.param(m, t, h, id="%s::%s" % (m, t)) for m, t, h in collect(unixport.DEFAULT_HEAP)])
def test_on_the_board(request, module, test, heap):
    (outcome, noimport, ended), out = _result(request, module, test, heap)
    if noimport is not None:
        pytest.skip("%s does not import on this board's firmware: %s" % (module, noimport))
    if test not in outcome:
        pytest.fail("%s.%s did not run on the board%s:\n%s" % (
            module, test, "" if ended else " (the run stopped early)", out[-2000:]))
    word, trace = outcome[test]
    if word == "FAIL" and heap != unixport.DEFAULT_HEAP and trace and "MemoryError" in trace[-1]:
        pytest.skip("%s declares MICROPYTHON_HEAP = %r, more than this board's heap: %s"
                    % (module, heap, trace[-1].strip()))
    assert word == "PASS", "\n".join(trace)
