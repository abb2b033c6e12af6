"""The one-line fleet summary every screen shows at its top, and the terminal title.

Owns :class:`SummaryBar` (``25 clients: ▶ 2 running ‖ 0 stalled ✖ 11 failed ...
ready to reboot: 8  alerts: 3 new``, shortened on narrow terminals) and
:func:`title_text` (``nimwatch: 2 failed, 5 running``), both made from the
rows of the last refresh (:attr:`TuiContext.fleet
<nimwatch.tui.context.TuiContext.fleet>`), so that a failure shows on every
screen, not only on the dashboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from rich.text import Text
from textual.widgets import Static

from nimwatch.tui.table_cells import STATUS_STYLE
from nimwatch.views.status_table import SYMBOL, ClientRow, status_counts

TITLE_STATUSES = ("failed", "stalled", "incomplete", "running")
"""What the terminal title counts (the rest is "done")."""


def title_text(rows: Sequence[ClientRow]) -> str:
    """``nimwatch: 2 failed, 5 running``; ``nimwatch: 20 succeeded`` when nothing needs watching."""
    counts = status_counts(rows)
    parts = [f"{counts[status]} {status}" for status in TITLE_STATUSES if counts[status]]
    if not parts:
        parts = [f"{count} {status}" for status, count in counts.items() if count] or ["no clients yet"]
    return "nimwatch: " + ", ".join(parts)


def summary_text(rows: Sequence[ClientRow], new_alerts: int, compact: bool, extra: str = "") -> Text:
    """``17 clients: ▶ 2 running ✖ 6 failed ...  ready: 3  alerts: 3 new`` and ``extra`` (dim).

    Compact (narrow terminals): zero counts and the words go, the symbols stay.
    """
    counts = status_counts(rows)
    text = Text.assemble((f"{len(rows)} client{'' if len(rows) == 1 else 's'}", "bold"), ":")
    for status, count in counts.items():
        if (compact or status == "other") and not count:
            continue
        label = f" {SYMBOL[status]}{count}" if compact else f" {SYMBOL[status]} {count} {status}"
        text.append(label, style=STATUS_STYLE[status] if count else "dim")
    ready = sum(1 for row in rows if row.reboot == "safe")
    if ready:
        text.append("  ready: " if compact else "  ready to reboot: ")
        text.append(str(ready), style="bold green")
    text.append("  alerts: " if not compact else "  ")
    alerts = f"{new_alerts} new" if not compact else f"{new_alerts} alerts"
    text.append(alerts, style="bold red" if new_alerts else "dim")
    if extra:
        text.append(f"  {extra}", style="dim")
    return text


class SummaryBar(Static):
    """One line, always: it never asks for a layout pass (a layout repaints the whole screen)."""

    def __init__(self, *, id: str = "summary") -> None:
        super().__init__(id=id)
        self._shown: tuple[str, tuple[object, ...]] = ("", ())
        self._args: Optional[tuple[Sequence[ClientRow], int, Sequence[str]]] = None

    def on_resize(self) -> None:
        if self._args is not None:
            self.show(*self._args)

    def show(self, rows: Sequence[ClientRow], new_alerts: int, extras: Sequence[str] = ("",)) -> None:
        """The longest form that fits: full with each of ``extras`` in turn, then compact."""
        self._args = (rows, new_alerts, extras)
        if not self.size.width:
            return  # not laid out yet: shown on its first resize
        width = max(20, self.size.width - 2)
        text = Text()
        for compact, extra in ((compact, extra) for compact in (False, True) for extra in extras):
            text = summary_text(rows, new_alerts, compact, extra)
            if text.cell_len <= width:
                break
        text.truncate(width, overflow="ellipsis")
        shown = (text.plain, tuple(text.spans))
        if shown != self._shown:
            self._shown = shown
            self.update(text, layout=False)
