"""The fleet heatmap: every client's 12 phases, coloured by status and by how long each took.

Owns :class:`HeatmapScreen` (``m`` on the dashboard). One row per client, one
column per phase; a cell shows the phase's duration (a running phase's so
far) and is coloured by its status and by its duration against the median of
the same phase over the other clients (:func:`nimwatch.core.timing.heat_rows`):
a phase 6 three times slower than the fleet's stands out. Enter (or a click)
opens the client.
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from nimwatch.core.events import PhaseStatus
from nimwatch.core.state import RunState
from nimwatch.core.timing import FAST, SLOW, VERY_SLOW, Cell, heat_rows
from nimwatch.tui.app_screen import AppScreen
from nimwatch.tui.context import TuiContext
from nimwatch.tui.messages import OpenClient
from nimwatch.tui.row_table import RowTable
from nimwatch.tui.summary import SummaryBar
from nimwatch.tui.table_cells import STATUS_STYLE
from nimwatch.views.status_table import SYMBOL, sort_rows

CELL_WIDTH = 6
PACE_STYLE = {
    "very slow": "bold white on magenta",
    "slow": "black on yellow",
    "fast": "blue",
    "usual": "green",
    "": "",
}
"""A finished phase's colour by its pace against the fleet's median (16 colours)."""
STATUS_MARK = {PhaseStatus.FAILED: "✖", PhaseStatus.RUNNING: "▶"}


def short_duration(seconds: Optional[float]) -> str:
    """``45s``, ``12m``, ``1h05``: at most 5 cells."""
    if seconds is None:
        return ""
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes = total // 60
    if minutes < 100:
        return f"{minutes}m"
    return f"{minutes // 60}h{minutes % 60:02d}"


def cell_text(cell: Cell, client_status: str = "running") -> Text:
    """One phase: its mark and duration, coloured by status and pace.

    The phase a client is in is marked as the client is: running, stalled
    (its time so far), or incomplete (a run abandoned there: no time, it is
    not counting any more).
    """
    if cell.status is PhaseStatus.NOT_RUN:
        return Text("·".rjust(CELL_WIDTH - 1) + " ", style="dim")
    if cell.status is PhaseStatus.RUNNING and client_status in ("stalled", "incomplete"):
        seconds = short_duration(cell.seconds) if client_status == "stalled" else ""
        body = SYMBOL[client_status] + seconds
        return Text(body.rjust(CELL_WIDTH - 1) + " ", style=f"bold {STATUS_STYLE[client_status].split()[-1]}")
    body = (STATUS_MARK.get(cell.status, "") + short_duration(cell.seconds)) or "✔"
    pace = PACE_STYLE[cell.pace]
    if cell.status is PhaseStatus.FAILED:
        style = "bold white on red"
    elif cell.status is PhaseStatus.RUNNING:
        style = f"bold {pace}" if cell.pace in ("slow", "very slow") else "bold cyan"
    else:
        style = pace
    return Text(body.rjust(CELL_WIDTH - 1) + " ", style=style)


LEGEND = Text.assemble(
    ("✖", "bold white on red"),
    " failed  ",
    ("▶", "bold cyan"),
    " running  ",
    ("‖", "bold yellow"),
    " stalled  ",
    ("?", "bold magenta"),
    " abandoned  ",
    ("slow", PACE_STYLE["slow"]),
    f" >={SLOW:g}x  ",
    ("very slow", PACE_STYLE["very slow"]),
    f" >={VERY_SLOW:g}x  ",
    ("fast", PACE_STYLE["fast"]),
    f" <={FAST:g}x the median of the same phase on the other clients",
)


class HeatmapScreen(AppScreen):
    """Clients x phases."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "open", "Open", show=False),
    ]

    def __init__(self, ctx: TuiContext) -> None:
        super().__init__("heatmap")
        self.ctx = ctx
        self.shown: list[str] = []
        """Logs of the rows, in order."""
        self.cells: dict[str, list[Cell]] = {}
        """The cells shown, by log (tests read them)."""

    def compose(self) -> ComposeResult:
        yield SummaryBar()
        yield RowTable(id="heat-table", cursor_type="row", cell_padding=0)
        yield Static(LEGEND, id="heat-legend")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Client", key="client")
        for spec in self.ctx.rules.model.phases:
            table.add_column(Text(str(spec.number).rjust(CELL_WIDTH - 1) + " "), key=str(spec.number), width=CELL_WIDTH)
        self.ready = True
        self.refresh_state(set(), full=True)
        table.focus()

    def refresh_state(self, dirty: set[str], full: bool = False) -> None:
        if not full and not dirty:
            return
        rows = sort_rows(self.ctx.fleet or self.ctx.rows())
        self.query_one(SummaryBar).show(rows, self.ctx.alerts.unacknowledged)
        runs: dict[str, tuple[RunState, bool]] = {}
        labels: dict[str, Text] = {}
        statuses: dict[str, str] = {}
        with self.ctx.engine.locked():
            for row in rows:
                state = self.ctx.engine.logs.get(row.log)
                if state is None or not state.runs or row.run < 1:
                    continue
                runs[row.log] = (state.run(row.run), self.ctx.timed(row.log))
                statuses[row.log] = row.status
                labels[row.log] = Text(row.label, style=STATUS_STYLE[row.status], no_wrap=True, overflow="ellipsis")
            self.cells = heat_rows(runs, self.ctx.now())
        table = self.query_one(DataTable)
        selected = self.at_cursor(self.shown)
        table.clear()
        self.shown = list(runs)
        for log in self.shown:
            table.add_row(labels[log], *(cell_text(c, statuses[log]) for c in self.cells[log]), key=log)
        if selected in self.shown:
            table.move_cursor(row=self.shown.index(selected), animate=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        log = self.at_cursor(self.shown)
        if log is not None:
            self.post_message(OpenClient(log))
