"""The `umalloc` command: finds subcommands in umalloc_host.commands."""

import argparse
import importlib
import os
import pkgutil
import sys

from . import commands
from .errors import UserError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="umalloc",
        description="Deploy, watch and measure the umalloc allocator on MicroPython boards "
        "(or on the virtual board when no --port is given).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args) or 0
        sys.stdout.flush()          # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        # `umalloc boards | head`: the reader has all it wants; end quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except UserError as exc:
        print(f"umalloc {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\numalloc %s: interrupted (Ctrl-C)" % args.command, file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
