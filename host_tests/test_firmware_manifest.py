"""firmware/manifest.py, executed the way MicroPython's tools/manifestfile.py does it:
exec() with the manifest API as globals and the manifest's folder as cwd (no __file__)."""

import os
import subprocess

from umalloc_host import FIRMWARE_DIR, LIB_DIR, REPO_ROOT


def _run_manifest(board):
    calls = []
    api = {name: (lambda *a, _n=name, **k: calls.append((_n, a, k)))
           for name in ("include", "package", "module", "require", "metadata")}
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
    assert ("include", "$(PORT_DIR)/boards/manifest.py", None) in calls
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
