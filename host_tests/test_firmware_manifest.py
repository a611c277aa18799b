"""firmware/manifest.py, executed the way MicroPython's tools/manifestfile.py does it:
exec() with the manifest API as globals and the manifest's folder as cwd (no __file__)."""

import os
import subprocess

from umalloc_host import FIRMWARE_DIR, LIB_DIR, REPO_ROOT


class _Manifest:
    """Stands in for MicroPython's ManifestFile: records calls, expands $(VAR) paths."""

    def __init__(self, calls, path_vars):
        self.calls, self._path_vars = calls, path_vars

    def _resolve_path(self, path):
        for name, value in self._path_vars.items():
            path = path.replace("$(%s)" % name, value)
        return os.path.abspath(path)

    def include(self, *a, **k):
        self.calls.append(("include", a, k))


def _run_manifest(board, path_vars=None):
    calls = []
    api = {name: (lambda *a, _n=name, **k: calls.append((_n, a, k)))
           for name in ("include", "package", "module", "require", "metadata")}
    if path_vars is not None:       # as MicroPython runs it: include is a bound method
        api["include"] = _Manifest(calls, path_vars).include
    old_cwd, old_env = os.getcwd(), os.environ.get("UMALLOC_BOARD")
    os.environ["UMALLOC_BOARD"] = board
    os.chdir(FIRMWARE_DIR)
    try:
        exec((FIRMWARE_DIR / "manifest.py").read_text(), api)
        resolved = []
        for name, args, kw in calls:
            base = kw.get("base_path", ".")
            resolved.append((name, args[0], os.path.abspath(base) if "$(" not in args[0] else None))
    finally:
        os.chdir(old_cwd)
        if old_env is None:
            os.environ.pop("UMALLOC_BOARD", None)
        else:
            os.environ["UMALLOC_BOARD"] = old_env
    return resolved


def test_manifest_freezes_the_package_and_keeps_the_port_defaults():
    calls = _run_manifest("no-such-board")
    assert ("include", "$(BOARD_DIR)/manifest.py", None) in calls     # cannot check: assume it
    assert ("package", "umalloc", str(LIB_DIR)) in calls
    assert not any(name == "module" for name, _, _ in calls)    # no config made for this board


def test_manifest_adds_the_board_config_made_by_make_config():
    done = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "config", "BOARD=esp32",
                           "PY=" + os.sys.executable], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    config_dir = REPO_ROOT / "build" / "firmware" / "esp32"
    assert "ARENA_SIZE = 32768" in (config_dir / "umalloc_board.py").read_text()
    calls = _run_manifest("esp32")
    assert ("module", "umalloc_board.py", str(config_dir)) in calls


def test_make_config_for_an_unknown_board_fails_and_leaves_nothing():
    done = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "config", "BOARD=nope",
                           "PY=" + os.sys.executable], capture_output=True, text=True)
    assert done.returncode != 0 and "unknown board 'nope'" in done.stderr
    assert not (REPO_ROOT / "build" / "firmware" / "nope").exists()


def test_manifest_includes_what_the_port_and_board_have(tmp_path):
    """Issue 10, item 2: the qemu port has no boards/manifest.py; rp2's RPI_PICO has no board one."""
    port, board = tmp_path / "port", tmp_path / "port" / "boards" / "B"
    board.mkdir(parents=True)
    where = {"PORT_DIR": str(port), "BOARD_DIR": str(board)}
    includes = lambda: [c for c in _run_manifest("pico", where) if c[0] == "include"]  # noqa: E731
    assert includes() == []                                   # neither: nothing to keep, no error
    (port / "boards" / "manifest.py").write_text("")
    assert includes() == [("include", "$(PORT_DIR)/boards/manifest.py", None)]
    (board / "manifest.py").write_text("")                    # the board's includes the port's
    assert includes() == [("include", "$(BOARD_DIR)/manifest.py", None)]
    assert ("package", "umalloc", str(LIB_DIR)) in _run_manifest("pico", where)
