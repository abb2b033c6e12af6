"""The fleet screen's lines and cells: pure layout over a :class:`~nimwatch.fleet.FleetView`.

Owns the order of the lines (:func:`master_order`, :func:`fleet_lines`: what needs a person
first), each line's cells (:func:`master_cells`, :func:`client_cells`), the columns' widths
(:func:`column_widths`) and the line at the bottom (:func:`detail_text`). Prometheus' answer is
untrusted text: every name goes through :func:`one_line`. No screen here
(:class:`~nimwatch.tui.fleet.FleetScreen` draws them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Optional

from rich.text import Text

from nimwatch.fleet import STATUS_RANK, ClientView, FleetView, MasterView, WatcherView, human_duration
from nimwatch.terminal import escape_controls
from nimwatch.tui.table_cells import STATUS_STYLE
from nimwatch.views.fleet_text import clock
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
    return f"{client.phase}/12 {names.get(client.phase, '')}".rstrip() if client.phase else "-"


def status_counts(clients: Sequence[ClientView]) -> str:
    """``4 clients: 1 failed, 1 running, 2 succeeded`` (most urgent first)."""
    counts = Counter(client.status for client in clients)
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
    if master.state == "up":
        beat = beat_text(master.watchers)
        cause = Text(status_counts(master.clients) + (f" \u00b7 {beat}" if beat else ""))
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
    clients = [c for _, _, c in lines if c is not None]
    masters = [m for _, m, c in lines if c is None]
    labels = [len(one_line(c.client)) + len(INDENT) for c in clients] + [len(one_line(m.name)) + 2 for m in masters]
    name = max(CLIENT_WIDTH[0], min(CLIENT_WIDTH[1], width // 5, max(labels, default=0)))
    eta = max(ETA_WIDTH[0], min(ETA_WIDTH[1], max((len(eta_text(c, now)) for c in clients), default=0)))
    phases = [len(phase_text(c, names)) for c in clients]
    causes = [len(one_line(c.cause)) for c in clients] + [len(master_cells(m, False)[-1]) for m in masters]
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
