"""`umalloc flash`: firmware images are checked for the board's chip before anything is flashed."""

import struct

import pytest

from umalloc_host import flashing
from umalloc_host.cli import main


def esp_image(chip_id):
    """The first bytes of an ESP app/bootloader image: magic, segments, flash mode/size, entry,
    then the extended header whose bytes 12..13 name the chip."""
    header = bytes([0xE9, 3, 0x02, 0x20]) + struct.pack("<I", 0x40080000)
    extended = bytes([0xEE, 0, 0, 0]) + struct.pack("<H", chip_id) + bytes(10)
    return header + extended + bytes(4096)


def uf2(family, blocks=4):
    out = b""
    for i in range(blocks):
        out += (struct.pack("<8I", 0x0A324655, 0x9E5D5157, 0x2000, 0x10000000 + 256 * i, 256,
                            i, blocks, family) + bytes(476) + struct.pack("<I", 0x0AB16F30))
    return out


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, data in (("esp32.bin", esp_image(0x0000)), ("esp32s3.bin", esp_image(0x0009)),
                       ("esp32c3.bin", esp_image(0x0005)), ("pico.uf2", uf2(0xE48BFF56)),
                       ("pico2.uf2", uf2(0xE48BFF59)), ("esp32s3.uf2", uf2(0xC47E5767)),
                       ("junk.bin", b"PK\x03\x04 this is a zip" + bytes(600)),
                       ("cut.uf2", uf2(0xE48BFF56)[:700]), ("empty.bin", b"")):
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


def test_esp_header_names_the_chip(files):
    assert flashing.esp_image_chip(files["esp32.bin"].read_bytes()) == "esp32"
    assert flashing.esp_image_chip(files["esp32s3.bin"].read_bytes()) == "esp32s3"
    assert flashing.uf2_families(files["pico.uf2"].read_bytes()) == {0xE48BFF56: 4}


@pytest.mark.parametrize("name, complaint", [
    ("esp32s3.bin", "firmware for esp32s3, but this board is an esp32"),
    ("esp32c3.bin", "firmware for esp32c3"),
    ("pico.uf2", "is a UF2 file"),
    ("junk.bin", "not an ESP32 firmware image"),
    ("empty.bin", "is empty"),
])
def test_wrong_file_for_esp32_is_refused_before_esptool(files, name, complaint, capsys):
    assert main(["flash", "--board", "esp32", "--port", "/dev/ttyNOPE0", str(files[name])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and complaint in err


@pytest.mark.parametrize("name, complaint", [
    ("pico2.uf2", "UF2 for RP2350 ARM, not RP2040"),
    ("esp32s3.uf2", "UF2 for ESP32-S3, not RP2040"),
    ("esp32.bin", "not a UF2 file"),
    ("cut.uf2", "not a UF2 file"),
])
def test_wrong_file_for_pico_is_refused(files, name, complaint, tmp_path, capsys):
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\n")
    assert main(["flash", "--board", "pico", "--drive", str(drive), str(files[name])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and complaint in err
    assert sorted(p.name for p in drive.iterdir()) == ["INFO_UF2.TXT"]    # nothing copied


def test_pico_uf2_is_copied_to_the_boot_drive(files, tmp_path, capsys):
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\n")
    assert main(["flash", "--board", "pico", "--drive", str(drive), str(files["pico.uf2"])]) == 0
    assert (drive / "pico.uf2").read_bytes() == files["pico.uf2"].read_bytes()
    assert "umalloc deploy" in capsys.readouterr().out


def test_pico_without_boot_drive_says_press_bootsel(files, tmp_path, capsys):
    not_a_drive = tmp_path / "usb"
    not_a_drive.mkdir()
    assert main(["flash", "--board", "pico", "--drive", str(not_a_drive),
                 str(files["pico.uf2"])]) == 2
    assert "BOOTSEL" in capsys.readouterr().err


def test_esp32_needs_an_existing_port(files, capsys):
    assert main(["flash", "--board", "esp32", str(files["esp32.bin"])]) == 2
    assert "umalloc devices" in capsys.readouterr().err
    assert main(["flash", "--board", "esp32", "--port", "/dev/ttyNOPE0",
                 str(files["esp32.bin"])]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_missing_file_and_virtual_board(files, capsys):
    assert main(["flash", "--board", "pico", "/nonexistent/fw.uf2"]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["flash", "--board", "unix", str(files["pico.uf2"])]) == 2
    assert "takes no firmware" in capsys.readouterr().err


def test_esptool_failure_is_one_line_with_what_to_do(files, capsys):
    """A port whose device is not an ESP32 bootloader: esptool runs and fails, we say what next."""
    from _fakeports import GarbagePort
    with GarbagePort() as dev:
        assert main(["flash", "--board", "esp32", "--port", dev.port,
                     str(files["esp32.bin"])]) == 2
    assert "esptool failed" in capsys.readouterr().err
    assert dev.received                       # esptool really talked to the port
