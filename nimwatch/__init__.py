"""nimwatch: follow AIX nimadm alternate disk migrations.

The package root imports nothing heavy: headless commands must never pull in
Textual. The pure engine lives in :mod:`nimwatch.core`.
"""

from __future__ import annotations

__version__ = "0.1.0"
