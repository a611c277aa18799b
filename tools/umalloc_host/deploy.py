"""Copy the umalloc package onto a MicroPython board: `:lib/umalloc/` (+ `:lib/umalloc_board.py`).

    deploy(port, board="unix", mode="mpy", use_ampy=False, progress=print) -> dict

Files go to `lib/umalloc.new/` first and are swapped in by two renames at the
end, so a port that vanishes mid-copy leaves the previous install working and
a partial copy under a name the message tells the user about.  `import
umalloc` on the device (plus a tiny Arena round trip) verifies the result.
"""

import time

from . import FIRMWARE_DIR, LIB_DIR, REPO_ROOT
from . import devlink, mpybuild, profiles
from .devlink import DeviceError, LinkLost
from .errors import UserError

REMOTE_DIR = "lib/umalloc"
STAGING_DIR = REMOTE_DIR + ".new"
OLD_DIR = REMOTE_DIR + ".old"
CONFIG_PATH = "lib/umalloc_board.py"
APP_FILES = ("boot.py", "main.py")

_PROBE = ("import sys\nprint(repr((sys.platform, sys.implementation.name,"
          " getattr(sys.implementation, '_mpy', 0), sys.version)))")

# Drop cached modules so the verification imports what was just written.
_VERIFY = """import sys
for _k in list(sys.modules):
    if _k == 'umalloc' or _k.startswith('umalloc.') or _k == 'umalloc_board':
        del sys.modules[_k]
import gc
gc.collect()
import umalloc
_a = umalloc.Arena(2048, partitions=((16, 4),))
_p = _a.malloc(100)
_a.free(_p)
_a.check()
print(repr((umalloc.__version__, getattr(umalloc, '__file__', '(frozen)'))))
del _a, _p
gc.collect()
"""


def local_files(profile, mode, progress=print):
    """[(local Path, remote name)] for the package in `mode` ('mpy' or 'py'), with the C
    core's native module for the board's arch where there is one (lib/umalloc/native)."""
    if mode == "py":
        return [(p, p.name) for p in mpybuild.sources()] + native_files(profile)
    if mode != "mpy":
        raise UserError("mode must be 'mpy' or 'py', not %r" % (mode,))
    arch = profiles.mpy_arch(profile)
    if progress:
        progress("building .mpy for %s (mpy-cross -march=%s)" % (profile["name"], arch))
    return [(p, p.name) for p in mpybuild.build(arch, progress=progress)] + native_files(profile)


def native_files(profile):
    """[(the C core's _umcore.mpy for the board's arch, its remote name)], or [] (viper core)."""
    try:
        arch = profiles.mpy_arch(profile)
    except UserError:
        return []
    name = "native/%s/_umcore.mpy" % arch
    path = LIB_DIR / "umalloc" / name
    return [(path, name)] if path.is_file() else []


def mpy_header(paths):
    """(mpy version, sub-version, native arch name or None) of built .mpy files.

    Only files with native code carry the arch and sub-version (and only they
    need the device to match them exactly).
    """
    version = sub = 0
    arch = None
    for path in paths:
        head = path.read_bytes()[:3]
        version = head[1]
        index = head[2] >> 2
        if index:
            sub = head[2] & 3
            arch = profiles.MPY_ARCHS[index] if index < len(profiles.MPY_ARCHS) else "?"
    return version, sub, arch


def check_device(link, profile, mode, mpy_files=()):
    """Refuse early (before writing anything) when the device cannot load what we'd copy."""
    platform, impl, tag, version = _probe(link)
    if impl != "micropython":
        raise UserError("the device runs %s, not MicroPython: flash MicroPython first "
                        "(`umalloc flash --help`)" % impl)
    if mode == "mpy" and mpy_files:
        mpy_version, mpy_sub, built_arch = mpy_header(mpy_files)
        dev_arch = profiles.arch_from_mpy_tag(tag)
        if built_arch and not profiles.loads_on(built_arch, dev_arch):
            hint = [n for n in profiles.names()
                    if profiles.loads_on(profiles.mpy_arch(profiles.load(n)), dev_arch)
                    ] if dev_arch else []
            raise UserError(
                "the board (%s) runs %s code, which cannot load --board %s's %s code: %s"
                % (platform, dev_arch or "no native", profile["name"], built_arch,
                   "pass --board %s" % hint[0] if hint else "deploy with --source"))
        if (tag & 0xFF) != mpy_version or (built_arch and ((tag >> 8) & 3) != mpy_sub):
            raise UserError(
                "the board's MicroPython (%s) loads .mpy v%d.%d, mpy-cross makes v%d.%d: update "
                "the firmware to the mpy-cross release, or deploy with --source"
                % (version, tag & 0xFF, (tag >> 8) & 3, mpy_version, mpy_sub))
    return {"platform": platform, "version": version, "mpy_tag": tag}


