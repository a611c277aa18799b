# umalloc._codealign: the import-time refusal of frozen armv6m native code that is not
# 4-byte aligned (MicroPython's mpy-tool freezes Thumb code aligned(2)).  The image that
# really has such code is built in serial/test_qemu_board.py; here the address reading
# and the refusal itself, on every VM with viper (CPython has no native code: nothing to read).
from _check import on_micropython, raises


def _viper_core():
    if not on_micropython():
        return None
    from umalloc import _core
    if _core.PORTABLE:
        return None
    return _core


def test_code_address_reads_the_code_of_functions_and_closures():
    core = _viper_core()
    if core is None:
        return
    from umalloc import _codealign, _coreviper
    core = _coreviper                  # ld/st: viper here, even where _core binds the C core's
    malloc1, free1 = _coreviper._heap_closures(0, None, None)   # the viper core's, even beside C
    malloc2, free2 = _coreviper._heap_closures(0, None, None)
    at = _codealign.code_address
    assert at(malloc1) == at(malloc2) and at(free1) == at(free2)   # two closures, one code
    assert at(malloc1) != at(free1) and at(core.ld) != at(core.st)
    assert at(core.ld) not in (id(core.ld), 0)                       # the code, not the object


def test_the_native_code_here_is_4_aligned():
    core = _viper_core()
    if core is None:
        return
    from umalloc import _codealign, _corepart, _coreviper
    funcs = [_coreviper.ld, _coreviper.st, _coreviper._free_block, _coreviper._address] \
        + list(_coreviper._heap_closures(0, None, None)) \
        + list(_corepart.bind_partition(0, None, 25))     # 25: H_PARTS, the first descriptor
    assert _codealign.misaligned(funcs) == []
    _codealign.check(funcs)                                          # no error


def test_2_aligned_code_is_refused_with_one_line_that_says_what_to_do():
    core = _viper_core()
    if core is None:
        return
    from umalloc import _codealign, _coreviper
    core = _coreviper
    real = _codealign.code_address
    try:
        _codealign.code_address = lambda f: 0x10002 if f is core.st else real(f)
        assert _codealign.misaligned([core.ld, core.st]) == [0x10002]
        err = raises(ImportError, _codealign.check, [core.ld, core.st], "umalloc._core")
    finally:
        _codealign.code_address = real
    msg = str(err)
    assert msg.startswith("umalloc._core: 1 frozen native functions start 2-byte aligned (first at 0x10002)")
    assert "make -C firmware" in msg and "\n" not in msg
