"""``nimwatch check-config``: every problem of a config file at once, for humans and CI.

stdout is data: one problem per line (``file:line: key: message (did you
mean 'x'?)``) or ``FILE: OK``. Exit status 0 when the file is clean, 2 when it
has problems (the watcher would refuse to start on it). With no FILE the
config nimwatch would use is checked (``NIMWATCH_CONFIG``, then the system and
user files).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nimwatch.errors import ExitCode, UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check-config",
        help="validate a config file and list all its problems",
        description="Validate a nimwatch config file (alerts, hooks, metrics, ...): every problem is listed "
        "with its file, line, key and the nearest valid name. Exit 0 when clean, 2 with problems.",
    )
    p.add_argument(
        "path",
        nargs="?",
        metavar="FILE",
        help="the config file (default: $NIMWATCH_CONFIG, then /etc/nimwatch/nimwatch.yaml or the user's)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nimwatch.config import check_config, default_config_path

    path = Path(args.path) if args.path else default_config_path()
    if path is None:
        raise UsageError("no config file found: give FILE, or set NIMWATCH_CONFIG")
    problems = check_config(path)
    from nimwatch.terminal import write

    if not problems:
        write(f"{path}: OK\n")
        return ExitCode.OK
    write("".join(problem + "\n" for problem in problems))
    return ExitCode.USAGE
