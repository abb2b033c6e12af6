"""Prometheus metrics: the ``metrics:`` config section (placeholder until metrics land)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nimwatch.core.validation import Problems


def parse_section(value: Any, line: int, problems: Problems, path: Path) -> Any:
    if not isinstance(value, dict):
        problems.add(line, "metrics", "must be a mapping (textfile: PATH, listen: HOST:PORT)")
        return None
    return value
