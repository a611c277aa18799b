"""Issue 10, item 1: frozen armv6m native code must be 4-byte aligned (umalloc_host.frozenalign).

MicroPython's mpy-tool.py emits `aligned (2)`; the armv6m long jump in py/asmthumb.c
assumes 4.  These tests use text shaped like mpy-tool's output and a stand-in nm;
test_qemu_board.py runs a frozen image built with the fix.
"""

import pytest

from umalloc_host import frozenalign
from umalloc_host.errors import UserError

SECTION = '__attribute__((section(".text,\\"ax\\",%progbits @ ")))'
FROZEN_C = (
    "static const byte fun_data_umalloc__core_free[166] %s __attribute__ ((aligned (2))) = {\n"
    "    0x01, 0x02,\n};\n"
    "static const byte fun_data_umalloc__core_malloc[258] %s __attribute__ ((aligned (2))) = {\n"
    "};\n"
    "static const byte fun_data_umalloc_arena__lt_module_gt_[40] = {\n"   # bytecode: untouched
    "};\n" % (SECTION, SECTION))


def test_fix_makes_every_native_function_4_aligned_and_leaves_bytecode():
    assert frozenalign.native_functions(FROZEN_C) == {"fun_data_umalloc__core_free": 2,
                                                      "fun_data_umalloc__core_malloc": 2}
    fixed, changed = frozenalign.fix_text(FROZEN_C)
    assert changed == 2
    assert set(frozenalign.native_functions(fixed).values()) == {4}
    assert "fun_data_umalloc_arena__lt_module_gt_[40] = {" in fixed
    assert frozenalign.fix_text(fixed) == (fixed, 0)           # idempotent


def _fake_nm(tmp_path, symbols):
    nm = tmp_path / "nm"
    nm.write_text("#!/bin/sh\ncat <<'END'\n%s\nEND\n" % "\n".join(
        "%08x T %s" % (addr, name) for name, addr in symbols.items()))
    nm.chmod(0o755)
    return str(nm)


def test_check_names_a_function_at_an_address_ending_in_2(tmp_path):
    (tmp_path / "frozen_content.c").write_text(FROZEN_C)
    (tmp_path / "firmware.elf").write_bytes(b"\x7fELF")
    nm = _fake_nm(tmp_path, {"fun_data_umalloc__core_free": 0x1D1DA,
                             "fun_data_umalloc__core_malloc": 0x1D1E0, "main": 0x101})
    with pytest.raises(UserError, match=r"1 frozen native functions are not 4-byte aligned .*"
                                        r"fun_data_umalloc__core_free at 0x1d1da.*fix"):
        frozenalign.check(tmp_path, nm=nm)
    nm = _fake_nm(tmp_path, {"fun_data_umalloc__core_free": 0x1D1DC,
                             "fun_data_umalloc__core_malloc": 0x1D1E0})
    assert frozenalign.check(tmp_path, nm=nm) == 2


def test_fix_on_a_build_folder_and_its_errors(tmp_path, capsys):
    with pytest.raises(UserError, match="build the firmware first"):
        frozenalign.fix(tmp_path)
    (tmp_path / "frozen_content.c").write_text(FROZEN_C)
    assert frozenalign.main(["fix", str(tmp_path)]) == 0
    assert "2 frozen native functions moved" in capsys.readouterr().out
    assert "aligned (2)" not in (tmp_path / "frozen_content.c").read_text()
    assert frozenalign.main(["nonsense"]) == 2
