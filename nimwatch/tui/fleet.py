"""The fleet screen: every NIM master's clients, as Prometheus last saw them, grouped by master.

Owns :class:`FleetScreen` (``F`` on the dashboard, or the first screen with
``nimwatch tui --fleet URL``) and the pure helpers that lay it out
(:func:`master_order`, :func:`fleet_lines`, the cells). One line per master
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
from collections.abc import Iterable, Mapping, Sequence
from typing import Callable, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from nimwatch.fleet import STATUS_RANK, ClientView, FleetView, MasterView, WatcherView, human_duration
from nimwatch.terminal import escape_controls
from nimwatch.tui.fleet_feed import FleetState
from nimwatch.tui.row_table import RowTable
from nimwatch.tui.table_cells import STATUS_STYLE
from nimwatch.views.fleet_text import clock, summary
from nimwatch.views.status_table import SYMBOL

FLEET_SYMBOL = {**SYMBOL, "unknown": "?"}
FLEET_STYLE = {**STATUS_STYLE, "unknown": "bold magenta"}
WATCHER_CELL = {
    "up": ("✔ up", "green"),
    "stopped": ("■ STOPPED", "bold yellow"),
    "down": ("✖ DOWN", "bold red"),
    "stale": ("‖ STALE", "bold red"),
}
"""A master's line: its watcher's state (the worst of its watchers)."""
WATCHER_WORDS = {
    "up": "watcher up",
    "stopped": "watcher STOPPED (clean exit)",
    "down": "watcher DOWN (Prometheus' scrapes fail)",
    "stale": "watcher STALE (no new heartbeat)",
}
PROBLEM_STATUSES = frozenset({"failed", "stalled", "unknown", "incomplete"})
CLIENT_WIDTH = (8, 24)
"""The client column: at least, at most (a fifth of a narrow terminal; longer names are cut with an ellipsis:
the line at the bottom has them whole)."""
STATUS_WIDTH = 11
ETA_WIDTH = (5, 16)
PHASE_WIDTH = (5, 14)
"""``12/12`` alone on a narrow terminal; with the phase's name when at least 14 cells are free (up to the
longest name)."""
CAUSE_ROOM = 64
"""Cells kept for the cause (as many as the longest needs, up to this) before the phase column grows."""
PADDING = 2
"""A cell's padding (one blank either side)."""
INDENT = "  "
COLUMNS = ("name", "status", "phase", "eta", "cause")
HEADERS = ("Master / client", "Status", "Phase", "ETA", "Cause")


def every(seconds: float) -> str:
    """How often Prometheus is asked: ``15s``, ``2m``, ``0.5s``."""
    return f"{seconds:g}s" if seconds < 60 else human_duration(seconds)


def one_line(text: str) -> str:
    """Untrusted text for one table cell: controls escaped, newline and tab too."""
    return escape_controls(text).replace("\n", "\\n").replace("\t", "\\t")


def master_rank(master: MasterView) -> int:
    """0 for a master that needs a person now (a watcher not up, a failed client), more for the others."""
    worst = min((STATUS_RANK.get(c.status, 9) for c in master.clients), default=9)
    return 0 if master.state != "up" else worst


def master_order(masters: Iterable[MasterView]) -> list[MasterView]:
    """Failures first: by :func:`master_rank`, then by name."""
    return sorted(masters, key=lambda m: (master_rank(m), m.name))


def is_problem(client: ClientView) -> bool:
    """Failed, stalled, unknown, incomplete, or running with a cause (overdue, slower than its history)."""
    return client.status in PROBLEM_STATUSES or (client.status == "running" and bool(client.cause))


Line = tuple[str, MasterView, Optional[ClientView]]
"""A line of the table: its key, its master, its client (None: the master's own line)."""


def fleet_lines(view: FleetView, problems_only: bool = False, folded: frozenset[str] = frozenset()) -> list[Line]:
    """The table's lines in order: each master (failures first), then its clients unless folded."""
    lines: list[Line] = []
    for master in master_order(view.masters):
        clients = [c for c in master.clients if is_problem(c)] if problems_only else list(master.clients)
        if problems_only and not clients and master.state == "up":
            continue
        lines.append((f"m{master.name!r}", master, None))  # repr: no two names make one key
        if master.name not in folded:
            lines.extend((f"c{master.name!r}{c.client!r}", master, c) for c in clients)
    return lines


