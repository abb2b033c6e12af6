"""The ``nimwatch`` command line: parses arguments and dispatches to a command module.

Owns the subcommand registry and the one place where :class:`NimwatchError`
is caught: it is printed to stderr and turned into its exit code. Other
exceptions are bugs and propagate with their traceback. ``nimwatch`` with no
arguments opens the TUI on /var/adm/ras/alt_mig.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional

from nimwatch import __version__
from nimwatch.commands import DEFAULT_LOG_DIR
from nimwatch.errors import ExitCode, NimwatchError

COMMANDS = (
    "nimwatch.commands.report",
    "nimwatch.commands.watch",
    "nimwatch.commands.status",
    "nimwatch.commands.tui",
    "nimwatch.commands.replay",
    "nimwatch.commands.check_config",
    "nimwatch.commands.check_rules",
    "nimwatch.commands.anchors",
    "nimwatch.commands.fleet",
    "nimwatch.commands.preflight",
    "nimwatch.commands.run",
)
"""Command modules, in help order. Each has ``add_parser(subparsers)``."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nimwatch",
        description=(
            "Follow AIX nimadm alternate disk migrations: phases, failures with advice, alerts, hooks, reports."
        ),
        epilog="Exit codes: 0 ok, 1 a run failed, 2 usage/config/input error, 3 a run did not finish, "
        "4 damaged state journal, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"nimwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    parser.set_defaults(commands=set(sub.choices))
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args_list:
        if "tui" in parser.get_default("commands"):
            args_list = ["tui", DEFAULT_LOG_DIR]
        else:
            parser.print_help(sys.stderr)
            return ExitCode.USAGE
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except NimwatchError as exc:
        print(f"nimwatch: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # `nimwatch report ... | head`
        return ExitCode.OK
