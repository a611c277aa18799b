"""Fallback for firmware built without the native emitter (no @micropython.viper).

The very source of _core.py is compiled again as plain Python, with ptr32 /
ptr8 standing for the arena itself and the arena's words read through Words.
It is several times slower and, because bitmap words can reach 2**31, not
safe under heap_lock() on a 32-bit port: deploy the .mpy files built by
mpy-cross (`umalloc deploy`), or freeze the package, to get the viper core.
"""

import sys

from ._shim import int_checked


class Words:
    """32-bit little-endian words over a bytearray, for the portable core."""

    def __init__(self, buf, off=0):
        self.buf = buf
        self.off = off        # in bytes: _corepart's ptr32(uint(a) + bytes) is Words + bytes

    def __add__(self, nbytes):
        return Words(self.buf, self.off + nbytes)

    def __getitem__(self, i):
        b = self.buf
        j = self.off + (i << 2)
        return b[j] | (b[j + 1] << 8) | (b[j + 2] << 16) | (b[j + 3] << 24)

    def __setitem__(self, i, v):
        b = self.buf
        j = self.off + (i << 2)
        b[j] = v & 0xFF
        b[j + 1] = (v >> 8) & 0xFF
        b[j + 2] = (v >> 16) & 0xFF
        b[j + 3] = (v >> 24) & 0xFF


def _same(x):
    return x


class _Module:
    pass


def install():
    """Build umalloc._core (with _coreviper's, _corecold's and _corepart's code) from source without viper."""
    folder = __file__.rsplit("/", 1)[0]
    with open(folder + "/_core.py") as f:
        lines = list(f)
    seen = set()
    for name in ("_coreviper", "_corecold", "_corepart"):
        with open(folder + "/%s.py" % name) as f:   # one namespace: without their import of _core
            for line in f:   # and with the first copy only of the format's constants (_core's
                # own are hidden, _NAME; a second const() of one name is a SyntaxError)
                if line.startswith("from ._core import"):
                    continue
                if " = const(" in line:
                    const_name = line.split("=", 1)[0].strip()
                    if const_name in seen:
                        continue
                    seen.add(const_name)
                lines.append(line)
    for k in range(len(lines)):
        code = lines[k].lstrip()
        if code.startswith("@micropython."):
            # viper converts the arguments annotated `int`: check those same ones
            params = lines[k + 1].split("(", 1)[1].split(")", 1)[0].split(",")
            ints = [i for i in range(len(params)) if params[i].strip().endswith(": int")]
            indent = lines[k][:len(lines[k]) - len(code)]
            lines[k] = "%s@_ints(%r)\n" % (indent, tuple(ints))
    namespace = {"__name__": "umalloc._core", "_NO_CCORE": True, "ptr32": _same, "ptr8": _same, "uint": _same,
                 "_ints": lambda positions: lambda fn: int_checked(fn, positions)}
    exec("".join(lines), namespace)
    namespace["PORTABLE"] = True      # what the module's own functions see
    module = _Module()
    for name, value in namespace.items():
        setattr(module, name, value)
    module.PORTABLE = True
    module.Words = Words
    sys.modules["umalloc._core"] = module
    sys.modules["umalloc._corepart"] = module     # bind_partition is in the same namespace
    sys.modules["umalloc._coreviper"] = module
    return module
