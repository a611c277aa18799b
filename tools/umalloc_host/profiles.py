"""Board profiles (boards/<name>.json): arena layout, mpy-cross arch, USB ids, flasher.

    load("pico") -> dict        names() -> ["esp32", "pico", "qemu", "unix"]

A profile that is broken (hand-edited JSON) fails here with a message naming the
file and the field, so nothing later has to second-guess its values.
"""

import json
import platform
import re

from . import BOARDS_DIR
from .errors import UserError

# mpy-cross -march values, indexed as in sys.implementation._mpy bits 10..13
MPY_ARCHS = ("", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
             "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc")
POLICIES = ("first", "best", "twoended", "good")
FLASH_METHODS = ("uf2", "esptool", "none")

# The virtual board runs on this machine: its native code is the host's.
_HOST_ARCH = {"x86_64": "x64", "amd64": "x64", "i386": "x86", "i686": "x86", "x86": "x86",
              "riscv64": "rv64imc"}

_USB_ID = re.compile(r"^[0-9A-F]{4}:[0-9A-F]{4}$")


def names():
    """Names of the known boards, sorted."""
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def load(name):
    """The validated profile of board `name` (raises UserError for unknown/broken ones)."""
    path = BOARDS_DIR / (str(name) + ".json")
    if not re.match(r"^[A-Za-z0-9_-]+$", str(name)) or not path.is_file():
        raise UserError("unknown board %r; known boards: %s (see `umalloc boards`)"
                        % (name, ", ".join(names()) or "none - boards/ is empty"))
    try:
        profile = json.loads(path.read_text())
    except ValueError as exc:
        raise UserError("%s is not valid JSON (%s); fix the file" % (path, exc))
    validate(profile, path.name)
    return profile


def all_profiles():
    return [load(n) for n in names()]


def _fail(where, msg):
    raise UserError("board profile %s: %s" % (where, msg))


def validate(profile, where="profile"):
    """Check the fields every other module relies on; returns the profile."""
    if not isinstance(profile, dict):
        _fail(where, "must be a JSON object")
    for key, kind in (("name", str), ("title", str), ("micropython_port", str),
                      ("mpy_arch", str), ("gc_heap", int), ("arena", dict),
                      ("usb_ids", list), ("baud", int), ("flash", dict)):
        if not isinstance(profile.get(key), kind):
            _fail(where, "field %r missing or not a %s" % (key, kind.__name__))
    arch = profile["mpy_arch"]
    if arch != "host" and arch not in MPY_ARCHS[1:]:
        _fail(where, "mpy_arch %r is not one of: host, %s" % (arch, ", ".join(MPY_ARCHS[1:])))
    arena = profile["arena"]
    size = arena.get("arena_size")
    if not isinstance(size, int) or size <= 0:
        _fail(where, "arena.arena_size must be a positive int")
    if size >= profile["gc_heap"]:
        _fail(where, "arena.arena_size %d leaves nothing of the %d-byte GC heap"
              % (size, profile["gc_heap"]))
    if arena.get("policy") not in POLICIES:
        _fail(where, "arena.policy must be one of %s" % ", ".join(POLICIES))
    parts = arena.get("partitions")
    if not isinstance(parts, list):
        _fail(where, "arena.partitions must be a list of [block_size, nblks]")
    total = 0
    for pair in parts:
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(v, int) and v > 0 for v in pair)):
            _fail(where, "partition %r must be [block_size, nblks] with positive ints" % (pair,))
        total += pair[0] * pair[1]
    small, align = arena.get("small_threshold"), arena.get("align")
    if small is not None and (not isinstance(small, int) or isinstance(small, bool) or small < 0):
        _fail(where, "arena.small_threshold must be a whole number of bytes >= 0")
    if align is not None and align not in (4, 8):
        _fail(where, "arena.align must be 4 or 8")
    import umalloc._arenainit       # the core's own rule for block sizes (OSMemCreate's checks)
    try:
        umalloc._arenainit.validated([tuple(p) for p in parts], align or 4)
    except (umalloc.MemError, ValueError, TypeError) as exc:
        _fail(where, "arena.partitions: %s" % exc)
    if total >= size:
        _fail(where, "partitions take %d of the %d arena bytes: no room for the heap"
              % (total, size))
    for usb in profile["usb_ids"]:
        if not isinstance(usb, str) or not _USB_ID.match(usb):
            _fail(where, "usb id %r must look like 2E8A:0005 (hex VID:PID, upper case)" % (usb,))
    if profile["flash"].get("method") not in FLASH_METHODS:
        _fail(where, "flash.method must be one of %s" % ", ".join(FLASH_METHODS))
    return profile


def mpy_arch(profile, machine=None):
    """The mpy-cross -march for this board; 'host' means the machine we run on."""
    arch = profile["mpy_arch"]
    if arch != "host":
        return arch
    machine = (machine or platform.machine()).lower()
    if machine not in _HOST_ARCH:
        raise UserError("no mpy-cross native arch for this machine (%s): deploy with --source"
                        % machine)
    return _HOST_ARCH[machine]


def arch_from_mpy_tag(tag):
    """mpy-cross arch name from sys.implementation._mpy (None when no native code)."""
    index = (int(tag) >> 10) & 0xF
    return MPY_ARCHS[index] if 0 < index < len(MPY_ARCHS) else None


# MicroPython's rule (py/persistentcode.h, MPY_FEATURE_ARCH_TEST): a Thumb device loads
# native code of its own arch or of any older Thumb arch (armv6m runs on armv7em);
# every other arch must match exactly.
_THUMB = ("armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp")


def loads_on(code_arch, device_arch):
    """Can a device whose native arch is `device_arch` load .mpy code built for `code_arch`?"""
    if code_arch is None:
        return True                      # bytecode only: any arch
    if code_arch == device_arch:
        return True
    return (code_arch in _THUMB and device_arch in _THUMB
            and _THUMB.index(code_arch) <= _THUMB.index(device_arch))


def usb_ids(profile):
    """[(vid, pid), ...] as ints."""
    return [tuple(int(h, 16) for h in u.split(":")) for u in profile["usb_ids"]]


def config_module(profile):
    """Source of `umalloc_board.py`: the profile's arena values for boot.py on the device."""
    arena = profile["arena"]
    parts = ", ".join("(%d, %d)" % tuple(p) for p in arena["partitions"])
    options = dict((k, arena[k]) for k in ("small_threshold", "align") if arena.get(k) is not None)
    return ("# Generated from boards/%s.json by the umalloc host tool; boot.py reads it.\n"
            "NAME = %r\nARENA_SIZE = %d\nPARTITIONS = (%s%s)\nPOLICY = %r\nOPTIONS = %r\n"
            "REPORT_MS = %d\n"
            % (profile["name"], profile["name"], arena["arena_size"], parts,
               "," if len(arena["partitions"]) == 1 else "", arena["policy"], options,
               int(profile.get("report_ms", 1000))))


if __name__ == "__main__":   # python -m umalloc_host.profiles BOARD  -> umalloc_board.py source
    import sys
    try:
        sys.stdout.write(config_module(load(sys.argv[1] if len(sys.argv) > 1 else "")))
    except UserError as exc:
        sys.exit("profiles: %s" % exc)
