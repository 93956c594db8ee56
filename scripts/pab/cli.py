# Argument parsing for scripts/pyalloc: every scripts/pab/cmd_*.py module adds its subcommand.
# A module exposes register(subparsers) and sets a handler with parser.set_defaults(func=run).
import argparse
import importlib
import pkgutil
import signal
import sys

from . import __path__ as _pkg_path
from . import execute
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
    # SIGTERM and SIGHUP unwind like Ctrl-C from the first moment (a calibration or warm-up process is killed, a run
    # directory not yet begun is removed), and once the matrix runs execute.guarded finishes the run's meta.json
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, execute.on_term)
    try:
        args = build_parser().parse_args(argv)
        return args.func(args) or 0
    except execute.Terminated as e:
        print(f"pyalloc: interrupted ({signal.Signals(e.args[0]).name})", file=sys.stderr)
        return 128 + e.args[0]
    except UsageError as e:
        print(f"pyalloc: error: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("pyalloc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `pyalloc compare A B | head`: the reader has gone, and that is fine
        sys.stderr.close()
        return 0
