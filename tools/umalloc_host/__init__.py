"""Host-side tools for umalloc: deploy, flash, monitor, plot, simulate, bench."""

import importlib.util
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parents[1]

if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "lib" / "umalloc").is_dir():
    # A checkout (editable install, ./dev): the files as they are in the repository.
    IN_CHECKOUT = True
    REPO_ROOT = _CHECKOUT
    LIB_DIR = REPO_ROOT / "lib"
    BOARDS_DIR = REPO_ROOT / "boards"
    FIRMWARE_DIR = REPO_ROOT / "firmware"
else:
    # An installed wheel: boards/ and firmware/ are package data of umalloc_host, the
    # device package is the installed `umalloc`, and build output (.mpy) goes to a cache.
    IN_CHECKOUT = False
    REPO_ROOT = Path.home() / ".cache" / "umalloc"
    LIB_DIR = Path(importlib.util.find_spec("umalloc").origin).parent.parent
    BOARDS_DIR = _HERE / "boards"
    FIRMWARE_DIR = _HERE / "firmware"
