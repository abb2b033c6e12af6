"""Validation of the ``alerts:`` section of the config (placeholder until the sinks land)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nimwatch.core.validation import Problems


def parse_section(value: Any, line: int, problems: Problems, path: Path) -> list[Any]:
    if not isinstance(value, list):
        problems.add(line, "alerts", "must be a list of sinks")
        return []
    return list(value)
