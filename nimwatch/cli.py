"""The ``nimwatch`` command line: parses arguments and dispatches to a command module.

Owns the subcommand registry and the one place where :class:`NimwatchError`
is caught: it is printed to stderr and turned into its exit code. Other
exceptions are bugs and propagate with their traceback. ``nimwatch`` with no
arguments opens the TUI on /var/adm/ras/alt_mig; where the TUI cannot draw
(no terminal, a VT100), it says why and prints the help instead. The diagnostics options
(``--log-level``, ``--log-format``, ``--log-file`` ...) are global: they are
accepted before the command and after it, and set up :mod:`nimwatch.logsetup`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Optional

from nimwatch import __version__, logsetup
from nimwatch.commands import DEFAULT_LOG_DIR
from nimwatch.errors import ExitCode, NimwatchError

COMMANDS = (
    "nimwatch.commands.report",
    "nimwatch.commands.watch",
    "nimwatch.commands.status",
    "nimwatch.commands.tui",
    "nimwatch.commands.replay",
    "nimwatch.commands.history",
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
    add_log_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    for command_parser in sub.choices.values():
        add_log_options(command_parser, defaults=False)
    return parser


def add_log_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The global diagnostics options; a command's copy keeps the value given before the command."""

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    group = parser.add_argument_group("diagnostics (global options, before or after the command)")
    group.add_argument(
        "--log-level",
        choices=logsetup.LEVELS,
        default=default(logsetup.DEFAULT_LEVEL),
        help=f"least severe diagnostics shown (default {logsetup.DEFAULT_LEVEL})",
    )
    group.add_argument(
        "--log-format",
        choices=logsetup.FORMATS,
        default=default("text"),
        help="text: TIMESTAMP LEVEL nimwatch: message; json: one object per line (default text)",
    )
    group.add_argument(
        "--log-file",
        metavar="FILE",
        default=default(None),
        help="write diagnostics to FILE instead of stderr, rotated by size",
    )
    group.add_argument(
        "--log-max-size",
        metavar="SIZE",
        default=default(logsetup.DEFAULT_MAX_SIZE),
        help=f"rotate --log-file at SIZE (K, M, G suffixes; default {logsetup.DEFAULT_MAX_SIZE})",
    )
    group.add_argument(
        "--log-backups",
        type=int,
        metavar="N",
        default=default(logsetup.DEFAULT_BACKUPS),
        help=f"rotated files kept: FILE.1 ... FILE.N (default {logsetup.DEFAULT_BACKUPS})",
    )


def main(argv: Optional[list[str]] = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args_list:
        from nimwatch.termcheck import tui_problem

        problem = tui_problem()
        if problem is not None:  # a script, a pipe, a dumb terminal: say why, and what else there is
            print(f"nimwatch: {problem}\n", file=sys.stderr)
            parser.print_help(sys.stderr)
            return ExitCode.USAGE
        args_list = ["tui", DEFAULT_LOG_DIR]
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        logsetup.configure(args.log_level, args.log_format, args.log_file, args.log_max_size, args.log_backups)
        logging.getLogger("nimwatch.cli").debug(
            "nimwatch %s on Python %s: %s", __version__, sys.version.split()[0], " ".join(args_list)
        )
        return int(args.func(args))
    except NimwatchError as exc:
        from nimwatch.terminal import say

        say(str(exc), sys.stderr)
        if logsetup.logging_to_file():  # a service's log file tells why it stopped, too
            logging.getLogger("nimwatch.cli").error("%s", exc)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # `nimwatch report ... | head`
        return ExitCode.OK
