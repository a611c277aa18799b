"""`mpremote mip install` reads the project's package.json, as for any micropython-lib package."""

import json
import re
import subprocess
import sys
from pathlib import Path

from umalloc_host import REPO_ROOT
from umalloc_host.vboard import VirtualBoard

PACKAGE_JSON = REPO_ROOT / "package.json"


def test_package_json_lists_every_device_module_and_the_version():
    pkg = json.loads(PACKAGE_JSON.read_text())
    sources = sorted("lib/umalloc/" + p.name for p in (REPO_ROOT / "lib/umalloc").glob("*.py"))
    assert sorted(url for _, url in pkg["urls"]) == sources       # a new module must be added
    assert all(dest == "umalloc/" + url.rsplit("/", 1)[1] for dest, url in pkg["urls"])
    version = re.search(r'^version = "(.*)"', (REPO_ROOT / "pyproject.toml").read_text(), re.M)
    assert pkg["version"] == version.group(1)


def test_mip_install_from_the_package_json_onto_the_virtual_board():
    mpremote = Path(sys.executable).with_name("mpremote")
    with VirtualBoard() as vb:
        done = subprocess.run([str(mpremote), "connect", vb.port, "mip", "install", str(PACKAGE_JSON)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Installing: /lib/umalloc/arena.py" in done.stdout
        installed = sorted(p.name for p in (Path(vb.root) / "lib" / "umalloc").iterdir())
        assert installed == sorted(p.name for p in (REPO_ROOT / "lib/umalloc").glob("*.py"))
        used = subprocess.run(
            [str(mpremote), "connect", vb.port, "exec",
             "import umalloc; a = umalloc.Arena(4096); p = a.malloc(100); a.free(p); a.check(); "
             "print(umalloc.__file__, p > 0)"], capture_output=True, text=True, timeout=60)
        assert used.returncode == 0, used.stdout + used.stderr
        assert used.stdout.split() == ["/lib/umalloc/__init__.py", "True"]
