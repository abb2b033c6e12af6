"""One module per subcommand: ``add_parser(subparsers)`` and ``run(args) -> int``.

Command modules import only what their parser needs at the top; heavy or
optional imports (Textual above all) happen inside ``run``. The pieces every
command shares live here.
"""

from __future__ import annotations

import argparse

from nimwatch.errors import ExitCode

DEFAULT_LOG_DIR = "/var/adm/ras/alt_mig"
"""Where nimadm writes ``<client>_alt_mig.log`` on the NIM master."""


def add_rules_option(p: argparse.ArgumentParser) -> None:
    """``--rules FILE`` (repeatable): the user's own failure signatures."""
    p.add_argument("--rules", action="append", default=[], metavar="FILE", help="your own signature file (repeatable)")


def exit_code_for(statuses: set[str]) -> ExitCode:
    """``report``'s, ``status``' and ``replay``'s exit status from the clients' statuses (each judged on its
    last migration): 1 when one failed, 3 when none failed but one did not finish, else 0."""
    if "failed" in statuses:
        return ExitCode.FAILED
    if statuses & {"incomplete", "running", "stalled"}:
        return ExitCode.INCOMPLETE
    return ExitCode.OK
