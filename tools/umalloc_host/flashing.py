"""Putting MicroPython firmware on a board: esptool for the ESP32, UF2 copy for the Pico.

Both check the file is firmware for the board's chip *before* touching the
board, so a wrong download fails with a message instead of a bricked-looking board.
"""

import os
import platform
import struct
import subprocess
import sys
from pathlib import Path

from .errors import UserError

# --- ESP32: the ESP image header (esptool's bin_image format) -----------------
ESP_IMAGE_MAGIC = 0xE9
# chip_id field of the extended header -> esptool --chip name
ESP_CHIP_IDS = {0x0000: "esp32", 0x0002: "esp32s2", 0x0005: "esp32c3", 0x0009: "esp32s3",
                0x000C: "esp32c2", 0x000D: "esp32c6", 0x0010: "esp32h2", 0x0012: "esp32p4",
                0x0017: "esp32c5", 0x0014: "esp32c61"}

# --- Pico: UF2 blocks ----------------------------------------------------------
UF2_MAGIC_START0, UF2_MAGIC_START1, UF2_MAGIC_END = 0x0A324655, 0x9E5D5157, 0x0AB16F30
UF2_FLAG_FAMILY = 0x00002000
UF2_FAMILIES = {0xE48BFF56: "RP2040", 0xE48BFF57: "RP2350 (absolute)", 0xE48BFF58: "RP2350 data",
                0xE48BFF59: "RP2350 ARM", 0xE48BFF5A: "RP2350 RISC-V",
                0x1C5F21B0: "ESP32", 0xBFDD4EEE: "ESP32-S2", 0xC47E5767: "ESP32-S3",
                0xADA52840: "nRF52840", 0x68ED2B88: "SAMD21", 0x55114460: "SAMD51",
                0x57755A57: "STM32F4"}


def read_firmware(path):
    path = Path(path)
    if not path.is_file():
        raise UserError("firmware file %s not found; download one from the board's page "
                        "(see `umalloc boards NAME`, field firmware_url)" % path)
    data = path.read_bytes()
    if not data:
        raise UserError("firmware file %s is empty; download it again" % path)
    return data


def _kind(data):
    if len(data) >= 8 and struct.unpack_from("<II", data) == (UF2_MAGIC_START0, UF2_MAGIC_START1):
        return "a UF2 file (for a drag-and-drop board such as the Pico)"
    if data[:1] == bytes([ESP_IMAGE_MAGIC]):
        return "an ESP image"
    if data[:4] == b"\x7fELF":
        return "an ELF file (flash the .bin/.uf2 made from it, not the ELF)"
    return "not a firmware image"


def esp_image_chip(data, path="firmware"):
    """The esptool chip name in an ESP image's header (UserError when it is none)."""
    if len(data) < 24 or data[0] != ESP_IMAGE_MAGIC:
        raise UserError("%s is %s, not an ESP32 firmware image (it would start with byte 0xE9); "
                        "download the .bin for ESP32_GENERIC" % (path, _kind(data)))
    chip_id = struct.unpack_from("<H", data, 12)[0]
    return ESP_CHIP_IDS.get(chip_id, "unknown chip id 0x%04X" % chip_id)


def check_esp_image(data, chip, path="firmware"):
    found = esp_image_chip(data, path)
    if found != chip:
        raise UserError("%s is firmware for %s, but this board is an %s: download the %s build "
                        "(board page: https://micropython.org/download/?mcu=%s)"
                        % (path, found, chip, chip, chip))
    return found


def uf2_families(data, path="firmware"):
    """{family_id: block count} of a UF2 file (UserError when it is not a valid UF2)."""
    if len(data) % 512 or len(data) < 512:
        raise UserError("%s is %s, not a UF2 file (a whole number of 512-byte blocks); "
                        "download the .uf2 for RPI_PICO" % (path, _kind(data)))
    families = {}
    for off in range(0, len(data), 512):
        m0, m1, flags = struct.unpack_from("<III", data, off)
        end = struct.unpack_from("<I", data, off + 508)[0]
        if (m0, m1, end) != (UF2_MAGIC_START0, UF2_MAGIC_START1, UF2_MAGIC_END):
            raise UserError("%s is %s, not a UF2 file (bad block at byte %d); download the "
                            ".uf2 for RPI_PICO" % (path, _kind(data) if off == 0 else
                                                   "a damaged UF2 file", off))
        family = struct.unpack_from("<I", data, off + 28)[0] if flags & UF2_FLAG_FAMILY else None
        families[family] = families.get(family, 0) + 1
    return families