def _probe(link):
    """(sys.platform, implementation, _mpy tag, sys.version) of the device."""
    lines = link.exec(_PROBE).strip().splitlines()
    return devlink.ast.literal_eval(lines[-1].strip() if lines else "")


def detect_board(link):
    """The profile name that matches the connected device.

    By sys.platform first (rp2 -> pico, qemu -> qemu), else the profile whose
    .mpy code the device loads: its own arch, or for a Thumb board (an STM32
    reports armv7emsp) an older Thumb arch, as MicroPython itself allows.
    """
    platform, _impl, tag, _version = _probe(link)
    arch = profiles.arch_from_mpy_tag(tag)
    for name in profiles.names():
        prof = profiles.load(name)
        port = {"unix": "linux"}.get(prof["micropython_port"], prof["micropython_port"])
        if port == platform:
            return name
    loadable = [name for name in profiles.names()
                if profiles.load(name)["mpy_arch"] != "host"
                and profiles.loads_on(profiles.load(name)["mpy_arch"], arch)]
    exact = [name for name in loadable if profiles.load(name)["mpy_arch"] == arch]
    if arch and (exact or loadable):
        return (exact or loadable)[0]
    raise UserError("cannot tell which board this is (sys.platform %r, native arch %s): pass "
                    "--board (see `umalloc boards`)" % (platform, arch or "none"))


# Is umalloc frozen into the firmware, and found before :lib?  (Then a copy in
# :lib would never be imported.)  Looks in '.frozen' alone, then puts sys.path back.
_FROZEN_PROBE = """import sys
def _drop():
    for _k in list(sys.modules):
        if _k == 'umalloc' or _k.startswith('umalloc.'):
            del sys.modules[_k]
_drop()
_p = sys.path[:]
sys.path[:] = ['.frozen']
try:
    import umalloc as _u
    _v = getattr(_u, '__version__', '?')
except ImportError:
    _v = None
try:
    import umalloc_board
    del sys.modules['umalloc_board']
    _c = True
except ImportError:
    _c = False
sys.path[:] = _p
_drop()
_lib = [i for i, d in enumerate(_p) if d in ('lib', '/lib')]
_fz = _p.index('.frozen') if '.frozen' in _p else None
_first = _fz is not None and (not _lib or _fz < _lib[0])
print(repr((_v if _v is not None and _first else None, _c and _first)))
del _p, _v, _c, _lib, _fz, _first, _drop
"""


def frozen_state(link):
    """(umalloc's version or None, config frozen too) for what the firmware has frozen in
    ahead of :lib on sys.path."""
    try:
        version, config = devlink.ast.literal_eval(link.exec(_FROZEN_PROBE).strip().splitlines()[-1])
    except (DeviceError, ValueError, SyntaxError, IndexError, TypeError):
        return None, False
    return version, bool(config)


def deploy(port, board="unix", mode="mpy", use_ampy=False, progress=print, baud=None,
           with_app=False, link=None):
    """Build (for mode 'mpy'), copy, swap in and verify; returns a summary dict.

    `link` reuses an open devlink connection (the demo does); otherwise one is
    opened on `port` and closed again.
    """
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    profile = profiles.load(board) if board else None
    own_link = link is None
    if own_link:   # before building: a wrong port should fail in a second, not after mpy-cross
        link = devlink.open_link(port, baud or (profile or {}).get("baud", 115200), use_ampy)
    try:
        # Like mpremote: start from a soft reset, so a running program (a Reporter's
        # timer printing frames, say) cannot mix its output into the file transfer.
        link.reset()
        if profile is None:
            profile = profiles.load(detect_board(link))
            say("board: %s (detected; pass --board to choose)" % profile["name"])
        frozen, config_frozen = frozen_state(link)
        if frozen is not None:
            # Nothing to copy: the firmware's umalloc would shadow it anyway.
            files, info = [], check_device(link, profile, mode)
            say("umalloc %s is frozen into this firmware: not copying the package (it would "
                "never be imported); writing only the board config%s"
                % (frozen, " and the app" if with_app else ""))
            if config_frozen:
                say("note: the firmware also has umalloc_board.py frozen in, and boot.py uses "
                    "that arena layout; rebuild the firmware to change it")
        else:
            files = local_files(profile, mode, progress)
            info = check_device(link, profile, mode, [f for f, _ in files] if mode == "mpy" else ())
        info["board"] = profile["name"]
        say("device: %s (sys.platform %s), via %s on %s"
            % (info["version"].split("; ")[-1], info["platform"], link.name, port))
        if frozen is not None:
            total = _copy_config(link, profile, say)
        else:
            total = _copy(link, files, profile, say)
        if with_app:
            _copy_app(link, say)
        umalloc_version, where = _verify(link, mode, frozen=frozen is not None)
    finally:
        if own_link:
            link.close()
    seconds = time.monotonic() - started
    say("verified: `import umalloc` -> version %s from %s; Arena malloc/free/check ok"
        % (umalloc_version, where))
    say("deployed %d files, %d bytes to :%s in %.1f s" % (
        len(files) + 1, total, REMOTE_DIR if files else CONFIG_PATH, seconds))
    return {"files": len(files) + 1, "bytes": total, "seconds": seconds, "file": where,
            "version": umalloc_version, "device": info}


