"""Refuse armv6m native code that does not start on a 4-byte boundary.

Why: MicroPython's mpy-tool freezes Thumb native code with `aligned(2)`, but on
ARMv6-M py/asmthumb.c loads every 32-bit constant (the seals' MAGIC and PD_KEY,
FREE_BAD, ...) and every long jump's offset with `ldr rX, [pc, #0]`, padding
worked out as if the function started 4-aligned.  Frozen at an address ending
in 2 the code reads the wrong word: put() reports a damaged descriptor, free()
returns a nonsense error code (ERR_MEM_-61440), or a long jump lands in garbage.
firmware/Makefile builds with the fix (umalloc_host/frozenalign.py); a firmware
built another way is refused here, at import, before it can misbehave.
.mpy code is loaded into 4-aligned RAM and always passes.

_coreviper, _corecold and _corepart call refuse() only for frozen code on an armv6m build
(sys.implementation._mpy).
"""

import micropython
import sys

_WORD = 8 if sys.maxsize > 0xFFFFFFFF else 4   # bytes in an object's word (the unix port: 8)
# py/objfun.h: a viper function object is {type, context, child_table, code, ...};
# py/objclosure.c: a closure is {type, fun, n_closed, closed...}.
_CODE_WORD = 3
_CLOSURE_FUN_WORD = 1


@micropython.viper
def _u32(addr: int) -> int:
    return ptr32(addr)[0]


def _word(addr, i):
    """Word i of the object at addr."""
    at = addr + i * _WORD
    w = _u32(at) & 0xFFFFFFFF
    if _WORD == 8:
        w |= (_u32(at + 4) & 0xFFFFFFFF) << 32
    return w


def _closure():
    x = 0

    def inner():
        return x
    return inner


def code_address(f, closure_type=type(_closure())):
    """Address of the machine code of a native function, or of a closure over one."""
    a = id(f)
    if type(f) is closure_type:
        a = _word(a, _CLOSURE_FUN_WORD)
    return _word(a, _CODE_WORD)


def misaligned(funcs):
    """Code addresses of the native functions in funcs that do not start 4-aligned."""
    return [a for a in (code_address(f) for f in funcs) if a & 3]


def check(funcs, where="umalloc"):
    """ImportError (one line, what to do) if any of funcs would misread its constants."""
    bad = misaligned(funcs)
    if bad:
        raise ImportError("%s: %d frozen native functions start 2-byte aligned (first at 0x%x), "
                          "which armv6m misruns: build the firmware with `make -C firmware rp2|qemu` "
                          "(python -m umalloc_host.frozenalign fix) or deploy the .mpy files"
                          % (where, len(bad), bad[0]))


def refuse(names, closures):
    """check() the viper functions among a module's names, and closures (armv6m, frozen),
    then leave no RAM for this module (import umalloc <= 4 KB frozen)."""
    try:                             # _u32's type: every viper function's
        check([f for f in names.values() if type(f) is type(_u32)] + list(closures), names["__name__"])
    finally:                         # used once
        del sys.modules[__name__]
        package = sys.modules.get(__name__.rpartition(".")[0])
        try:                         # (not dir(package): on MicroPython that asks the
            delattr(package, "_codealign")   # package's __getattr__ for every name)
        except AttributeError:
            pass
