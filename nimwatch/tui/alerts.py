"""The alerts screen: every finding and stall across clients, newest first.

Owns :class:`AlertsScreen`. ``x`` acknowledges the alert under the cursor,
``X`` all of them, ``h`` hides or shows acknowledged ones, and Enter opens
the client's detail on the alert's log line.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from nimwatch.tui.alert_store import Alert
from nimwatch.tui.context import TuiContext
from nimwatch.tui.messages import OpenClient
from nimwatch.views.report_text import SEVERITY_MARK

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": ""}


class AlertsScreen(Screen[None]):
    """Findings and stalls of every client."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("x", "acknowledge", "Acknowledge"),
        Binding("X", "acknowledge_all", "Ack all"),
        Binding("h", "toggle_acknowledged", "Hide acked"),
        Binding("enter", "open", "Open", show=False),
    ]

    def __init__(self, ctx: TuiContext) -> None:
        super().__init__(id="alerts")
        self.ctx = ctx
        self.show_acknowledged = True
        self._version = -1
        self.ready = False
        """Composed: the app may refresh it."""
        self.shown: list[int] = []
        """Ids of the alerts listed, in order."""

    def compose(self) -> ComposeResult:
        yield Static(id="alerts-title")
        table: DataTable[Text] = DataTable(id="alert-table", cursor_type="row")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("", width=3, key="ack")
        table.add_column("Time (UTC)", width=10, key="time")
        table.add_column("Client", width=12, key="client")
        table.add_column("Ph", width=2, key="phase")
        table.add_column("Severity", width=9, key="severity")
        table.add_column("Alert", key="title")
        self.ready = True
        self.refresh_state(set(), full=True)
        table.focus()

    def refresh_state(self, dirty: set[str], full: bool = False) -> None:
        if not full and self.ctx.alerts.version == self._version:
            return
        self._version = self.ctx.alerts.version
        alerts = self.ctx.alerts.newest_first(self.show_acknowledged)
        ids = [a.id for a in alerts]
        table = self.query_one(DataTable)
        cursor_id = self._selected_id()
        table.clear()
        for alert in alerts:
            table.add_row(*self._cells(alert), key=str(alert.id))
        self.shown = ids
        if cursor_id in ids:
            table.move_cursor(row=ids.index(cursor_id), animate=False)
        total = len(self.ctx.alerts)
        unacked = self.ctx.alerts.unacknowledged
        hidden = "" if self.show_acknowledged else "  (acknowledged hidden)"
        new = (f"{unacked} new", "bold red" if unacked else "dim")
        self.query_one("#alerts-title", Static).update(
            Text.assemble(("Alerts ", "bold"), f" {total} in all, ", new, hidden)
        )

    def _cells(self, alert: Alert) -> tuple[Text, ...]:
        dim = "dim" if alert.acknowledged else ""
        stamp = datetime.fromtimestamp(alert.ts, tz=timezone.utc).strftime("%H:%M:%S")
        mark = "✓" if alert.acknowledged else SEVERITY_MARK.get(alert.severity, "!")
        kind = "stall" if alert.kind == "stall" else alert.severity
        return (
            Text(mark, style=dim or SEVERITY_STYLE.get(alert.severity, "")),
            Text(stamp, style=dim),
            Text(alert.client, style=dim),
            Text(str(alert.phase or ""), style=dim, justify="right"),
            Text(kind, style=dim or SEVERITY_STYLE.get(alert.severity, "")),
            Text(alert.title + (f"  (line {alert.line})" if alert.line else ""), style=dim),
        )

    def _selected_id(self) -> Optional[int]:
        table = self.query_one(DataTable)
        if not self.shown or table.cursor_row < 0 or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row]

    def action_back(self) -> None:
        self.ready = False
        self.dismiss()

    def action_acknowledge(self) -> None:
        alert_id = self._selected_id()
        if alert_id is None:
            return
        table = self.query_one(DataTable)
        row = table.cursor_row
        self.ctx.alerts.acknowledge(alert_id)
        self.refresh_state(set(), full=True)
        if self.shown:
            table.move_cursor(row=min(row + 1 if self.show_acknowledged else row, len(self.shown) - 1), animate=False)

    def action_acknowledge_all(self) -> None:
        count = self.ctx.alerts.acknowledge_all()
        self.refresh_state(set(), full=True)
        self.notify(f"{count} alert(s) acknowledged")

    def action_toggle_acknowledged(self) -> None:
        self.show_acknowledged = not self.show_acknowledged
        self.refresh_state(set(), full=True)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        alert_id = self._selected_id()
        alert = self.ctx.alerts.get(alert_id) if alert_id is not None else None
        if alert is not None:
            self.post_message(OpenClient(alert.log, alert.line))
