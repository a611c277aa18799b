"""The `umalloc` command: finds subcommands in umalloc_host.commands."""

import argparse
import importlib
import os
import pkgutil
import sys

from . import commands
from .errors import UserError


class HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrap to the terminal; an epilog written on several lines (the examples,
    one command a line) keeps its lines."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return "\n".join(indent + line for line in text.splitlines())
        return super()._fill_text(text, width, indent)


class Parser(argparse.ArgumentParser):
    """A usage error is one line: what is wrong, and where the help is."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, "%s: %s (see `%s --help`)\n" % (self.prog, message, self.prog))


def build_parser():
    parser = Parser(
        prog="umalloc",
        description="Deploy, watch and measure the umalloc allocator on MicroPython boards "
        "(or on the virtual board when no --port is given).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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
