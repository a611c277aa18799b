import sys
from pathlib import Path

# Device tests import their helpers (_check) by plain name, as they do on MicroPython.
sys.path.insert(0, str(Path(__file__).parent / "device"))
