"""Validation of the ``hooks:`` section of the config (placeholder until hooks land)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nimwatch.core.validation import Problems


def parse_section(value: Any, line: int, problems: Problems, path: Path) -> list[Any]:
    if not isinstance(value, list):
        problems.add(line, "hooks", "must be a list of hooks")
        return []
    return list(value)