def _copy(link, files, profile, say):
    total = 0
    stage = "copying"
    try:
        devlink.remove_tree(link, STAGING_DIR)
        devlink.mkdirs(link, STAGING_DIR)
        for i, (src, name) in enumerate(files, 1):
            if "/" in name:                  # native/<arch>/_umcore.mpy
                devlink.mkdirs(link, STAGING_DIR + "/" + name.rsplit("/", 1)[0])
            data = src.read_bytes()
            devlink.write_file(link, STAGING_DIR + "/" + name, data)
            total += len(data)
            say("  [%d/%d] %-16s %6d bytes -> :%s/%s" % (i, len(files), name, len(data),
                                                      STAGING_DIR, name))
        config = profiles.config_module(profile).encode()
        devlink.write_file(link, CONFIG_PATH + ".new", config)
        total += len(config)
        stage = "swapping"
        # Two renames: the old tree is out of the way before the new one takes its name.
        devlink.remove_tree(link, OLD_DIR)
        if devlink.exists(link, REMOTE_DIR):
            devlink.rename(link, REMOTE_DIR, OLD_DIR)
        devlink.rename(link, STAGING_DIR, REMOTE_DIR)
        devlink.remove_tree(link, OLD_DIR)
        devlink.remove_tree(link, CONFIG_PATH)
        devlink.rename(link, CONFIG_PATH + ".new", CONFIG_PATH)
    except LinkLost as exc:
        if stage == "copying":
            where = ("the board keeps its previous :%s untouched; a partial copy is left in :%s "
                     "(the next deploy replaces it)" % (REMOTE_DIR, STAGING_DIR))
        else:
            where = ("it happened while swapping folders: :%s may be missing or in :%s; "
                     "run `umalloc deploy` again" % (REMOTE_DIR, OLD_DIR))
        raise LinkLost("%s; %s" % (exc, where)) from None
    except DeviceError as exc:
        if "ENOSPC" in exc.traceback or "28" in exc.traceback.splitlines()[-1]:
            raise UserError("the board's filesystem is full: delete files (mpremote fs ls / rm) "
                            "and deploy again; a partial copy is in :%s" % STAGING_DIR) from None
        raise
    _say_config(profile, say)
    return total


def _copy_config(link, profile, say):
    """Only :lib/umalloc_board.py (frozen firmware): what boot.py reads."""
    config = profiles.config_module(profile).encode()
    devlink.mkdirs(link, "lib")
    devlink.write_file(link, CONFIG_PATH + ".new", config)
    devlink.remove_tree(link, CONFIG_PATH)
    devlink.rename(link, CONFIG_PATH + ".new", CONFIG_PATH)
    _say_config(profile, say)
    return len(config)


def _say_config(profile, say):
    say("  config                        -> :%s (arena %d bytes, %d partitions, policy %s)" % (
        CONFIG_PATH, profile["arena"]["arena_size"], len(profile["arena"]["partitions"]),
        profile["arena"]["policy"]))


def _copy_app(link, say):
    """firmware/boot.py and main.py to the device root: the arena is reserved at every boot."""
    for name in APP_FILES:
        data = (FIRMWARE_DIR / name).read_bytes()
        devlink.write_file(link, name + ".new", data)
        devlink.remove_tree(link, name)
        devlink.rename(link, name + ".new", name)
        say("  app    %-16s %6d bytes -> :%s" % (name, len(data), name))


def _verify(link, mode, frozen=False):
    try:
        out = link.exec(_VERIFY).strip().splitlines()
        version, where = devlink.ast.literal_eval(out[-1])
    except DeviceError as exc:
        last = exc.traceback.splitlines()[-1]
        if "MemoryError" in last:
            raise UserError("copied, but the board ran out of RAM importing umalloc (%s): deploy "
                            ".mpy (no --source), or make arena_size in boards/<board>.json "
                            "smaller" % last) from None
        raise UserError("copied, but `import umalloc` failed on the device (%s); check that "
                        "lib is on the board's sys.path" % last) from None
    if frozen:
        return version, "%s (frozen)" % where
    ext = ".mpy" if mode == "mpy" else ".py"
    if REMOTE_DIR + "/" not in str(where) or not str(where).endswith(ext):
        raise UserError("copied, but the device imports umalloc from %s, not the new :%s/*%s "
                        "(a frozen or older copy earlier on sys.path shadows it)"
                        % (where, REMOTE_DIR, ext))
    return version, where


def relative(path):
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
