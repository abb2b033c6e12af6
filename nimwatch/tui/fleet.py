"""The fleet screen: every NIM master's clients, as Prometheus last saw them, grouped by master.

Owns :class:`FleetScreen` (``F`` on the dashboard, or the first screen with
``nimwatch tui --fleet URL``); the pure helpers that lay it out (the order
of the lines, the cells) are :mod:`nimwatch.tui.fleet_lines`. One line per master
(its watcher: up, STOPPED, DOWN or STALE, with the heartbeat's age), then one
line per client: status, phase, ETA, cause. What needs a person comes first:
masters whose watcher is not up or that have a failed client, then the
others; inside a master, failed, stalled, unknown... down to succeeded. A
master whose watcher is not up is never shown as healthy: its clients say
``unknown`` with what they last said. ``f`` keeps only the problems, Enter
(or a click) on a master folds or unfolds it, ``r`` asks Prometheus again
now; the line at the bottom tells everything about the line under the cursor.

The data comes from a :class:`~nimwatch.tui.fleet_feed.FleetState` that the
app keeps up to date from its :class:`~nimwatch.tui.fleet_feed.FleetFeed`
thread; this screen never asks Prometheus itself and imports neither the
HTTP client nor the sources. Prometheus' answer is untrusted text (a label
value is whatever a log file name or a scrape config held): every name is
shown through :func:`nimwatch.terminal.escape_controls`, on one line, and
as ``Text`` (never markup). A Prometheus that cannot be reached is one red
line on the screen, with the last good view kept below it, dimmed, and the
next try coming at the usual interval.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Callable, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from nimwatch.fleet import ClientView, FleetView, MasterView
from nimwatch.tui.app_screen import AppScreen
from nimwatch.tui.fleet_feed import FleetState
from nimwatch.tui.fleet_lines import (
    COLUMNS,
    HEADERS,
    PHASE_WIDTH,
    STATUS_WIDTH,
    Line,
    Widths,
    client_cells,
    column_widths,
    detail_text,
    eta_text,
    every,
    fleet_lines,
    master_cells,
    one_line,
)
from nimwatch.tui.row_table import RowTable
from nimwatch.views.fleet_text import summary

__all__ = ["FleetScreen", "client_cells", "detail_text", "fleet_lines", "one_line"]


class FleetScreen(AppScreen):
    """Every master's clients from Prometheus."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "look_now", "Refresh"),
        Binding("f", "problems", "Problems"),
        Binding("enter", "fold", "Fold master", show=False),
    ]

    def __init__(self, state: FleetState, names: Mapping[int, str], look_now: Callable[[], None]) -> None:
        super().__init__("fleet")
        self.state = state
        self.names = names
        self._look_now = look_now
        self.problems_only = False
        self.folded: set[str] = set()
        self.lines: list[Line] = []
        """What each line of the table stands for, in order (tests read it)."""
        self._drawn: Optional[tuple[object, ...]] = None
        self._widths: Optional[Widths] = None
        self._cells_shown: list[tuple[Text, ...]] = []
        self._made: dict[tuple[object, ...], tuple[Text, ...]] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="fleet-title")
        yield Static(id="fleet-problem")
        yield RowTable(id="fleet-table", cursor_type="row")
        yield Static(id="fleet-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.ready = True
        self.show_state(full=True)
        self.query_one(RowTable).focus()

    def on_resize(self) -> None:
        self.show_state(full=True)  # the phase column grows or shrinks with the terminal

    # ------------------------------------------------------------------ drawing

    def show_state(self, full: bool = False) -> None:
        """Redraw from :attr:`state` (the app calls it when Prometheus answered, or failed to; the engine's
        notices do not concern this screen)."""
        if not self.ready:
            return
        state = self.state
        view = state.view
        self._title(view)
        self._problem()
        table = self.query_one(RowTable)
        lines = fleet_lines(view, self.problems_only, frozenset(self.folded)) if view is not None else []
        drawn = (id(view), state.error is None, self.problems_only, tuple(sorted(self.folded)))
        if drawn != self._drawn or full:
            self._drawn = drawn
            selected = self.at_cursor(self.lines)
            self._fill(table, lines, view.at if view is not None else 0.0, dim=state.error is not None)
            keys = [key for key, _, _ in lines]
            if selected is not None and selected[0] in keys:
                table.move_cursor(row=keys.index(selected[0]), animate=False)
        self._detail()

    def _fill(self, table: DataTable[Text], lines: list[Line], now: float, dim: bool) -> None:
        """Lay the lines out: every row again when the lines or the columns changed, else only the cells
        that changed (a look every 15 s at 100 masters x 50 clients moves a few hundred ETA and heartbeat
        cells; adding 5,000 rows again would hold the screen for about half a second)."""
        widths = column_widths(lines, table.size.width or self.size.width, now, self.names)
        name, phase, eta, cause = widths
        names = self.names if phase > PHASE_WIDTH[0] else {}
        made: dict[tuple[object, ...], tuple[Text, ...]] = {}
        cells = [self._cells(master, client, now, names, dim, made) for _, master, client in lines]
        self._made = made
        keys = [key for key, _, _ in lines]
        if widths == self._widths and keys == [key for key, _, _ in self.lines]:
            for key, old, new in zip(keys, self._cells_shown, cells):
                if old is new:
                    continue
                for column, before, after in zip(COLUMNS, old, new):
                    if before != after:
                        table.update_cell(key, column, after)
        else:
            table.clear(columns=widths != self._widths)
            if widths != self._widths:
                self._widths = widths
                for column, label, width in zip(COLUMNS, HEADERS, (name, STATUS_WIDTH, phase, eta, cause)):
                    table.add_column(label, width=width, key=column)
            for key, row in zip(keys, cells):
                table.add_row(*row, key=key)
        self._cells_shown = cells
        self.lines = lines

    def _cells(
        self,
        master: MasterView,
        client: Optional[ClientView],
        now: float,
        names: Mapping[int, str],
        dim: bool,
        made: dict[tuple[object, ...], tuple[Text, ...]],
    ) -> tuple[Text, ...]:
        """A line's cells; a client's are made again only when what they show changed (they are kept from
        the last look, by what they show: building thousands of ``Text`` is most of a look's cost)."""
        if client is None:
            cells = master_cells(master, master.name in self.folded)
        else:
            shows = (client.client, client.status, client.phase, eta_text(client, now), client.cause, client.live)
            key = (*shows, client.overdue > 0, bool(names), dim)
            kept = self._made.get(key) or made.get(key)
            if kept is not None:
                made[key] = kept
                return kept
            cells = made[key] = client_cells(client, now, names)
        if dim:
            for cell in cells:
                cell.stylize("dim")
        return cells

    def _title(self, view: Optional[FleetView]) -> None:
        state = self.state
        title = Text.assemble(("Fleet ", "bold"), (one_line(state.url), "dim"), "  ")
        if view is not None:
            title.append(summary(view))
            stamp = time.strftime("%H:%M:%S", time.localtime(view.at))
            title.append(f"  as of {stamp}, every {every(state.refresh)}", style="dim")
        if self.problems_only:
            title.append("  problems only", style="bold")
        self.query_one("#fleet-title", Static).update(title)

    def _problem(self) -> None:
        state = self.state
        widget = self.query_one("#fleet-problem", Static)
        if state.error is not None:
            tries = f"{state.failures} tries" if state.failures != 1 else "1 try"
            text = Text.assemble(
                ("✖ ", "bold red"),
                (one_line(state.error), "bold red"),
                f"  ({tries} failed; trying again every {every(state.refresh)}, r now)",
            )
            if state.view is not None:
                stamp = time.strftime("%H:%M:%S", time.localtime(state.view.at))
                text.append(f"  Below: what Prometheus said at {stamp}, not now.", style="bold")
        elif state.waiting:
            text = Text(f"Asking Prometheus at {one_line(state.url)}...", style="dim")
        elif state.view is not None and not state.view.masters:
            text = Text(
                f"Prometheus at {one_line(state.url)} has no nimwatch metrics (nimwatch_up) in the last "
                f"{one_line(state.view.lookback)}: is any NIM master's `nimwatch watch` scraped? "
                "(see examples/prometheus/)",
                style="bold yellow",
            )
        else:
            text = Text("")
        widget.update(text)
        widget.display = bool(text.plain)

    def _detail(self) -> None:
        view = self.state.view
        now = view.at if view is not None else time.time()
        self.query_one("#fleet-detail", Static).update(detail_text(self.at_cursor(self.lines), now, self.names))

    # ------------------------------------------------------------------ the cursor

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        line = self.at_cursor(self.lines)
        if line is not None and line[2] is None:
            self.action_fold()

    # ------------------------------------------------------------------ actions

    def action_look_now(self) -> None:
        self._look_now()
        self.notify("Asking Prometheus again.", timeout=2)

    def action_problems(self) -> None:
        self.problems_only = not self.problems_only
        self.show_state(full=True)

    def action_fold(self) -> None:
        """Fold or unfold the master under the cursor (or the master of the client under it)."""
        line = self.at_cursor(self.lines)
        if line is None:
            return
        name = line[1].name
        self.folded.symmetric_difference_update({name})
        self.show_state(full=True)
        keys = [key for key, _, _ in self.lines]
        master_key = f"m{name!r}"
        if master_key in keys:
            self.query_one(RowTable).move_cursor(row=keys.index(master_key), animate=False)
            self._detail()
