"""The dashboard's table: one row per client, updated in place.

Owns :class:`ClientTable`, a :class:`~textual.widgets.DataTable` that shows
:class:`~nimwatch.views.status_table.ClientRow` values. Columns adapt to the
width (the last line and the ETA go first on a narrow terminal); a refresh
only touches the cells that changed, and rebuilds the rows only when their
set or order changed, keeping the cursor on the same client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from nimwatch.views.status_table import ClientRow, bar, fmt_duration, percent

STATUS_STYLE = {
    "running": "cyan",
    "succeeded": "green",
    "failed": "bold red",
    "stalled": "bold yellow",
    "incomplete": "magenta",
}
"""Rich styles of the statuses: the 16 basic colours, so they hold on an aixterm."""
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": ""}

Column = tuple[str, str, int]
WIDE: tuple[Column, ...] = (
    ("status", "Status", 12),
    ("client", "Client", 12),
    ("phase", "Phase", 26),
    ("progress", "Progress", 15),
    ("elapsed", "Elapsed", 8),
    ("eta", "ETA", 8),
    ("findings", "Find", 4),
)
NARROW: tuple[Column, ...] = (
    ("status", "Status", 12),
    ("client", "Client", 11),
    ("phase", "Phase", 17),
    ("progress", "Progress", 11),
    ("elapsed", "Elapsed", 8),
    ("findings", "Find", 4),
)
WIDE_FROM = 100
"""Terminal columns from which the wide layout (ETA, longer phase names) is used."""
MIN_LAST = 10
"""Narrowest "last line" column worth showing."""


def _signature(cells: Sequence[Text]) -> tuple[tuple[str, str, tuple[object, ...]], ...]:
    """What makes two cells look the same (Text equality ignores the base style)."""
    return tuple((c.plain, str(c.style), tuple(c.spans)) for c in cells)


class ClientTable(DataTable[Text]):
    """The client rows of the dashboard."""

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._layout: tuple[Column, ...] = ()
        self._last_width = 0
        self._keys: list[str] = []
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._rows: list[ClientRow] = []
        self._shown: dict[str, ClientRow] = {}
        """The row each client's cells were made from (unchanged rows are skipped)."""

    # ------------------------------------------------------------------ public

    @property
    def selected_log(self) -> Optional[str]:
        """The log of the row under the cursor."""
        if not self._keys or self.cursor_row < 0 or self.cursor_row >= len(self._keys):
            return None
        return self._keys[self.cursor_row]

    def show(self, rows: Sequence[ClientRow]) -> None:
        """Display ``rows`` in this order."""
        self._rows = list(rows)
        if not self._layout:
            return
        keys = [row.log for row in rows]
        if keys != self._keys:
            self._rebuild()
            return
        for row in rows:
            if self._shown.get(row.log) == row:
                continue
            self._shown[row.log] = row
            cells = self._cells_of(row)
            old = self._cells.get(row.log, ())
            if _signature(old) == _signature(cells):
                continue
            for (key, _, _), new, before in zip(self._layout, cells, old):
                if _signature((new,)) != _signature((before,)):
                    self.update_cell(row.log, key, new)
            self._cells[row.log] = cells

    # ------------------------------------------------------------------ layout

    def on_resize(self, event: events.Resize) -> None:
        width = event.size.width
        if width != self._last_width:
            self._last_width = width
            self._set_layout(width)

    def _set_layout(self, width: int) -> None:
        layout = WIDE if width >= WIDE_FROM else NARROW
        used = sum(w + 2 * self.cell_padding for _, _, w in layout)
        last = width - used - 2 * self.cell_padding - 1
        if last >= MIN_LAST:
            layout = (*layout, ("last", "Last line", last))
        self._layout = layout
        self.clear(columns=True)
        for key, label, col_width in layout:
            self.add_column(label, width=col_width, key=key)
        self._keys = []
        self._rebuild()

    def _rebuild(self) -> None:
        selected = self.selected_log
        self.clear()
        self._keys = []
        self._cells = {}
        self._shown = {}
        for row in self._rows:
            cells = self._cells_of(row)
            self.add_row(*cells, key=row.log)
            self._keys.append(row.log)
            self._cells[row.log] = cells
            self._shown[row.log] = row
        if selected in self._keys:
            self.move_cursor(row=self._keys.index(selected), animate=False)

    def _cells_of(self, row: ClientRow) -> tuple[Text, ...]:
        style = STATUS_STYLE[row.status]
        values: dict[str, Text] = {}
        for key, _, width in self._layout:
            if key == "status":
                values[key] = Text(f"{row.symbol} {row.status}", style=style)
            elif key == "client":
                values[key] = Text(row.client + (f" #{row.run}" if row.runs > 1 else ""))
            elif key == "phase":
                values[key] = Text(row.phase_label, no_wrap=True, overflow="ellipsis")
            elif key == "progress":
                cells = max(3, width - 5)
                values[key] = Text.assemble((bar(row.fraction, cells), style), " ", percent(row.fraction))
            elif key == "elapsed":
                values[key] = Text(fmt_duration(row.elapsed), justify="right")
            elif key == "eta":
                values[key] = Text(fmt_duration(row.eta), justify="right")
            elif key == "findings":
                values[key] = Text(str(row.findings), style=SEVERITY_STYLE.get(row.worst or "", ""), justify="right")
            else:
                values[key] = Text(row.last_line, no_wrap=True, overflow="ellipsis")
        return tuple(values[key] for key, _, _ in self._layout)
