# Argument parsing for scripts/pyalloc: every scripts/pab/cmd_*.py module adds its subcommand.
# A module exposes register(subparsers) and sets a handler with parser.set_defaults(func=run).
import argparse
import importlib
import pkgutil
import sys

from . import __path__ as _pkg_path
from .errors import UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2: never argparse's usage dump on bad input
        raise UsageError(message)


def build_parser():
    p = _Parser(prog="pyalloc", description="Which malloc should this process use, and what does it cost?")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for m in sorted(i.name for i in pkgutil.iter_modules(_pkg_path) if i.name.startswith("cmd_")):
        importlib.import_module(f"{__package__}.{m}").register(sub)
    return p


def main(argv):
    try:
        args = build_parser().parse_args(argv)
        return args.func(args) or 0
    except UsageError as e:
        print(f"pyalloc: error: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("pyalloc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `pyalloc compare A B | head`: the reader has gone, and that is fine
        sys.stderr.close()
        return 0
