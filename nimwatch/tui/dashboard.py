"""The dashboard screen: every client at a glance.

Owns :class:`DashboardScreen`: a summary line (how many clients run, failed,
stalled...), the replay bar in a replay, and the :class:`ClientTable`, sorted
and filtered by status or by client name. Enter (or a click on a row) opens
the client's detail.
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from nimwatch.tui.client_table import STATUS_STYLE, ClientTable
from nimwatch.tui.context import TuiContext
from nimwatch.tui.messages import OpenClient
from nimwatch.tui.prompt import PromptScreen
from nimwatch.tui.replay_bar import ReplayBar
from nimwatch.views.status_table import FILTERS, SORTS, SYMBOL, ClientRow, filter_rows, sort_rows, status_counts


class DashboardScreen(Screen[None]):
    """One row per client."""

    BINDINGS = [
        Binding("enter", "open", "Open", show=False),
        Binding("s", "cycle_sort", "Sort"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("slash", "name_filter", "Find client"),
        Binding("escape", "clear_filters", "Clear filter", show=False),
    ]

    def __init__(self, ctx: TuiContext) -> None:
        super().__init__(id="dashboard")
        self.ctx = ctx
        self.sort = "status"
        self.status_filter = "all"
        self.name_filter = ""
        self.ready = False
        """Composed: the app may refresh it."""
        self._summary_shown: tuple[str, tuple[object, ...]] = ("", ())
        self.shown: list[str] = []
        """Logs of the rows shown, in order (what tests and the detail screen read)."""

    def compose(self) -> ComposeResult:
        yield Static(id="summary")
        if self.ctx.replay is not None:
            yield ReplayBar(self.ctx.replay)
        yield ClientTable(id="clients")
        yield Footer()

    def on_mount(self) -> None:
        self.ready = True
        self.refresh_state(set(), full=True)
        self.query_one(ClientTable).focus()

    def on_screen_resume(self) -> None:
        self.refresh_state(set(), full=True)

    # ------------------------------------------------------------------ refresh

    def refresh_state(self, dirty: set[str], full: bool = False) -> None:
        """Redraw from the engine state (called by the app when its coalescer says so)."""
        rows = self.ctx.rows()
        shown = sort_rows(filter_rows(rows, self.status_filter, self.name_filter), self.sort)
        self.shown = [row.log for row in shown]
        self.query_one(ClientTable).show(shown)
        self._summary(rows)
        if self.ctx.replay is not None:
            self.query_one(ReplayBar).update_from_replay()

    def _summary(self, rows: list[ClientRow]) -> None:
        width = max(20, self.size.width - 2)
        summary = self.query_one("#summary", Static)
        for compact, view in ((False, True), (False, False), (True, True), (True, False)):
            text = self._summary_text(rows, compact, view)
            if text.cell_len <= width:
                break
        text.truncate(width, overflow="ellipsis")
        shown = (text.plain, tuple(text.spans))
        if shown != self._summary_shown:
            # One line, always: no layout pass (a layout repaints the whole screen).
            self._summary_shown = shown
            summary.update(text, layout=False)

    def _summary_text(self, rows: list[ClientRow], compact: bool, view: bool) -> Text:
        """``17 clients: ▶ 2 running ✖ 6 failed ...  alerts: 3 new  sort: status  filter: all``.

        Compact (narrow terminals): zero counts and the words go, the symbols stay;
        without ``view``, the sort and filter are left out unless a filter is set.
        """
        counts = status_counts(rows)
        text = Text.assemble((f"{len(rows)} clients", "bold"), ":")
        for status, count in counts.items():
            if (compact or status == "other") and not count:
                continue
            label = f" {SYMBOL[status]}{count}" if compact else f" {SYMBOL[status]} {count} {status}"
            text.append(label, style=STATUS_STYLE[status] if count else "dim")
        unacked = self.ctx.alerts.unacknowledged
        text.append("  alerts: " if not compact else "  ")
        text.append(f"{unacked} new" if not compact else f"{unacked} alerts", style="bold red" if unacked else "dim")
        filtered = self.status_filter != "all" or self.name_filter
        if view or filtered:
            shown = f"  sort: {self.sort}" if view else ""
            if view or self.status_filter != "all":
                shown += f"  filter: {self.status_filter}"
            if self.name_filter:
                shown += f" '{self.name_filter}'"
            text.append(shown, style="dim")
        return text

    # ------------------------------------------------------------------ actions

    def on_client_table_row_selected(self, event: ClientTable.RowSelected) -> None:
        event.stop()
        self.post_message(OpenClient(event.log))

    def action_open(self) -> None:
        log = self.query_one(ClientTable).selected_log
        if log is not None:
            self.post_message(OpenClient(log))

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refresh_state(set(), full=True)

    def action_cycle_filter(self) -> None:
        self.status_filter = FILTERS[(FILTERS.index(self.status_filter) + 1) % len(FILTERS)]
        self.refresh_state(set(), full=True)

    def action_name_filter(self) -> None:
        def done(value: Optional[str]) -> None:
            if value is not None:
                self.name_filter = value.strip()
                self.refresh_state(set(), full=True)

        self.app.push_screen(PromptScreen("Client name contains:", self.name_filter), done)

    def action_clear_filters(self) -> None:
        self.status_filter = "all"
        self.name_filter = ""
        self.refresh_state(set(), full=True)
