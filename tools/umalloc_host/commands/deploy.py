"""`umalloc deploy`: copy umalloc to :lib/umalloc/ on a board."""

import argparse
import textwrap

from .. import deploy as deployer


def register(subparsers):
    p = subparsers.add_parser(
        "deploy", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="build .mpy for the board and copy umalloc to :lib/umalloc/",
        description=textwrap.fill(
            "Soft-reset the board, compile lib/umalloc with mpy-cross for its arch, copy it to "
                    ":lib/umalloc/ on the device (with mpremote, or adafruit-ampy with --ampy), "
                    "write :lib/umalloc_board.py with the profile's arena layout, then check "
                    "that `import umalloc` works there.  The previous copy stays in use until "
                    "the new one is complete.", 79),
        epilog="examples:  umalloc deploy --port /dev/ttyACM0 --board pico\n"
               "           umalloc deploy --port /dev/ttyUSB0 --board esp32 --app\n"
               "find the port with `umalloc devices`; for the virtual board run `umalloc vboard`.")
    p.add_argument("--port", "-p", help="serial port of the board (required)")
    p.add_argument("--board", "-b",
                   help="board profile from boards/ (default: detected from the device; "
                        "see `umalloc boards`)")
    p.add_argument("--source", action="store_true", help="copy .py source instead of .mpy")
    p.add_argument("--ampy", action="store_true",
                   help="copy with adafruit-ampy instead of mpremote (ampy soft-resets the board)")
    p.add_argument("--app", action="store_true",
                   help="also install firmware/boot.py (reserves the arena at boot) and "
                        "firmware/main.py (periodic reports) in the device's root")
    p.add_argument("--baud", type=int, help="baud rate (default: the profile's)")
    p.set_defaults(func=run)


def run(args):
    deployer.deploy(args.port, board=args.board, mode="py" if args.source else "mpy",
                    use_ampy=args.ampy, baud=args.baud, with_app=args.app)
    return 0
