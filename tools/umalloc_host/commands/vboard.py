"""`umalloc vboard`: run the virtual board (MicroPython unix port behind a pty) until Ctrl-C.

With --qemu IMAGE it runs a bare-metal MicroPython image in QEMU instead (see qemuboard.py).
"""

import os
import re
import signal
import sys
import time

from ..errors import UserError
from ..qemuboard import QemuBoard
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
    p.add_argument("--qemu", metavar="IMAGE",
                   help="run this MicroPython firmware.elf in qemu-system-arm (mps2-an385) instead "
                   "of the unix port: a bare-metal Cortex-M0+/M3 board; build one with "
                   "`make -C firmware qemu MPY_DIR=...`")
    p.add_argument("--icount", type=int, metavar="SHIFT",
                   help="with --qemu: QEMU's clock counts instructions (-icount shift=SHIFT, one "
                   "instruction = 2**SHIFT ns), so timings repeat from run to run")
    p.add_argument("--root", metavar="DIR",
                   help="folder used as the board's filesystem (kept afterwards); "
                   "default: a temporary folder removed on exit")
    p.set_defaults(func=run)


def run(args):
    if args.icount is not None and not args.qemu:
        raise UserError("--icount only applies to a QEMU board: add --qemu IMAGE")
    if args.qemu:
        return run_qemu(args)
    if not _HEAP.match(args.heap):
        raise UserError("--heap %r is not a size: use a number of bytes with an optional k or m, "
                        "e.g. --heap 192k" % args.heap)
    if args.root:
        if os.path.exists(args.root) and not os.path.isdir(args.root):
            raise UserError("--root %s is a file: give a folder (it is created if missing)" % args.root)
        try:
            os.makedirs(os.path.join(args.root, "lib"), exist_ok=True)   # the board writes there
        except OSError as exc:
            raise UserError("--root %s: cannot create it (%s): give a folder you can write to"
                            % (args.root, exc.strerror or exc)) from None
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


def run_qemu(args):
    if args.root or args.heap != "192k":
        raise UserError("--root and --heap are for the unix-port board; a QEMU image has its own "
                        "RAM disk and heap (set in firmware/qemu/common/board.mk)")
    board = QemuBoard(args.qemu, icount=args.icount)
    board.start()
    port_file = _announce(board.port)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        print("QEMU board on %s  (%s%s)" % (board.port, board.image,
                                           ", icount shift=%d" % args.icount if args.icount is not None else ""))
        print("try:  mpremote connect %s exec \"import os; print(os.uname())\"" % board.port)
        print("      umalloc deploy --port %s" % board.port)
        print("Ctrl-C stops it.", flush=True)
        while board.running:
            time.sleep(0.5)
        print("the QEMU board stopped (machine.reset() or a crash); run `umalloc vboard --qemu` again",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping the QEMU board", file=sys.stderr)
        return 0
    finally:
        board.stop()
        _withdraw(port_file, board.port)


def _announce(port):
    """Write the port where `umalloc monitor` (and friends) look for a running virtual board.

    Returns (file, the port it named before): a board already running keeps its place."""
    from ..serialsource import VBOARD_PORT_FILE as path
    try:
        before = path.read_text().strip() if path.exists() else ""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(port + "\n")
    except OSError:
        return None      # only a convenience: the port is printed anyway
    return path, before


def _withdraw(announced, port):
    """Take this board's port back out; a board announced before it, still running, returns."""
    if announced is None:
        return
    path, before = announced
    try:
        if path.read_text().strip() == port:
            if before and before != port and os.path.exists(before):
                path.write_text(before + "\n")
            else:
                path.unlink()
    except OSError:
        pass
