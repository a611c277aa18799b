"""`umalloc vboard`: run the virtual board (MicroPython unix port behind a pty) until Ctrl-C."""

import os
import re
import signal
import sys
import time

from ..errors import UserError
from ..vboard import VirtualBoard

_HEAP = re.compile(r"^\d+[kKmM]?$")


def register(subparsers):
    p = subparsers.add_parser(
        "vboard", help="run a virtual MicroPython board on a pty (for mpremote, ampy, umalloc --port)",
        description="Start the MicroPython unix port behind a pseudo-terminal that behaves like a "
        "board's USB serial port: raw REPL, raw-paste, soft reset (Ctrl-D) and Ctrl-C work, so "
        "`mpremote connect PORT ...`, `ampy --port PORT ...` and `umalloc ... --port PORT` work "
        "unchanged.  The board's filesystem is a sandbox folder.  Stop it with Ctrl-C.")
    p.add_argument("--heap", default="192k", metavar="SIZE",
                   help="MicroPython heap size, passed as -X heapsize (default 192k, about a Pico)")
    p.add_argument("--root", metavar="DIR",
                   help="folder used as the board's filesystem (kept afterwards); "
                   "default: a temporary folder removed on exit")
    p.set_defaults(func=run)


def run(args):
    if not _HEAP.match(args.heap):
        raise UserError("--heap %r is not a size: use a number of bytes with an optional k or m, "
                        "e.g. --heap 192k" % args.heap)
    if args.root:
        if os.path.exists(args.root) and not os.path.isdir(args.root):
            raise UserError("--root %s is a file: give a folder (it is created if missing)" % args.root)
        os.makedirs(args.root, exist_ok=True)
    board = VirtualBoard(heap=args.heap, root=args.root)
    board.start()
    port_file = _announce(board.port)
    # `kill` stops it as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        print("virtual board on %s  (heap %s, filesystem %s)" % (board.port, args.heap, board.root))
        print("try:  mpremote connect %s exec \"print('hello')\"" % board.port)
        print("      umalloc deploy --port %s" % board.port)
        print("Ctrl-C stops it.", flush=True)
        restarts = 0
        while True:
            time.sleep(0.5)
            if board.restarts != restarts:
                restarts = board.restarts
                print("board reset (%d so far)" % restarts, flush=True)
    except KeyboardInterrupt:
        print("stopping the virtual board", file=sys.stderr)
        return 0
    finally:
        board.stop()
        _withdraw(port_file, board.port)


def _announce(port):
    """Write the port where `umalloc monitor` (and friends) look for a running virtual board."""
    from ..serialsource import VBOARD_PORT_FILE as path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(port + "\n")
    except OSError:
        return None      # only a convenience: the port is printed anyway
    return path


def _withdraw(path, port):
    try:
        if path is not None and path.read_text().strip() == port:
            path.unlink()
    except OSError:
        pass