def eta_text(client: ClientView, now: float) -> str:
    """``1h05m (14:50)``, ``~3h (02:10)`` without history, ``overdue 12m``; ``-`` when there is none."""
    if client.overdue > 0:
        return f"overdue {human_duration(client.overdue)}"
    if client.eta is None or client.finish_at is None:
        return "-"
    rough = "~" if client.basis == "weights" or client.basis_runs == 0 else ""
    return f"{rough}{human_duration(client.eta)} ({clock(client.finish_at, now)})"


def phase_text(client: ClientView, names: Mapping[int, str]) -> str:
    if not client.phase:
        return "-"
    return f"{client.phase}/12 {names.get(client.phase, '')}".rstrip()


def status_counts(clients: Sequence[ClientView]) -> str:
    """``4 clients: 1 failed, 1 running, 2 succeeded`` (most urgent first)."""
    counts: dict[str, int] = {}
    for client in clients:
        counts[client.status] = counts.get(client.status, 0) + 1
    parts = [f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: STATUS_RANK.get(kv[0], 9))]
    head = f"{len(clients)} client{'s' if len(clients) != 1 else ''}"
    return head + (": " + ", ".join(parts) if parts else "")


def watcher_text(watcher: WatcherView) -> str:
    where = one_line(watcher.instance) + (f" job {one_line(watcher.job)}" if watcher.job else "")
    beat = f", heartbeat {human_duration(watcher.heartbeat_age)} ago" if watcher.heartbeat_age is not None else ""
    every = f" (every {human_duration(watcher.interval)})" if watcher.interval else ""
    return f"{WATCHER_WORDS.get(watcher.state, watcher.state)} ({where}){beat}{every if beat else ''}"


def beat_text(watchers: Sequence[WatcherView]) -> str:
    """``heartbeat 2s ago`` (the oldest of the watchers'), or nothing when none sends one."""
    ages = [w.heartbeat_age for w in watchers if w.heartbeat_age is not None]
    return f"heartbeat {human_duration(max(ages))} ago" if ages else ""


def master_cells(master: MasterView, folded: bool) -> tuple[Text, ...]:
    """A master's line: its watcher's state and, in the cause, its clients' counts or what is wrong with the
    watcher (its clients' lines then hold what they said last)."""
    word, style = WATCHER_CELL.get(master.state, (master.state, "bold red"))
    counts = status_counts(master.clients)
    if master.state == "up":
        beat = beat_text(master.watchers)
        cause = Text(counts + (f" \u00b7 {beat}" if beat else ""))
    else:
        bad = [w for w in master.watchers if w.state != "up"]
        beat = beat_text(bad)
        words = "; ".join(WATCHER_WORDS.get(w.state, w.state).split(" (")[0] for w in bad)
        cause = Text(words + (f", {beat}" if beat else ""), style=style)
        cause.append(f" \u00b7 {len(master.clients)} client{'s' if len(master.clients) != 1 else ''}")
        if master.clients:
            cause.append(": last known state")
    mark = "▶ " if folded else "▼ "
    return (
        Text(mark + one_line(master.name), style="bold", no_wrap=True, overflow="ellipsis"),
        Text(word, style=style),
        Text(""),
        Text(""),
        cause,
    )


def client_cells(client: ClientView, now: float, names: Mapping[int, str]) -> tuple[Text, ...]:
    """A client's line: status, phase (with its name when ``names`` has it), ETA, cause."""
    style = FLEET_STYLE.get(client.status, "")
    symbol = FLEET_SYMBOL.get(client.status, "·")
    cause_style = "red" if client.status == "failed" else "yellow" if client.cause and client.live else ""
    return (
        Text(INDENT + one_line(client.client), no_wrap=True, overflow="ellipsis"),
        Text(f"{symbol} {client.status}", style=style),
        Text(phase_text(client, names), no_wrap=True, overflow="ellipsis"),
        Text(eta_text(client, now), no_wrap=True, overflow="ellipsis", style="yellow" if client.overdue else ""),
        Text(one_line(client.cause), style=cause_style if client.live else "magenta"),
    )


Widths = tuple[int, int, int, int]


