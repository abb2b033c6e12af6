"""The alerts screen: every finding and stall across clients, grouped by client and cause.

Owns :class:`AlertsScreen`. Each group is a client's run: its header line
names the client and the run's cause (what the dashboard's Cause column says:
``0516-404 VG full: no free PPs``), how many alerts and how many are new; its
alerts follow, newest first. The group with the newest alert comes first;
``g`` shows one flat list, newest first, instead. ``x`` acknowledges the
alert under the cursor, or its whole group on a group's line (again: takes it
back); ``X`` acknowledges every alert shown, after a question; ``u`` undoes
the last acknowledgement. ``v`` cycles the severity filter (routine, benign
lines hidden by default), ``h`` hides or shows acknowledged alerts, and Enter
(or a click) opens the client on the alert's line (on a group's line: the
cause's). Times are when each alert's line arrived, in UTC (``<=`` when only
an upper bound is known: the line was in the log before nimwatch started).
Acknowledgements are kept in the state journal.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from nimwatch.tui.alert_store import LEVEL_WORDS, LEVELS, Alert
from nimwatch.tui.app_screen import AppScreen
from nimwatch.tui.context import TuiContext
from nimwatch.tui.messages import OpenClient
from nimwatch.tui.prompt import ConfirmScreen
from nimwatch.tui.row_table import RowTable
from nimwatch.tui.summary import SummaryBar
from nimwatch.tui.table_cells import SEVERITY_STYLE
from nimwatch.views.report_text import SEVERITY_MARK

Line = tuple[str, list[Alert]]
"""A line of the list: its key (``a<id>`` or ``g<n>``) and the alerts it stands for."""
Head = tuple[str, Optional[int], str]
"""A group's cause (its words), the cause's line in the log, and its severity."""


def alert_time(ts: float, now: float, approx: bool = False) -> str:
    """``14:13:20`` today (UTC), ``09-20 23:59:01`` another day; ``<=`` before an upper bound."""
    stamp = datetime.fromtimestamp(ts, tz=timezone.utc)
    same_day = stamp.date() == datetime.fromtimestamp(now, tz=timezone.utc).date()
    text = stamp.strftime("%H:%M:%S" if same_day else "%m-%d %H:%M:%S")
    return ("<=" if approx else "") + text


class AlertsScreen(AppScreen):
    """Findings and stalls of every client."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("x", "acknowledge", "Ack"),
        Binding("X", "acknowledge_all", "Ack all"),
        Binding("u", "undo", "Undo"),
        Binding("v", "severity", "Severity"),
        Binding("g", "grouping", "Group", show=False),  # in the help; the footer fits 80 columns
        Binding("h", "toggle_acknowledged", "Hide acked"),
        Binding("enter", "open", "Open", show=False),
    ]

    def __init__(self, ctx: TuiContext) -> None:
        super().__init__("alerts")
        self.ctx = ctx
        self.show_acknowledged = True
        self.level = "info"
        """The severity filter (:data:`~nimwatch.tui.alert_store.LEVELS`): routine lines hidden."""
        self.grouped = True
        self._version = -1
        self.lines: list[Line] = []
        """What each line of the list stands for, in order."""
        self.heads: dict[str, Head] = {}
        """Each group line's cause, by key."""

    @property
    def shown(self) -> list[int]:
        """Ids of the alerts listed, in order (a group's line lists none)."""
        return [alerts[0].id for key, alerts in self.lines if key.startswith("a")]

    def compose(self) -> ComposeResult:
        yield SummaryBar()
        yield Static(id="alerts-title")
        yield RowTable(id="alert-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        table.add_column("", width=2, key="ack")
        table.add_column("Time (UTC)", width=14, key="time")
        table.add_column("Client", key="client")
        table.add_column("Ph", width=2, key="phase")
        table.add_column("Severity", width=8, key="severity")
        table.add_column("Alert", key="title")
        self.ready = True
        self.refresh_state(set(), full=True)
        table.focus()

    def refresh_state(self, dirty: set[str], full: bool = False) -> None:
        self.query_one(SummaryBar).show(self.ctx.fleet or self.ctx.rows(), self.ctx.alerts.unacknowledged)
        if not full and self.ctx.alerts.version == self._version:
            return
        self._version = self.ctx.alerts.version
        store = self.ctx.alerts
        lines: list[Line] = []
        self.heads = {}
        if self.grouped:
            for log, run, alerts in store.groups(self.show_acknowledged, self.level):
                key = f"g{log}|{run}"
                self.heads[key] = self._head(log, run, alerts)
                lines.append((key, alerts))
                lines.extend((f"a{alert.id}", [alert]) for alert in alerts)
        else:
            lines = [(f"a{a.id}", [a]) for a in store.newest_first(self.show_acknowledged, self.level)]
        table = self.query_one(RowTable)
        selected = self.at_cursor(self.lines)
        table.clear()
        now = self.ctx.now()
        for key, alerts in lines:
            cells = self._group_cells(key, alerts, now) if key.startswith("g") else self._cells(alerts[0], now)
            table.add_row(*cells, key=key)
        self.lines = lines
        keys = [key for key, _ in lines]
        if selected is not None and selected[0] in keys:
            table.move_cursor(row=keys.index(selected[0]), animate=False)
        self._title()

    def _title(self) -> None:
        store = self.ctx.alerts
        new = store.unacknowledged
        bits = [f"showing {LEVEL_WORDS[self.level]}", "by client and cause" if self.grouped else "newest first"]
        if not self.show_acknowledged:
            bits.append("acknowledged hidden")
        title = Text.assemble(
            ("Alerts ", "bold"),
            f" {len(store)} in all, ",
            (f"{new} new", "bold red" if new else "dim"),
            ("  " + ", ".join(bits), "dim"),
        )
        if store.error:
            title.append(f"  journal: {store.error}", style="bold red")
        self.query_one("#alerts-title", Static).update(title)

    def _cells(self, alert: Alert, now: float) -> tuple[Text, ...]:
        dim = "dim" if alert.acknowledged else ""
        mark = "✔" if alert.acknowledged else SEVERITY_MARK.get(alert.severity, "!")
        kind = "stall" if alert.kind == "stall" else ("routine" if alert.benign else alert.severity)
        indent = "  " if self.grouped else ""
        return (
            Text(mark, style=dim or SEVERITY_STYLE.get(alert.severity, "")),
            Text(alert_time(alert.ts, now, alert.approx), style=dim),
            Text(alert.client, style=dim),
            Text(str(alert.phase or ""), style=dim, justify="right"),
            Text(kind, style=dim or SEVERITY_STYLE.get(alert.severity, "")),
            Text(indent + alert.title + (f"  (line {alert.line})" if alert.line else ""), style=dim),
        )

    def _head(self, log: str, run: Optional[int], alerts: list[Alert]) -> Head:
        """The cause of a client's run (the dashboard's); for a run that has none, its worst alert's."""
        cause = self.ctx.run_cause(log, run)
        if cause is not None:
            return cause
        worst = max(alerts, key=lambda a: (_rank(a), a.kind == "stall", -a.id))
        return worst.cause, worst.line, worst.severity

    def _group_cells(self, key: str, alerts: list[Alert], now: float) -> tuple[Text, ...]:
        """A group's line: the client, its run's cause, how many alerts and how many new."""
        cause, _, severity = self.heads[key]
        first = alerts[0]
        new = sum(1 for a in alerts if not a.acknowledged)
        style = "bold" if new else "dim"
        client = first.client + (f" #{first.run}" if first.run and self.ctx.run_count(first.log) > 1 else "")
        count = f"{len(alerts)} alert{'s' if len(alerts) > 1 else ''}, " + (f"{new} new" if new else "acknowledged")
        return (
            Text("▼" if new else "✔", style=style),
            Text(alert_time(first.ts, now, first.approx), style=style),
            Text(client, style=style),
            Text(""),
            Text(severity, style=SEVERITY_STYLE.get(severity, "") if new else "dim"),
            Text.assemble((cause, style), (f"  ({count})", "dim")),
        )

    # ------------------------------------------------------------------ actions

    def action_acknowledge(self) -> None:
        selected = self.at_cursor(self.lines)
        if selected is None:
            return
        key, alerts = selected
        table = self.query_one(RowTable)
        row = table.cursor_row
        acknowledge = not all(a.acknowledged for a in alerts)
        self.ctx.alerts.acknowledge((a.id for a in alerts), acknowledge)
        self.refresh_state(set(), full=True)
        if self.lines:
            hidden = acknowledge and not self.show_acknowledged
            step = 0 if hidden else len(alerts) + 1 if key.startswith("g") else 1  # past the alert, or the group
            table.move_cursor(row=min(row + step, len(self.lines) - 1), animate=False)

    def action_acknowledge_all(self) -> None:
        count = sum(1 for a in self.ctx.alerts.newest_first(False, self.level))
        if not count:
            self.notify("Nothing to acknowledge.")
            return

        def answer(yes: Optional[bool]) -> None:
            if yes:
                done = self.ctx.alerts.acknowledge_all(self.level)
                self.refresh_state(set(), full=True)
                self.notify(f"{done} alert(s) acknowledged: u takes it back")

        question = f"Acknowledge all {count} alerts shown ({LEVEL_WORDS[self.level]})?"
        self.app.push_screen(ConfirmScreen(question), answer)

    def action_undo(self) -> None:
        count = self.ctx.alerts.undo()
        self.refresh_state(set(), full=True)
        self.notify(f"Undone: {count} alert(s)" if count else "Nothing to undo.")

    def action_severity(self) -> None:
        self.level = LEVELS[(LEVELS.index(self.level) + 1) % len(LEVELS)]
        self.refresh_state(set(), full=True)

    def action_grouping(self) -> None:
        self.grouped = not self.grouped
        self.refresh_state(set(), full=True)

    def action_toggle_acknowledged(self) -> None:
        self.show_acknowledged = not self.show_acknowledged
        self.refresh_state(set(), full=True)

    def on_data_table_row_selected(self, event: RowTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        selected = self.at_cursor(self.lines)
        if selected is None:
            return
        key, alerts = selected
        line = self.heads[key][1] if key in self.heads else alerts[0].line  # a group: on its cause
        self.post_message(OpenClient(alerts[0].log, line))


def _rank(alert: Alert) -> int:
    """How much an alert says about its run's cause: errors, then warnings (stalls too), routine last."""
    return -1 if alert.benign else ("info", "warning", "error").index(alert.severity)