def check_uf2(data, family_id, path="firmware"):
    families = uf2_families(data, path)
    wanted = UF2_FAMILIES.get(family_id, "0x%08X" % family_id)
    if family_id not in families:
        found = ", ".join(UF2_FAMILIES.get(f, "0x%08X" % f) if f is not None else "no family id"
                          for f in families)
        raise UserError("%s is a UF2 for %s, not %s: the board would ignore it; download the "
                        "RPI_PICO build" % (path, found, wanted))
    return families


# --- the RPI-RP2 drive -------------------------------------------------------------

def _candidate_mounts(label):
    system = platform.system()
    if system == "Darwin":
        yield Path("/Volumes") / label
    elif system == "Windows":
        yield from _windows_drives(label)
    else:
        user = os.environ.get("USER", "")
        yield from (Path("/media") / user / label, Path("/run/media") / user / label,
                    Path("/media") / label, Path("/mnt") / label)
        # Any mount of the device that carries the label, wherever it is mounted.
        by_label = Path("/dev/disk/by-label") / label
        if by_label.exists():
            dev = os.path.realpath(by_label)
            try:
                for line in Path("/proc/mounts").read_text().splitlines():
                    fields = line.split()
                    if fields and os.path.realpath(fields[0]) == dev:
                        yield Path(fields[1].replace("\\040", " "))
            except OSError:
                pass


def _windows_drives(label):
    import ctypes
    import string
    buf = ctypes.create_unicode_buffer(261)
    for letter in string.ascii_uppercase:
        root = "%s:\\" % letter
        if ctypes.windll.kernel32.GetVolumeInformationW(root, buf, 261, None, None, None, None, 0):
            if buf.value == label:
                yield Path(root)


def find_uf2_drive(label):
    """The mounted BOOTSEL drive (it holds INFO_UF2.TXT), or None."""
    for mount in _candidate_mounts(label):
        if (mount / "INFO_UF2.TXT").is_file():
            return mount
    return None


def flash_uf2(path, profile, drive=None, progress=print):
    fl = profile["flash"]
    data = read_firmware(path)
    check_uf2(data, int(fl["uf2_family_id"], 16), path)
    label = fl.get("volume_label", "RPI-RP2")
    if drive:
        target = Path(drive)
        if not (target / "INFO_UF2.TXT").is_file():
            raise UserError("%s is not a UF2 boot drive (no INFO_UF2.TXT); %s" % (target, fl["how"]))
    else:
        target = find_uf2_drive(label)
        if target is None:
            raise UserError("no %s drive is mounted: %s, then run this again (or pass --drive "
                            "with its mount point)" % (label, fl["how"]))
    dest = target / Path(path).name
    progress("copying %s (%d bytes, %d UF2 blocks) to %s" % (path, len(data), len(data) // 512, dest))
    try:
        with open(dest, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        # The board reboots as soon as the last block lands; the drive may vanish under us.
        if (target / "INFO_UF2.TXT").exists():
            raise UserError("copy to %s failed (%s): press BOOTSEL again and retry" % (dest, exc))
    progress("done: the board reboots into MicroPython; next: umalloc deploy --port PORT --board %s"
             % profile["name"])


def flash_esp(path, profile, port, erase=False, baud=None, progress=print):
    fl = profile["flash"]
    data = read_firmware(path)
    check_esp_image(data, fl["chip"], path)
    if not port:
        raise UserError("no --port given: find the board with `umalloc devices`")
    if not os.path.exists(port) and "://" not in port:
        raise UserError("port %s does not exist; find the board with `umalloc devices`" % port)
    base = [sys.executable, "-m", "esptool", "--chip", fl["chip"], "--port", port,
            "--baud", str(baud or fl.get("baud", 460800))]
    steps = []
    if erase:
        steps.append(base + ["erase-flash"])
    steps.append(base + ["write-flash", "-z", fl["offset"], str(path)])
    for cmd in steps:
        progress("$ " + " ".join(cmd[2:]))
        done = subprocess.run(cmd)
        if done.returncode != 0:
            raise UserError("esptool failed (exit %d, its output is above): check the port, "
                            "hold BOOT while it connects, or lower --baud" % done.returncode)
    progress("done: next: umalloc deploy --port %s --board %s" % (port, profile["name"]))


def flash(path, board, port=None, erase=False, drive=None, baud=None, progress=print):
    from . import profiles
    profile = profiles.load(board)
    method = profile["flash"]["method"]
    if method == "esptool":
        return flash_esp(path, profile, port, erase, baud, progress)
    if method == "uf2":
        if erase:
            raise UserError("--erase is for esptool boards; a Pico is erased by flashing "
                            "flash_nuke.uf2 from the Raspberry Pi site")
        return flash_uf2(path, profile, drive, progress)
    raise UserError("board %s takes no firmware: %s" % (board, profile["flash"].get("how", "")))
