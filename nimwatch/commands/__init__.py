"""One module per subcommand: ``add_parser(subparsers)`` and ``run(args) -> int``.

Command modules import only what their parser needs at the top; heavy or
optional imports (Textual above all) happen inside ``run``.
"""

from __future__ import annotations
