"""``python -m nimwatch``: the same entry point as the ``nimwatch`` script."""

from __future__ import annotations

from nimwatch.cli import main

raise SystemExit(main())
