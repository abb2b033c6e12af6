"""What the dashboard's table draws: the columns for a width, each row's cells, a line of segments.

Owns the styles of the dashboard (:data:`STATUS_STYLE`, :data:`REBOOT_STYLE`,
:data:`SEVERITY_STYLE`), :func:`fit_layout` (the columns of
:func:`nimwatch.views.columns.table_columns` fitted to the widget's width,
with the cell padding and the sort marker), :func:`row_cells` (a
:class:`~nimwatch.views.status_table.ClientRow` as Rich ``Text`` cells) and
:func:`cell_segments` (a cell laid out and styled as a ``DataTable`` lays out
its cells, at a fraction of the cost). Used by
:class:`~nimwatch.tui.client_table.ClientTable`; no widget here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Optional

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from nimwatch.views.columns import Column, fit_columns, table_columns
from nimwatch.views.status_table import ClientRow, bar, fmt_duration, percent

STATUS_STYLE = {
    "running": "cyan",
    "succeeded": "green",
    "failed": "bold red",
    "stalled": "bold yellow",
    "incomplete": "magenta",
    "other": "",
}
"""Rich styles of the statuses: the 16 basic colours, so they hold on an aixterm."""
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": ""}
REBOOT_STYLE = {
    "safe": "bold green",
    "wait": "dim",
    "do_not_reboot": "yellow",
    "check_bootlist": "bold yellow",
    "reset_bootlist": "bold red",
    "not_applicable": "dim",
}
"""The Reboot column: green when ready, red only where a reboot now would boot a broken system."""
CAUSE_STYLE = {"error": "red", "warning": "yellow", "info": ""}

CELL_PADDING = 1
"""Blank cells either side of every cell."""
SORT_MARK = {False: "▲", True: "▼"}
"""The sorted column's header mark: ascending, descending."""
_NEWLINE = Text("\n")

Layout = tuple[tuple[str, str, int], ...]
"""(key, header, width) of each column shown."""
Signature = tuple[tuple[str, str, tuple[object, ...]], ...]
LineStyles = tuple[list[Style], Style, Style]
"""Each cell's style, the cursor's foreground over the cells, the style of the rest of the line."""


def fit_layout(rows: Sequence[ClientRow], width: int, sort: str, descending: bool) -> Layout:
    """The columns shown in ``width`` cells, each with its header (the sorted one marked) and its width."""
    columns: list[Column] = []
    for column in table_columns(rows, progress=15):
        if column.key == sort:
            column = replace(column, label=f"{column.label} {SORT_MARK[descending]}")
            column = replace(column, natural=max(column.natural, len(column.label)))
        columns.append(column)
    fitted = fit_columns(columns, max(1, width - 2 * CELL_PADDING), gap=2 * CELL_PADDING)
    return tuple((column.key, column.label, size) for column, size in fitted)


def column_at(layout: Layout, x: int) -> Optional[str]:
    """The column under ``x`` (cells from the table's left edge), or None."""
    left = 0
    for key, _, width in layout:
        right = left + width + 2 * CELL_PADDING
        if left <= x < right:
            return key
        left = right
    return None


def row_cells(row: ClientRow, layout: Layout) -> tuple[Text, ...]:
    """``row``'s cells for the columns of ``layout``, in order."""
    style = STATUS_STYLE[row.status]
    cells: list[Text] = []
    for key, _, width in layout:
        if key == "status":
            cells.append(Text(f"{row.symbol} {row.status}", style=style))
        elif key == "client":
            cells.append(Text(row.label, no_wrap=True, overflow="ellipsis"))
        elif key == "phase":
            cells.append(Text(row.phase_label, no_wrap=True, overflow="ellipsis"))
        elif key == "nim":
            cells.append(Text(row.nim or "-", no_wrap=True, overflow="ellipsis"))
        elif key == "progress":
            cells.append(Text.assemble((bar(row.fraction, max(3, width - 5)), style), " ", percent(row.fraction)))
        elif key == "elapsed":
            cells.append(Text(fmt_duration(row.elapsed), justify="right"))
        elif key == "eta":
            cells.append(Text(row.eta_text, justify="right", no_wrap=True, overflow="ellipsis"))
        elif key == "findings":
            cells.append(Text(str(row.findings), style=SEVERITY_STYLE.get(row.worst or "", ""), justify="right"))
        elif key == "reboot":
            cells.append(Text(row.reboot_word, style=REBOOT_STYLE[row.reboot], no_wrap=True, overflow="ellipsis"))
        elif key == "cause":
            cause_style = CAUSE_STYLE.get(row.cause_severity or "", "")
            cells.append(Text(row.cause, style=cause_style, no_wrap=True, overflow="ellipsis"))
        else:
            cells.append(Text(row.last_line, no_wrap=True, overflow="ellipsis"))
    return tuple(cells)


def signature(cells: Sequence[Text]) -> Signature:
    """What makes two cells look the same (Text equality ignores the base style)."""
    return tuple((c.plain, str(c.style), tuple(c.spans)) for c in cells)


def table_width(layout: Layout) -> int:
    return sum(width + 2 * CELL_PADDING for _, _, width in layout)


def line_styles(columns: int, row_style: Style, component: Optional[Style] = None) -> LineStyles:
    """A line's styles as a DataTable makes them: each cell's (with the column in its meta, which
    keeps the cells apart as separate segments), the cursor's foreground put over the cell's
    own, and the style of the rest of the line."""
    component = component if component is not None else Style()
    cells = [row_style + Style.from_meta({"column": column}) + component for column in range(columns)]
    post = Style.from_color(color=component.color)
    extend = row_style + component + Style.from_meta({"column": 0, "out_of_bounds": True})
    return cells, post, extend


def line_segments(layout: Layout, cells: Sequence[Text], styles: LineStyles, console: object) -> list[Segment]:
    """One table line without what follows the last column: every cell padded and styled."""
    pres, post, _ = styles
    segments: list[Segment] = []
    for (_, _, cell_width), cell, pre in zip(layout, cells, pres):
        segments.extend(cell_segments(cell, cell_width, pre, post, console))
    return segments


def cell_segments(cell: Text, width: int, pre: Style, post: Style, console: object) -> list[Segment]:
    """``cell`` on one line of ``width`` cells plus the padding, styled as a DataTable cell
    (``Styled(Padding(cell, (0, 1)), pre_style=pre, post_style=post)``). A cell is justified right or not
    at all (:func:`row_cells` and the header make no other)."""
    line = cell.copy()
    if "\n" in line.plain:
        line = line.split("\n")[0]
    if "\t" in line.plain:
        line.expand_tabs()
    overflow = cell.overflow or "fold"
    if cell.justify == "right":
        line.rstrip()
        line.truncate(width, overflow=overflow)
        line.pad_left(width - line.cell_len)
    line.truncate(width, overflow=overflow)
    blank = " " * CELL_PADDING
    inner = [Segment(blank, pre)]
    # Joined as Text.__rich_console__ joins lines: the cell's own style becomes a span.
    for segment in _NEWLINE.join([line]).render(console):  # type: ignore[arg-type]
        text, style, _ = segment
        inner.append(Segment(text, pre + style if style else pre))
    pad = width - line.cell_len
    if pad > 0:
        inner.append(Segment(" " * pad, pre))
    inner.append(Segment(blank, pre))
    if post:
        return [Segment(text, (style + post) if style else post) for text, style, _ in inner]
    return inner
