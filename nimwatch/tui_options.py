"""The ``tui:`` section of the config: how the dashboard gets the admin's attention.

Owns :class:`TuiOptions` and :func:`parse_section` (validated like every other
section: file, line and key named, the nearest valid key suggested)::

    tui:
      bell: true      # ring the terminal bell when a migration fails or stalls (default true)
      title: true     # keep the terminal's title on the counts: "nimwatch: 2 failed, 5 running"

``nimwatch tui --no-bell`` turns the bell off for one session. Headless (no Textual).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nimwatch.core.validation import LineDict, Problems, type_name

TUI_KEYS = ("bell", "title")


@dataclass(frozen=True)
class TuiOptions:
    bell: bool = True
    """Ring the terminal bell when a migration fails or stalls during the session."""
    title: bool = True
    """Keep the terminal's title on the fleet's counts."""


def parse_section(value: Any, line: int, problems: Problems, path: Path) -> TuiOptions:
    """Validate ``tui:``."""
    if value is None:
        return TuiOptions()
    if not isinstance(value, LineDict):
        problems.add(line, "tui", f"must be a mapping (bell: true|false, title: true|false), not {type_name(value)}")
        return TuiOptions()
    problems.check_keys(value, TUI_KEYS, "tui.")
    found: dict[str, bool] = {}
    for key in TUI_KEYS:
        if key in value:
            if isinstance(value[key], bool):
                found[key] = value[key]
            else:
                problems.add(value.line_of(key), f"tui.{key}", "must be true or false")
    return TuiOptions(**found)
