"""The fleet view as plain text and as JSON: one block per NIM master, one line per client.

Owns :func:`render_text`, :func:`render_json` and :func:`printable`. Every
name that comes from Prometheus (masters, instances, clients: label values a
log file name or a scrape config chose) is escaped before it is printed:
control characters become ``\\xNN``, and without a UTF-8 output everything
outside ASCII becomes ``\\xNN``/``\\uNNNN``. JSON is ASCII-only
(``ensure_ascii``), so any terminal and any locale can show it.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections import Counter
from collections.abc import Mapping

from nimwatch.fleet import ClientView, FleetView, MasterView, WatcherView, human_duration
from nimwatch.schema import SCHEMA_VERSION

WATCHER_WORDS = {
    "up": "watcher up",
    "stopped": "watcher STOPPED (clean exit)",
    "down": "watcher DOWN (scrapes fail)",
    "stale": "watcher STALE (no heartbeat)",
}

COLUMN_CAPS = (10, 24, 32, 28)
"""Widest status, client, phase and ETA cells; longer ones are cut with ``~`` (the cause is never cut)."""


# C0, DEL and C1 controls, the bidirectional marks and overrides (they reorder what a terminal shows after them), and
# lone surrogates (they cannot be encoded at all).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str, ascii_only: bool = False) -> str:
    """``text`` safe to print: control characters (C0, DEL, C1) and bidirectional overrides escaped, and non-ASCII
    too if asked."""
    text = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)
    return text.encode("ascii", "backslashreplace").decode("ascii") if ascii_only else text


def clock(at: float, now: float) -> str:
    """A finish time in local time: ``14:50`` within a day, else ``Jun 11 02:10``."""
    return time.strftime("%H:%M" if abs(at - now) < 20 * 3600 else "%b %d %H:%M", time.localtime(at))


def eta_cell(row: ClientView, now: float) -> str:
    if row.eta is None or row.finish_at is None:
        return "-"
    basis = ""
    if row.basis_runs is not None:
        basis = " no history" if row.basis == "weights" or row.basis_runs == 0 else f" {row.basis_runs} runs"
    return f"{human_duration(row.eta)} ({clock(row.finish_at, now)}){basis}"


def phase_cell(row: ClientView, names: Mapping[int, str]) -> str:
    if not row.phase:
        return "-"
    return f"{row.phase}/12 {names.get(row.phase, '')}".rstrip()


def watcher_line(watcher: WatcherView, ascii_only: bool) -> str:
    words = WATCHER_WORDS.get(watcher.state, watcher.state)
    age = watcher.heartbeat_age
    beat = f", heartbeat {human_duration(age)} ago" if age is not None else ""
    where = printable(watcher.instance, ascii_only)
    if watcher.job:
        where += f" job {printable(watcher.job, ascii_only)}"
    return f"{words} ({where}){beat}"


def _master_block(master: MasterView, view: FleetView, names: Mapping[int, str], ascii_only: bool) -> list[str]:
    show = functools.partial(printable, ascii_only=ascii_only)
    watchers = "; ".join(watcher_line(w, ascii_only) for w in master.watchers)
    lines = [f"{show(master.name)}  {watchers}"]
    if not master.clients:
        return [*lines, "  (no client logs)"]
    table = [("STATUS", "CLIENT", "PHASE", "ETA", "CAUSE")]
    table += [
        (r.status, show(r.client), phase_cell(r, names), eta_cell(r, view.at), show(r.cause)) for r in master.clients
    ]
    widths = [min(cap, max(len(r[i]) for r in table)) for i, cap in enumerate(COLUMN_CAPS)]
    for cells in table:
        first = [c if len(c) <= w else c[: w - 1] + "~" for c, w in zip(cells[:4], widths)]
        lines.append(("  " + "  ".join(c.ljust(w) for c, w in zip(first, widths)) + "  " + cells[4]).rstrip())
    return lines


def summary(view: FleetView) -> str:
    clients = view.clients
    parts = [f"{n} {status}" for status, n in sorted(Counter(row.status for row in clients).items())]
    bad = sum(1 for m in view.masters if m.state != "up")
    masters = f"{len(view.masters)} master{'s' if len(view.masters) != 1 else ''}"
    if bad:
        masters += f" ({bad} watcher{'s' if bad != 1 else ''} not up)"
    return f"{masters}, {len(clients)} client{'s' if len(clients) != 1 else ''}" + (
        ": " + ", ".join(parts) if parts else ""
    )


def render_text(view: FleetView, names: Mapping[int, str], ascii_only: bool = False) -> str:
    """The fleet as text: a summary line, then one block per master."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(view.at))
    lines = [f"nimwatch fleet  {printable(view.url, ascii_only)}  {stamp}", summary(view), ""]
    for master in view.masters:
        lines.extend(_master_block(master, view, names, ascii_only))
        lines.append("")
    return "\n".join(lines)


def render_json(view: FleetView) -> str:
    """The fleet as one JSON document (ASCII only)."""
    return json.dumps({"schema": SCHEMA_VERSION, **view.to_json()}, indent=2, ensure_ascii=True) + "\n"
