"""Argument checks that run before any long work, so a bad path or size costs nothing.

Each failure is a UserError: one line that names the option and says what to do.
"""

import argparse
import os
from pathlib import Path

from umalloc.arena import MAX_ARENA

from .errors import UserError


def output_file(path, option):
    """Refuse an output path that cannot be written, before the work that fills it.

    The probe opens the file for appending (an existing file keeps every byte) and
    removes it again if it did not exist, so a read-only disk or a folder root cannot
    write to is caught as surely as a missing folder.
    """
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise UserError("%s %s is a folder: give a file name inside it" % (option, path))
    parent = p.parent
    if parent.exists() and not parent.is_dir():
        raise UserError("%s %s: %s is a file, not a folder: choose another path"
                        % (option, path, parent))
    if not parent.is_dir():
        raise UserError("%s %s: the folder %s does not exist: create it or choose another path"
                        % (option, path, parent))
    existed = p.exists()
    try:
        with open(p, "ab"):
            pass
    except OSError as exc:
        raise UserError("%s %s: cannot write there (%s): choose a path you can write to"
                        % (option, path, exc.strerror or exc)) from None
    if not existed:
        os.remove(p)


def write_text(path, text, option):
    """Write a whole output file; an OSError becomes the one-line message."""
    try:
        Path(path).write_text(text)
    except OSError as exc:
        raise UserError("%s %s: cannot write it (%s): choose a path you can write to"
                        % (option, path, exc.strerror or exc)) from None


def arena_size(n, option="--arena"):
    """An arena size umalloc can build: positive and below its 24-bit offset limit."""
    if n is None:
        return
    if n <= 0:
        raise UserError("%s must be a positive number of bytes, got %d" % (option, n))
    if n >= MAX_ARENA:
        raise UserError("%s %d is above umalloc's limit: an arena is at most %d bytes "
                        "(offsets are 24-bit, so below 16 MiB): give a smaller %s"
                        % (option, n, MAX_ARENA - 1, option))


def _bytes(text):
    """65536, 64k or 1m (any sign) as bytes; UserError for anything else."""
    t = str(text).strip().lower()
    mult = 1
    if t.endswith("k"):
        t, mult = t[:-1], 1024
    elif t.endswith("m"):
        t, mult = t[:-1], 1024 * 1024
    try:
        return int(t) * mult
    except ValueError:
        raise UserError("%r is not a size: write bytes like 65536, 64k or 1m" % text) from None


def parse_bytes(text):
    """65536, 64k or 1m as bytes; UserError for anything else or a size <= 0."""
    value = _bytes(text)
    if value <= 0:
        raise UserError("sizes must be positive, got %r" % text)
    return value


def size_option(text):
    """argparse type for a byte count option (--arena 64k): a refusal is argparse's one line.
    The range is the command's to check (its message names the limits)."""
    try:
        return _bytes(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
