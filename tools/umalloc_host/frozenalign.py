"""Frozen native code on armv6m: MicroPython's alignment bug, worked around and detected.

    python -m umalloc_host.frozenalign fix   BUILD_DIR   # aligned(2) -> aligned(4) in frozen_content.c
    python -m umalloc_host.frozenalign check BUILD_DIR   # every frozen native function 4-aligned in the ELF

Why: MicroPython's tools/mpy-tool.py places frozen Thumb native code (viper,
@micropython.native) with `aligned(2)`, but py/asmthumb.c compiles an armv6m
long jump as `ldr r1, [pc, #0]; add pc, r1; .word rel` with its padding nop
worked out from the offset inside the function, i.e. it assumes the function
starts on a 4-byte boundary.  A function that lands at an address ending in 2
loads the wrong word and jumps to garbage (umalloc's `free` hung the Cortex-M0+
board).  Every 32-bit constant is loaded the same way (`ldr rX, [pc, #0]; b 1f;
.word value`), so misaligned code also computes with wrong constants (umalloc's
seals: put() saw a damaged descriptor, free() returned ERR_MEM_-61440);
umalloc/_codealign.py refuses such code at import on the board.  Loaded from a .mpy the code sits in the GC heap (4-aligned) and is fine;
Thumb-2 (armv7m and up) uses a plain `b.w` and is fine anywhere.

The fix is to ask for 4-byte alignment, which is always valid for Thumb code.
MicroPython's makemanifest.py keeps an up-to-date frozen_content.c, so patching
it and running the port's make again compiles the patched file.  `check` reads
the symbol table (arm-none-eabi-nm) so a build that missed the fix is caught
before it reaches a board.
"""

import re
import subprocess
import sys
from pathlib import Path

from .errors import UserError

FROZEN_C = "frozen_content.c"
# One frozen native function: a byte array placed in .text with an alignment.
_NATIVE = re.compile(r'static const byte (fun_data_\w+)\[\d+\] __attribute__\(\(section\("\.text'
                     r'[^\n]*?__attribute__ \(\(aligned \((\d+)\)\)\)')
_ALIGN2 = re.compile(r'(static const byte fun_data_\w+\[\d+\] __attribute__\(\(section\("\.text'
                     r'[^\n]*?__attribute__ \(\(aligned \()2(\)\)\))')


def native_functions(c_text):
    """{symbol: alignment} of the frozen native functions in a frozen_content.c."""
    return {name: int(align) for name, align in _NATIVE.findall(c_text)}


def fix_text(c_text):
    """(patched text, how many native functions were 2-aligned)."""
    return _ALIGN2.subn(r"\g<1>4\g<2>", c_text)


def fix(build_dir):
    """Patch BUILD_DIR/frozen_content.c in place; returns the number of functions changed."""
    path = Path(build_dir) / FROZEN_C
    if not path.is_file():
        raise UserError("%s not found: build the firmware first (the port's make)" % path)
    text, changed = fix_text(path.read_text())
    if changed:
        path.write_text(text)
    return changed


def symbol_addresses(elf, nm="arm-none-eabi-nm"):
    """{symbol: address} from the ELF's symbol table."""
    try:
        done = subprocess.run([nm, str(elf)], capture_output=True, text=True)
    except FileNotFoundError:
        raise UserError("%s not found: install the ARM toolchain (Debian: apt install "
                        "gcc-arm-none-eabi)" % nm) from None
    if done.returncode != 0:
        raise UserError("%s could not read %s: %s" % (nm, elf, done.stderr.strip()))
    found = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            found[parts[2]] = int(parts[0], 16)
    return found


def misaligned(c_text, addresses):
    """[(symbol, address)] of frozen native functions not on a 4-byte boundary."""
    return sorted((name, addresses[name]) for name in native_functions(c_text)
                  if name in addresses and addresses[name] % 4)


def check(build_dir, elf=None, nm="arm-none-eabi-nm"):
    """Raise UserError naming the frozen native functions that an armv6m long jump would break."""
    build_dir = Path(build_dir)
    elf = Path(elf) if elf else build_dir / "firmware.elf"
    c_path = build_dir / FROZEN_C
    for path in (c_path, elf):
        if not path.is_file():
            raise UserError("%s not found: build the firmware first" % path)
    bad = misaligned(c_path.read_text(), symbol_addresses(elf, nm))
    if bad:
        raise UserError("%d frozen native functions are not 4-byte aligned in %s (first: %s at "
                        "0x%x); on armv6m they crash: run `python -m umalloc_host.frozenalign fix "
                        "%s` and build again" % (len(bad), elf, bad[0][0], bad[0][1], build_dir))
    return len(native_functions(c_path.read_text()))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ("fix", "check"):
        print("usage: python -m umalloc_host.frozenalign fix|check BUILD_DIR", file=sys.stderr)
        return 2
    try:
        if argv[0] == "fix":
            print("frozenalign: %d frozen native functions moved to 4-byte alignment in %s"
                  % (fix(argv[1]), Path(argv[1]) / FROZEN_C))
        else:
            print("frozenalign: all %d frozen native functions are 4-byte aligned" % check(argv[1]))
    except UserError as exc:
        print("frozenalign: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