def column_widths(lines: Sequence[Line], width: int, now: float, names: Mapping[int, str]) -> Widths:
    """The widths of the client, phase, ETA and cause columns on a table ``width`` cells wide."""
    labels = [len(one_line(c.client)) + len(INDENT) for _, _, c in lines if c is not None]
    labels += [len(one_line(m.name)) + 2 for _, m, c in lines if c is None]
    name = max(CLIENT_WIDTH[0], min(CLIENT_WIDTH[1], width // 5, max(labels, default=0)))
    etas = [len(eta_text(c, now)) for _, _, c in lines if c is not None]
    eta = max(ETA_WIDTH[0], min(ETA_WIDTH[1], max(etas, default=0)))
    phases = [len(phase_text(c, names)) for _, _, c in lines if c is not None]
    causes = [len(one_line(c.cause)) for _, _, c in lines if c is not None]
    causes += [len(master_cells(m, False)[-1]) for _, m, c in lines if c is None]
    cause = max(5, max(causes, default=0))
    room = width - name - STATUS_WIDTH - eta - 5 * PADDING - min(CAUSE_ROOM, cause)
    if room < PHASE_WIDTH[1]:
        return name, PHASE_WIDTH[0], eta, cause
    return name, max(PHASE_WIDTH[0], min(room, max(phases, default=0))), eta, cause


def detail_text(line: Optional[Line], now: float, names: Mapping[int, str]) -> Text:
    """Everything about the line under the cursor (a cell may be cut on a narrow terminal)."""
    if line is None:
        return Text("")
    _, master, client = line
    if client is None:
        watchers = "; ".join(watcher_text(w) for w in master.watchers)
        return Text(f"{one_line(master.name)}: {watchers}")
    parts = [f"{one_line(master.name)} / {one_line(client.client)}", f"{client.status}"]
    if client.phase:
        took = f" for {human_duration(client.in_phase)}" if client.in_phase is not None else ""
        parts.append(f"phase {phase_text(client, names)}{took}")
    if client.eta is not None:
        basis = "no history: default phase weights" if client.basis_runs == 0 or client.basis == "weights" else (
            f"{client.basis_runs} runs ({one_line(client.basis)})" if client.basis_runs else one_line(client.basis)
        )
        parts.append(f"ETA {eta_text(client, now)}" + (f" from {basis}" if basis else ""))
    if client.last_line_age is not None:
        parts.append(f"last line {human_duration(client.last_line_age)} ago")
    if client.errors:
        parts.append(f"{client.errors} error{'s' if client.errors != 1 else ''}")
    if client.cause:
        parts.append(one_line(client.cause))
    parts.append(f"{one_line(client.instance)} job {one_line(client.job)}")
    return Text(" \u00b7 ".join(parts))


class FleetScreen(Screen[None]):
    """Every master's clients from Prometheus."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "look_now", "Refresh"),
        Binding("f", "problems", "Problems"),
        Binding("enter", "fold", "Fold master", show=False),
    ]

    def __init__(
        self,
        state: FleetState,
        names: Mapping[int, str],
        look_now: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(id="fleet")
        self.state = state
        self.names = names
        self._look_now = look_now
        self.clock = clock
        self.problems_only = False
        self.folded: set[str] = set()
        self.ready = False
        """Composed: the app may refresh it."""
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
            selected = self.selected_key()
            self._fill(table, lines, view.at if view is not None else 0.0, dim=state.error is not None)
            keys = [key for key, _, _ in lines]
            if selected in keys:
                table.move_cursor(row=keys.index(selected), animate=False)
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
            self._cells_shown = cells
            self.lines = lines
            return
        if widths != self._widths:
            self._widths = widths
            table.clear(columns=True)
            for column, label, width in zip(COLUMNS, HEADERS, (name, STATUS_WIDTH, phase, eta, cause)):
                table.add_column(label, width=width, key=column)
        else:
            table.clear()
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
        line = self.selected_line()
        self.query_one("#fleet-detail", Static).update(
            detail_text(line, view.at if view is not None else self.clock(), self.names)
        )

    # ------------------------------------------------------------------ the cursor

    def selected_line(self) -> Optional[Line]:
        table = self.query_one(RowTable)
        if not self.lines or not 0 <= table.cursor_row < len(self.lines):
            return None
        return self.lines[table.cursor_row]

    def selected_key(self) -> Optional[str]:
        line = self.selected_line()
        return line[0] if line is not None else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        line = self.selected_line()
        if line is not None and line[2] is None:
            self.action_fold()

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.ready = False
        self.dismiss()

    def action_look_now(self) -> None:
        self._look_now()
        self.notify("Asking Prometheus again.", timeout=2)

    def action_problems(self) -> None:
        self.problems_only = not self.problems_only
        self.show_state(full=True)

    def action_fold(self) -> None:
        """Fold or unfold the master under the cursor (or the master of the client under it)."""
        line = self.selected_line()
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
