# Freeze umalloc into a MicroPython firmware image (see firmware/README.md):
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/umalloc/firmware/manifest.py
# Relative base paths are resolved against this file's folder.
import os

_board = os.environ.get("UMALLOC_BOARD", "pico")


def _found(path):
    """Does a manifest path like "$(PORT_DIR)/boards/manifest.py" name an existing file?

    The manifest API has no exists(); `include` is a method of MicroPython's
    ManifestFile, whose _resolve_path expands the $(...) variables.  Where it
    cannot be asked (another tool running this file), assume the file is there.
    """
    resolve = getattr(getattr(include, "__self__", None), "_resolve_path", None)
    return os.path.exists(resolve(path)) if resolve else True


# Keep everything the board or port freezes by default (asyncio, _boot.py, ...):
# the board's own manifest when it has one (it includes the port's), else the
# port's.  Some ports have neither (qemu): then there is nothing to keep.
if _found("$(BOARD_DIR)/manifest.py"):
    include("$(BOARD_DIR)/manifest.py")
elif _found("$(PORT_DIR)/boards/manifest.py"):
    include("$(PORT_DIR)/boards/manifest.py")

package("umalloc", base_path="../lib")

# The arena layout of boards/<board>.json, made by `make -C firmware config BOARD=...`.
_here = os.path.dirname(globals().get("__file__") or "./manifest.py")
if os.path.exists(os.path.join(_here, "..", "build", "firmware", _board, "umalloc_board.py")):
    module("umalloc_board.py", base_path="../build/firmware/" + _board)
