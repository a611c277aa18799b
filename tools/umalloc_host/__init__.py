"""Host-side tools for umalloc: deploy, flash, monitor, plot, simulate, bench."""

from pathlib import Path

# Repository layout (the host package is installed editable from a checkout).
REPO_ROOT = Path(__file__).resolve().parents[2]
LIB_DIR = REPO_ROOT / "lib"
BOARDS_DIR = REPO_ROOT / "boards"
FIRMWARE_DIR = REPO_ROOT / "firmware"
