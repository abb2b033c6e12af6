"""A row-cursor ``DataTable`` that opens a row on one click, as the dashboard does.

Owns :class:`RowTable`, the table of the alerts and heatmap screens. Textual's
``DataTable`` only moves the cursor on a first click and selects on a second;
here a click on a row selects it at once (``RowSelected``), like Enter.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import DataTable


class RowTable(DataTable[Text]):
    """One click on a row opens it."""

    async def _on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        before = self.cursor_coordinate
        await super()._on_click(event)
        on_a_row = meta.get("row", -1) >= 0 and not meta.get("out_of_bounds", False)
        if on_a_row and self.cursor_coordinate != before:
            self.action_select_cursor()
