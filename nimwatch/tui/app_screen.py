"""The base of the screens the app redraws: when it may redraw one, and the way back.

Owns :class:`AppScreen`, the base of the dashboard, heatmap, alerts, fleet and client detail
screens (the help and the prompts are modal screens that the app never redraws).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, TypeVar

from textual.screen import Screen

from nimwatch.tui.row_table import RowTable

T = TypeVar("T")


class AppScreen(Screen[None]):
    """A screen the app redraws once it is composed; ``action_back`` leaves it."""

    def __init__(self, id: str) -> None:
        super().__init__(id=id)
        self.ready = False
        """Composed: the app may refresh it."""

    @property
    def showing(self) -> bool:
        """Ready and running, and not being dismissed (a screen being dismissed loses its children first)."""
        return self.ready and self.is_running and not self._closing

    def refresh_state(self, dirty: set[str], full: bool = False) -> None:
        """Redraw from the engine state (the fleet screen's state comes from Prometheus: nothing to do)."""

    def at_cursor(self, lines: Sequence[T]) -> Optional[T]:
        """What the line under the cursor of the screen's :class:`RowTable` stands for."""
        row = self.query_one(RowTable).cursor_row
        return lines[row] if 0 <= row < len(lines) else None

    def action_back(self) -> None:
        self.ready = False
        self.dismiss()
