"""`mpremote mip install` reads the project's package.json, as for any micropython-lib package."""

import json
import re
import subprocess
import sys
from pathlib import Path

from umalloc_host import REPO_ROOT
from umalloc_host.vboard import VirtualBoard

PACKAGE_JSON = REPO_ROOT / "package.json"


def DEVICE_FILES():
    """What mip installs: the device modules, and the C core's native module for each arch
    (mip cannot tell the board's arch; _core loads the one that matches, or none: viper)."""
    lib = REPO_ROOT / "lib/umalloc"
    return sorted(lib.glob("*.py")) + sorted(lib.glob("native/*/_umcore.mpy"))


def test_package_json_lists_every_device_module_and_the_version():
    pkg = json.loads(PACKAGE_JSON.read_text())
    sources = sorted(str(p.relative_to(REPO_ROOT)) for p in DEVICE_FILES())
    assert sorted(url for _, url in pkg["urls"]) == sources       # a new module must be added
    assert all(dest == url[len("lib/"):] for dest, url in pkg["urls"])
    version = re.search(r'^version = "(.*)"', (REPO_ROOT / "pyproject.toml").read_text(), re.M)
    assert pkg["version"] == version.group(1)


def test_mip_install_from_the_package_json_onto_the_virtual_board():
    mpremote = Path(sys.executable).with_name("mpremote")
    with VirtualBoard() as vb:
        done = subprocess.run([str(mpremote), "connect", vb.port, "mip", "install", str(PACKAGE_JSON)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Installing: /lib/umalloc/arena.py" in done.stdout
        root = Path(vb.root) / "lib"
        installed = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        assert installed == sorted(str(p.relative_to(REPO_ROOT / "lib")) for p in DEVICE_FILES())
        used = subprocess.run(
            [str(mpremote), "connect", vb.port, "exec",
             "import umalloc; a = umalloc.Arena(4096); p = a.malloc(100); a.free(p); a.check(); "
             "print(umalloc.__file__, p > 0, umalloc._core.CCORE is not None)"],
            capture_output=True, text=True, timeout=60)
        assert used.returncode == 0, used.stdout + used.stderr
        # the virtual board is the x64 unix port: the installed x64 native module runs
        assert used.stdout.split() == ["/lib/umalloc/__init__.py", "True", "True"]
