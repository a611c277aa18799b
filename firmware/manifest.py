# Freeze umalloc into a MicroPython firmware image (see firmware/README.md):
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/umalloc/firmware/manifest.py
# Relative base paths are resolved against this file's folder.
import os

_board = os.environ.get("UMALLOC_BOARD", "pico")

# Keep everything the port freezes by default (asyncio, _boot.py, ...).
include("$(PORT_DIR)/boards/manifest.py")

package("umalloc", base_path="../lib")

# The arena layout of boards/<board>.json, made by `make -C firmware config BOARD=...`.
_here = os.path.dirname(globals().get("__file__") or "./manifest.py")
if os.path.exists(os.path.join(_here, "..", "build", "firmware", _board, "umalloc_board.py")):
    module("umalloc_board.py", base_path="../build/firmware/" + _board)
