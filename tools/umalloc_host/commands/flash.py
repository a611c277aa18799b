"""`umalloc flash`: MicroPython firmware onto a board (esptool, or the Pico's UF2 drive)."""

import argparse
import textwrap

from .. import flashing


def register(subparsers):
    p = subparsers.add_parser(
        "flash", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="flash MicroPython firmware (ESP32: esptool; Pico: copy to the RPI-RP2 drive)",
        description=textwrap.fill(
            "Check that FIRMWARE is built for the board's chip (ESP image header / UF2 "
                    "family id), then flash it: esptool write-flash at the profile's offset for "
                    "the ESP32, a copy to the RPI-RP2 drive (BOOTSEL mode) for the Pico.", 79),
        epilog="examples:  umalloc flash --board esp32 --port /dev/ttyUSB0 ESP32_GENERIC.bin --erase\n"
               "           umalloc flash --board pico RPI_PICO.uf2")
    p.add_argument("firmware", help="the .bin (ESP32) or .uf2 (Pico) file")
    p.add_argument("--board", "-b", required=True, help="board profile (see `umalloc boards`)")
    p.add_argument("--port", "-p", help="serial port (ESP32; see `umalloc devices`)")
    p.add_argument("--erase", action="store_true", help="erase the whole flash first (ESP32)")
    p.add_argument("--drive", help="mount point of the RPI-RP2 drive if it is not found by itself")
    p.add_argument("--baud", type=int, help="esptool baud rate (default: the profile's)")
    p.set_defaults(func=run)


def run(args):
    flashing.flash(args.firmware, args.board, port=args.port, erase=args.erase,
                   drive=args.drive, baud=args.baud)
    return 0
