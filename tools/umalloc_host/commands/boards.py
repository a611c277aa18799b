"""`umalloc boards`: the board profiles in boards/*.json."""

import json

from .. import profiles
from ..notation import HEADING, partitions_text


def register(subparsers):
    p = subparsers.add_parser(
        "boards", help="list the board profiles (arena layout, mpy arch, USB ids, flasher)",
        description="List the board profiles in boards/*.json.  Pass a name to see one in full.")
    p.add_argument("name", nargs="?", help="show this profile as JSON (e.g. pico)")
    p.set_defaults(func=run)


def run(args):
    if args.name:
        print(json.dumps(profiles.load(args.name), indent=2))
        return 0
    rows = [("board", "mpy arch", "arena", HEADING, "policy", "USB ids", "flash")]
    for prof in profiles.all_profiles():
        arena = prof["arena"]
        rows.append((
            prof["name"], prof["mpy_arch"] if prof["mpy_arch"] != "host"
            else "host (%s)" % _host_arch(prof),
            "%d B" % arena["arena_size"],
            partitions_text(arena["partitions"], none="-"),
            arena["policy"], " ".join(prof["usb_ids"]) or "-", prof["flash"]["method"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    for prof in profiles.all_profiles():
        print("%-6s %s" % (prof["name"], prof["title"]))
    return 0


def _host_arch(prof):
    try:
        return profiles.mpy_arch(prof)
    except Exception:
        return "none: use --source"
