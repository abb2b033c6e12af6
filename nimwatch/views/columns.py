"""The dashboard's columns, fitted to the terminal's width: the TUI's and ``nimwatch status``'s.

Owns :data:`COLUMN_LABELS`, :func:`table_columns` (the columns sized to the
rows shown), :class:`Column` and :func:`fit_columns`. Each column says what its content
wants (``natural``: the longest cell, e.g. the longest client name), how far it
may be squeezed (``least``), whether it takes a share of the spare width
(``grow``) and when it gives way on a narrow terminal (``drop``). Pure.

The rules, in order:

1. Columns are dropped, lowest ``drop`` first, while the table does not fit
   with the ``grow`` columns at their narrowest and the others at their
   natural width (``drop`` 0: never).
2. The other columns take their natural width; the ``grow`` columns get what
   is left, from their ``least`` up to their natural width: the highest
   ``grow`` first, equal shares among columns of the same ``grow`` (an
   ellipsis shows where a cell is cut).
3. When even that does not fit, the other columns shrink too, highest
   ``squeeze`` first, down to their ``least``; a column that ``yields`` (the
   progress bar) shrinks as soon as a growing column would be cut.
4. A droppable column that grows less (the last line) is dropped while one
   that grows more (the cause, the phase) is cut short.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nimwatch.views.status_table import SYMBOL, ClientRow, fmt_duration


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    natural: int
    """What the column's content wants (its longest cell, or its label)."""
    least: int = 0
    """The narrowest it may be squeezed to (0: its natural width, it never shrinks)."""
    grow: int = 0
    """Its claim on the spare width: 0 none; columns with a higher value are served first."""
    drop: int = 0
    """0: never dropped; else dropped, lowest first, when the narrowest widths do not fit."""
    squeeze: int = 0
    """Order in which columns shrink: highest first."""
    yields: bool = False
    """Shrinks (down to ``least``) before a column of the highest ``grow`` is cut short (the progress bar)."""

    @property
    def narrowest(self) -> int:
        return min(self.least, self.natural) if self.least else self.natural


def fit_columns(columns: Sequence[Column], width: int, gap: int = 1) -> list[tuple[Column, int]]:
    """The columns shown and their widths, in order, in ``width`` cells with ``gap`` cells between columns."""
    shown = list(columns)
    droppable = sorted((c for c in shown if c.drop), key=lambda c: c.drop)
    while sum(c.narrowest if c.grow else c.natural for c in shown) + gap * (len(shown) - 1) > width and droppable:
        shown.remove(droppable.pop(0))
    fitted = _widths(shown, width, gap)
    while True:  # a column that grows less gives way while one that grows more is cut short
        starving = max((c.grow for c in shown if c.grow and fitted[c.key] < c.natural), default=0)
        lesser = [c for c in droppable if c in shown and 0 < c.grow < starving]
        if not lesser:
            return [(c, fitted[c.key]) for c in shown]
        shown.remove(lesser[0])
        fitted = _widths(shown, width, gap)


def _widths(shown: Sequence[Column], width: int, gap: int) -> dict[str, int]:
    room = width - gap * (len(shown) - 1)
    widths = {c.key: c.narrowest if c.grow else c.natural for c in shown}
    flexible = [c for c in shown if c.grow]
    left = room - sum(widths.values())
    if left < 0:  # even the growing columns at their narrowest do not fit: the others give way too
        for column in sorted((c for c in shown if not c.grow), key=lambda c: -c.squeeze):
            give = min(-left, widths[column.key] - column.narrowest)
            widths[column.key] -= give
            left += give
    left = _grow(flexible, widths, left)
    first = [c for c in flexible if c.grow == max(f.grow for f in flexible)]
    for column in (c for c in shown if c.yields and not c.grow):
        wanted = sum(c.natural - widths[c.key] for c in first)
        give = min(wanted, widths[column.key] - column.narrowest)
        if give > 0:
            widths[column.key] -= give
            left = _grow(flexible, widths, left + give)
    return widths


def _grow(flexible: Sequence[Column], widths: dict[str, int], left: int) -> int:
    """Give ``left`` cells to the growing columns, the highest ``grow`` first; returns what is left."""
    for tier in sorted({c.grow for c in flexible}, reverse=True):
        hungry = [c for c in flexible if c.grow == tier and c.natural > widths[c.key]]
        while left > 0 and hungry:  # equal shares, each capped at what its content wants
            share = max(1, left // len(hungry))
            for column in hungry:
                extra = min(share, column.natural - widths[column.key], left)
                widths[column.key] += extra
                left -= extra
            hungry = [c for c in hungry if c.natural > widths[c.key]]
    return left


COLUMN_LABELS = {
    "status": "Status",
    "client": "Client",
    "phase": "Phase",
    "nim": "NIM state",
    "progress": "Progress",
    "elapsed": "Elapsed",
    "eta": "ETA",
    "findings": "Find",
    "reboot": "Reboot",
    "cause": "Cause",
    "last": "Last line",
}
"""The columns of both tables, in order, and their headers."""


def table_columns(rows: Sequence[ClientRow], progress: int = 15) -> list[Column]:
    """The dashboard's columns sized to ``rows``: full client names, spare width to Phase, Cause and Last line.

    Elapsed and ETA are left out while no row has them (no arrival times are
    known), the NIM state while the cross-check is off. On a narrow terminal
    the last line gives way first (the cause says more), then the ETA, the
    elapsed time, the findings count, the NIM state and the progress bar; the
    status, client, phase, reboot readiness and cause never do.
    """

    def longest(values: Iterable[str], label: str) -> int:
        return max([len(label), *(len(v) for v in values)])

    L = COLUMN_LABELS
    columns = [
        Column("status", L["status"], longest((f"{SYMBOL[r.status]} {r.status}" for r in rows), "? incomplete"),
               least=8, squeeze=4),
        Column("client", L["client"], longest((r.label for r in rows), L["client"]), least=8, squeeze=2),
        Column("phase", L["phase"], longest((r.phase_label for r in rows), L["phase"]), least=12, grow=2),
        Column("nim", L["nim"], min(48, longest((r.nim for r in rows), L["nim"])), least=9, squeeze=1, drop=5),
        Column("progress", L["progress"], progress, least=9, squeeze=1, drop=6, yields=True),
        # times up to 10 hours fit (a clock ticking past 1:00:00 does not move every column: a full repaint)
        Column("elapsed", L["elapsed"], longest((fmt_duration(r.elapsed) for r in rows), "00:00:00"), drop=3),
        Column("eta", L["eta"], longest((r.eta_text for r in rows), "~00:00:00"), drop=2),
        Column("findings", L["findings"], longest((str(r.findings) for r in rows), L["findings"]), drop=4),
        Column("reboot", L["reboot"], longest((r.reboot_word for r in rows), L["reboot"]), least=6, squeeze=3),
        Column("cause", L["cause"], longest((r.cause for r in rows), L["cause"]), least=18, grow=2),
        Column("last", L["last"], longest((r.last_line for r in rows), L["last"]), least=30, grow=1, drop=1),
    ]
    unknown = {
        "elapsed": all(r.elapsed is None for r in rows),
        "eta": all(r.eta is None for r in rows),
        "nim": not any(r.nim for r in rows),  # the NIM state cross-check is off (``nim_state:``)
    }
    return [c for c in columns if not unknown.get(c.key, False)]
