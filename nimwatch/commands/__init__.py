"""One module per subcommand: ``add_parser(subparsers)`` and ``run(args) -> int``.

Command modules import only what their parser needs at the top; heavy or
optional imports (Textual above all) happen inside ``run``. The pieces every
command shares live here.
"""

from __future__ import annotations

import argparse

DEFAULT_LOG_DIR = "/var/adm/ras/alt_mig"
"""Where nimadm writes ``<client>_alt_mig.log`` on the NIM master."""


def add_rules_option(p: argparse.ArgumentParser) -> None:
    """``--rules FILE`` (repeatable): the user's own failure signatures."""
    p.add_argument("--rules", action="append", default=[], metavar="FILE", help="your own signature file (repeatable)")
