"""The dashboard screen: every client at a glance.

Owns :class:`DashboardScreen`: the fleet summary line, the replay bar in a
replay, and the :class:`ClientTable`, sorted by any column (``s`` cycles the
columns, ``S`` reverses, a click on a header sorts by it and a second click
reverses), filtered by status (``f``), to the clients ready to reboot (``r``)
or by client name as you type (``/``). Enter, or a click on a row, opens the
client's detail; ``m`` the heatmap, ``F`` every master's clients from
Prometheus (:mod:`nimwatch.tui.fleet`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Optional

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer

from nimwatch.tui.app_screen import AppScreen
from nimwatch.tui.client_table import ClientTable
from nimwatch.tui.context import TuiContext
from nimwatch.tui.heatmap import HeatmapScreen
from nimwatch.tui.messages import OpenClient, OpenFleet
from nimwatch.tui.prompt import PromptScreen
from nimwatch.tui.replay_bar import ReplayBar
from nimwatch.tui.summary import SummaryBar
from nimwatch.tui.table_cells import SORT_MARK
from nimwatch.views.columns import COLUMN_LABELS
from nimwatch.views.status_table import DESCENDING_FIRST, FILTERS, SORTS, ClientRow, filter_rows, sort_rows


class DashboardScreen(AppScreen):
    """One row per client."""

    BINDINGS = [
        Binding("enter", "open", "Open", show=False),
        Binding("s", "cycle_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse sort", show=False),
        Binding("f", "cycle_filter", "Filter"),
        Binding("r", "ready_filter", "Ready"),
        Binding("slash", "name_filter", "Find"),
        Binding("m", "heatmap", "Heatmap"),
        Binding("F", "fleet", "Fleet", show=False),  # shown where a Prometheus is configured (FleetDashboard)
        Binding("escape", "clear_filters", "Clear filter", show=False),
    ]

    def __init__(self, ctx: TuiContext) -> None:
        super().__init__("dashboard")
        self.ctx = ctx
        self.sort = "status"
        self.descending = False
        self.status_filter = "all"
        self.name_filter = ""
        self.shown: list[str] = []
        """Logs of the rows shown, in order (what tests and the detail screen read)."""

    def compose(self) -> ComposeResult:
        yield SummaryBar()
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
        rows = self.ctx.fleet or self.ctx.rows()
        shown = sort_rows(filter_rows(rows, self.status_filter, self.name_filter), self.sort, self.descending)
        self.shown = [row.log for row in shown]
        table = self.query_one(ClientTable)
        table.set_sort(self.sort, self.descending)
        table.show(shown)
        self._summary(rows)
        if self.ctx.replay is not None:
            self.query_one(ReplayBar).update_from_replay()

    def _summary(self, rows: list[ClientRow]) -> None:
        sort = f"sort: {COLUMN_LABELS[self.sort].lower()} {SORT_MARK[self.descending]}"
        filters = f"filter: {self.status_filter}" + (f" '{self.name_filter}'" if self.name_filter else "")
        filtered = self.status_filter != "all" or bool(self.name_filter)
        extras = [f"{sort}  {filters}", filters if filtered else "", ""]
        self.query_one(SummaryBar).show(rows, self.ctx.alerts.unacknowledged, extras)

    # ------------------------------------------------------------------ actions

    def on_client_table_row_selected(self, event: ClientTable.RowSelected) -> None:
        event.stop()
        self.post_message(OpenClient(event.log))

    def on_client_table_header_clicked(self, event: ClientTable.HeaderClicked) -> None:
        event.stop()
        self.set_sort(event.column, not self.descending if event.column == self.sort else None)  # again: reverse

    def action_open(self) -> None:
        log = self.query_one(ClientTable).selected_log
        if log is not None:
            self.post_message(OpenClient(log))

    def set_sort(self, column: str, descending: Optional[bool] = None) -> None:
        """Sort by ``column`` (a :data:`SORTS` entry), in its first direction unless ``descending`` says."""
        self.sort = column
        self.descending = column in DESCENDING_FIRST if descending is None else descending
        self.refresh_state(set(), full=True)

    def action_cycle_sort(self) -> None:
        self.set_sort(SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)])

    def action_reverse_sort(self) -> None:
        self.set_sort(self.sort, not self.descending)

    def action_cycle_filter(self) -> None:
        self.status_filter = FILTERS[(FILTERS.index(self.status_filter) + 1) % len(FILTERS)]
        self.refresh_state(set(), full=True)

    def action_ready_filter(self) -> None:
        self.status_filter = "all" if self.status_filter == "ready" else "ready"
        self.refresh_state(set(), full=True)

    def action_name_filter(self) -> None:
        def typed(value: str) -> None:
            self.name_filter = value.strip()
            self.refresh_state(set(), full=True)

        def done(value: Optional[str]) -> None:
            if value is not None:
                typed(value)

        prompt = PromptScreen("Client name contains:", self.name_filter, on_change=typed)
        self.app.push_screen(prompt, done)

    def action_clear_filters(self) -> None:
        self.status_filter = "all"
        self.name_filter = ""
        self.refresh_state(set(), full=True)

    def action_heatmap(self) -> None:
        self.app.push_screen(HeatmapScreen(self.ctx))

    def action_fleet(self) -> None:
        self.post_message(OpenFleet())


def _footer_with_fleet(bindings: Iterable[BindingType]) -> list[BindingType]:
    """The dashboard's keys with ``F Fleet`` in the footer and ``/ Find`` only in the help: 80 columns."""
    flip = {"fleet": True, "name_filter": False}
    return [
        replace(b, show=flip[b.action]) if isinstance(b, Binding) and b.action in flip else b for b in bindings
    ]


class FleetDashboard(DashboardScreen, inherit_bindings=False):
    """The dashboard where a Prometheus is configured: its footer shows the fleet key."""

    BINDINGS = _footer_with_fleet(DashboardScreen.BINDINGS)
