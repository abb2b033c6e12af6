"""The plain dashboard of ``nimwatch status``: one line per client, fitted to the width.

Owns :func:`render_table` and the colours of the plain table. No Textual: this
is the fallback for terminals where the TUI cannot draw. The rows' text from
logs is already escaped (:mod:`nimwatch.views.status_table`).
"""

from __future__ import annotations

from collections.abc import Sequence

from nimwatch.core.state import SinkState
from nimwatch.terminal import escape_controls
from nimwatch.views.columns import fit_columns, table_columns
from nimwatch.views.status_table import (
    ASCII_SYMBOL,
    SYMBOL,
    ClientRow,
    bar,
    fmt_duration,
    percent,
    status_counts,
    summary,
)
from nimwatch.vocabulary import iso

ANSI_COLOUR = {
    "running": "36",
    "succeeded": "32",
    "failed": "1;31",
    "stalled": "1;33",
    "incomplete": "35",
    "other": "0",
}
"""SGR colour codes of the plain table (the 16 basic colours)."""
REBOOT_COLOUR = {
    "safe": "1;32",
    "wait": "33",
    "do_not_reboot": "33",
    "check_bootlist": "1;33",
    "reset_bootlist": "1;31",
}
"""SGR colour codes of the Reboot column: green ready, yellow wait or do not, red only where a reboot now does harm."""


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return ""
    if len(text) <= width:
        return text.ljust(width)
    if width == 1:
        return text[:1]
    return text[: width - 1] + "~"


def render_table(
    rows: Sequence[ClientRow],
    width: int = 100,
    *,
    colour: bool = False,
    ascii_only: bool = False,
    sinks: Sequence[SinkState] = (),
) -> str:
    """The plain dashboard: a header, one line per row, the summary line, then what needs saying whole.

    Under the table: how nimadm ended (``nimwatch run``), the hooks that failed for a client's
    latest run and the alert sinks that are failing (``sinks``: the fleet's state).

    Every line fits in ``width`` columns (:func:`table_columns`): a cell cut
    short ends with ``~``. Status reads without colour: a symbol and the word.
    """
    symbols = ASCII_SYMBOL if ascii_only else SYMBOL
    layout = fit_columns(table_columns(rows), width, gap=1)
    right = {"elapsed", "eta", "findings"}

    def cell(key: str, text: str, size: int) -> str:
        if key in right and len(text) <= size:
            return text.rjust(size)
        return _fit(text, size)

    lines = [" ".join(cell(c.key, c.label.upper(), w) for c, w in layout).rstrip()]
    bar_cells = max(3, dict((c.key, w) for c, w in layout).get("progress", 15) - 5)
    for row in rows:
        values = {
            "status": f"{symbols[row.status]} {row.status}",
            "client": row.label,
            "phase": row.phase_label.replace("—", "-") if ascii_only else row.phase_label,
            "nim": row.nim or "-",
            "progress": f"{bar(row.fraction, bar_cells, ascii_only=ascii_only)} {percent(row.fraction)}",
            "elapsed": fmt_duration(row.elapsed),
            "eta": row.eta_text,
            "findings": str(row.findings),
            "reboot": row.reboot_word,
            "cause": row.cause,
            "last": row.last_line,
        }
        sgr = {"status": ANSI_COLOUR[row.status], "reboot": REBOOT_COLOUR.get(row.reboot)} if colour else {}
        cells = [(c.key, cell(c.key, values[c.key], size)) for c, size in layout]
        lines.append(" ".join(f"\x1b[{sgr[k]}m{text}\x1b[0m" if sgr.get(k) else text for k, text in cells).rstrip())
    text = summary(rows)
    if len(text) > width:
        text = f"{len(rows)} clients: " + ", ".join(f"{n} {s}" for s, n in status_counts(rows).items() if n)
    lines.append(text[:width])
    for row in rows:  # how nimadm ended, for the runs nimwatch run started: under the table, whole
        if row.nimadm:
            lines.append(f"{row.client}: {row.nimadm}")
        if row.hooks:
            lines.append(f"{row.client}: {row.hooks}")
    for sink in sinks:
        retry = f"; next try {iso(sink.next_try)}" if sink.next_try is not None else ""
        lines.append(
            f"alert sink {sink.name} ({sink.type}) failing: {sink.pending} alert(s) pending after "
            f"{sink.attempts} failed tries: {escape_controls(sink.last_error)}{retry}"
        )
    return "\n".join(lines) + "\n"
