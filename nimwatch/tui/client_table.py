"""The dashboard's table: one row per client, and a row update repaints that row only.

Owns :class:`ClientTable`, a Line API widget (a :class:`~textual.scroll_view.ScrollView`
with ``render_line``) that shows :class:`~nimwatch.views.status_table.ClientRow`
values under a fixed header. The columns are fitted to the width and to the
rows (:func:`~nimwatch.tui.table_cells.fit_layout`); the header marks the
sorted column, a click on it asks for that sort (:class:`ClientTable.HeaderClicked`),
a click on a row opens it. It looks like the row-cursor ``DataTable`` it
replaced, which re-rendered every visible row whenever one cell changed. Here:

* each row is rendered once into a :class:`~textual.strip.Strip` and kept until
  its cells change, the cursor or the mouse comes or goes, or the styles, width,
  columns or horizontal scroll change;
* :meth:`ClientTable.show` compares the new rows with those shown: a changed row
  refreshes its own screen line only, and a new order or set of rows (sort,
  filter, a new client) refreshes the screen lines that show another row than
  before, re-rendering only the rows that changed (a row's line does not
  depend on its place).

Until the user moves it, the cursor stays on the first row: the most urgent
client when sorted by status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Optional

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from nimwatch.tui.table_cells import (
    Layout,
    LineStyles,
    column_at,
    fit_layout,
    line_segments,
    line_styles,
    row_cells,
    signature,
    table_width,
)
from nimwatch.views.status_table import ClientRow

HEADER_HEIGHT = 1


class ClientTable(ScrollView, can_focus=True):
    """The client rows of the dashboard, under a fixed header, with a row cursor."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "clienttable--header",
        "clienttable--cursor",
        "clienttable--hover",
    }

    # The DataTable's look (textual/widgets/_data_table.py), for the parts a row cursor uses.
    DEFAULT_CSS = """
    ClientTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;

        &:focus {
            background-tint: $foreground 5%;
            & > .clienttable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .clienttable--header {
                background-tint: $foreground 5%;
            }
        }
        & > .clienttable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .clienttable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .clienttable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .clienttable--hover {
            background: $block-hover-background;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", show=False),
        Binding("up", "cursor(-1)", "Cursor up", show=False),
        Binding("down", "cursor(1)", "Cursor down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("home,ctrl+home", "first", "First row", show=False),
        Binding("end,ctrl+end", "last", "Last row", show=False),
    ]

    @dataclass
    class RowSelected(Message):
        """Enter, or a click on a row: open this client."""

        log: str

    @dataclass
    class HeaderClicked(Message):
        """A click on a column's header: sort by it (again: the other way)."""

        column: str

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self._layout: Layout = ()
        self._width = 0
        """The width the layout was fitted to (0: not known yet)."""
        self._refit = True
        """The width or the sort changed: fit the columns again with the next :meth:`show`."""
        self.sort = ("status", False)
        """The column the rows are sorted by, and whether descending (the header shows it)."""
        self.user_moved = False
        """The user moved the cursor: it follows its client from then on (before, it stays on the first row)."""
        self._rows: list[ClientRow] = []
        """The rows to show, in order (kept while the layout is not known yet)."""
        self._keys: list[str] = []
        """Logs of the rows shown, in order."""
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._shown: dict[str, ClientRow] = {}
        """The row each client's cells were made from (unchanged rows are skipped)."""
        self._strips: dict[str, tuple[bool, bool, Strip]] = {}
        """Each row's rendered line: (under the cursor, under the mouse, the strip). Independent of
        the row's place, so a new sort or a new client re-renders no row that did not change."""
        self._header: Optional[Strip] = None
        self._styles: dict[tuple[bool, bool], LineStyles] = {}
        """(cursor, hover) -> the cells' styles, the cursor's foreground, the rest of the line's style."""
        self._style_key: tuple[object, ...] = ()
        self.cursor_row = 0
        self.hover_row = -1
        """Row under the mouse (-1: none); highlighted once the mouse moved, until a key is pressed."""
        self.renders = 0
        """Rows rendered into strips so far (the tests read it)."""

    # ------------------------------------------------------------------ public

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def columns(self) -> dict[str, str]:
        """Column key -> header, in order."""
        return {key: label for key, label, _ in self._layout}

    @property
    def column_layout(self) -> Layout:
        """(key, header, width) of each column shown."""
        return self._layout

    @property
    def fitted(self) -> bool:
        """The columns are fitted to the widget's present width (False: a resize or a new sort is pending)."""
        return bool(self._width) and not self._refit and self._width == self._content_width()

    @property
    def selected_log(self) -> Optional[str]:
        """The log of the row under the cursor."""
        return self._keys[self.cursor_row] if 0 <= self.cursor_row < len(self._keys) else None

    def get_row_at(self, index: int) -> tuple[Text, ...]:
        """The cells of the row shown at ``index``."""
        return self._cells[self._keys[index]]

    def set_sort(self, column: str, descending: bool) -> None:
        """The order the rows come in (the header marks it); shown with the next :meth:`show`."""
        if (column, descending) != self.sort:
            self.sort = (column, descending)
            self._refit = True  # the header changes

    def show(self, rows: Sequence[ClientRow]) -> None:
        """Display ``rows`` in this order; only what changed is repainted."""
        self._rows = list(rows)
        if not self._width:
            return
        keys = [row.log for row in rows]
        if self._refit or keys != self._keys or any(self._shown.get(row.log) != row for row in rows):
            self._refit = False
            layout = fit_layout(self._rows, self._width, *self.sort)  # the widths follow the content
            if layout != self._layout:  # every row is made and drawn again
                self._layout = layout
                self._cells = {}
                self._shown = {}
                self._drop_strips()
                self._rebuild(everything=True)
                return
        if keys != self._keys:
            self._rebuild()
            return
        for index, row in enumerate(rows):
            if self._shown.get(row.log) != row:
                self._shown[row.log] = row
                if self._set_cells(row):
                    self._refresh_row(index)

    def move_cursor(self, row: int, scroll: bool = True) -> None:
        """Put the cursor on row ``row`` (clamped), and scroll it into view."""
        new = max(0, min(row, len(self._keys) - 1))
        old, self.cursor_row = self.cursor_row, new
        if new != old:
            self._refresh_row(old)
            self._refresh_row(new)
        if scroll:
            self._scroll_to_cursor()

    # ------------------------------------------------------------------ rows

    def _set_cells(self, row: ClientRow) -> bool:
        """Make ``row``'s cells; True when they look different from before (its strip is dropped)."""
        cells = row_cells(row, self._layout)
        if signature(self._cells.get(row.log, ())) == signature(cells):
            return False
        self._cells[row.log] = cells
        self._strips.pop(row.log, None)
        return True

    def _rebuild(self, everything: bool = False) -> None:
        """A new set or order of rows: keep the cursor on its client, and refresh the screen
        lines that now show another row, or a row that changed (every line if ``everything``)."""
        selected = self.selected_log
        before = [(log, i == self.cursor_row) for i, log in enumerate(self._keys)]
        self._keys = [row.log for row in self._rows]
        places = {log: i for i, log in enumerate(self._keys)}
        changed = {row.log for row in self._rows if self._shown.get(row.log) != row and self._set_cells(row)}
        self._shown = {row.log: row for row in self._rows}
        self._cells = {log: self._cells[log] for log in self._keys}
        self._strips = {log: s for log, s in self._strips.items() if log in places}
        if self.user_moved and selected is not None:
            self.cursor_row = places.get(selected, min(self.cursor_row, max(0, len(self._keys) - 1)))
        else:
            self.cursor_row = 0
        self.virtual_size = Size(table_width(self._layout), HEADER_HEIGHT + len(self._keys))
        if everything:
            self.refresh()
        else:
            top = int(self.scroll_y)
            for index in range(top, top + max(0, self.size.height - HEADER_HEIGHT)):
                now = (self._keys[index], index == self.cursor_row) if index < len(self._keys) else None
                was = before[index] if index < len(before) else None
                if now != was or (now is not None and now[0] in changed):
                    self._refresh_row(index)
        self._scroll_to_cursor()

    def _refresh_row(self, index: int) -> None:
        """Repaint the screen line of row ``index``, if it is on screen."""
        y = index + HEADER_HEIGHT - int(self.scroll_y)
        if HEADER_HEIGHT <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _scroll_to_cursor(self) -> None:
        if not self._keys or not self.is_mounted:
            return
        region = Region(int(self.scroll_x), self.cursor_row + HEADER_HEIGHT, self.size.width, 1)
        self.scroll_to_region(region, animate=False, spacing=Spacing(HEADER_HEIGHT, 0, 0, 0), force=True)

    # ------------------------------------------------------------------ layout

    def on_resize(self, event: events.Resize) -> None:
        width = self._content_width()
        if width != self._width:
            self._width = width
            self._refit = True
            self.show(self._rows)

    def _content_width(self) -> int:
        """The width the columns fit in: the widget's, less a vertical scrollbar's."""
        return max(1, self.size.width - self.styles.scrollbar_size_vertical)

    # ------------------------------------------------------------------ rendering

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drop_strips()
        self.refresh()

    def _drop_strips(self) -> None:
        self._strips = {}
        self._styles = {}
        self._header = None

    def render_lines(self, crop: Region) -> list[Strip]:
        # Strips hold the widget's colours and are cropped to its width and horizontal scroll:
        # a new theme, focus, width or scroll renders them again.
        key = (self.size.width, int(self.scroll_x), self.rich_style, self.get_pseudo_class_state())
        if key != self._style_key:
            self._style_key = key
            self._drop_strips()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y < HEADER_HEIGHT:
            if self._header is None:
                labels = [Text(label, no_wrap=True, overflow="ellipsis") for _, label, _ in self._layout]
                styles = line_styles(len(self._layout), self.get_component_rich_style("clienttable--header"))
                self._header = self._render_line_of(labels, styles, width)
            return self._header
        index = y - HEADER_HEIGHT + int(self.scroll_y)
        if index >= len(self._keys):
            return Strip.blank(width, self.rich_style)
        log = self._keys[index]
        cursor = index == self.cursor_row
        hover = index == self.hover_row
        cached = self._strips.get(log)
        if cached is not None and cached[0] == cursor and cached[1] == hover:
            return cached[2]
        strip = self._render_line_of(self._cells[log], self._row_styles(cursor, hover), width)
        self._strips[log] = (cursor, hover, strip)
        self.renders += 1
        return strip

    def _row_styles(self, cursor: bool, hover: bool) -> LineStyles:
        styles = self._styles.get((cursor, hover))
        if styles is None:
            component = Style()
            if hover:
                component += self.get_component_rich_style("clienttable--hover")
            if cursor:
                component += self.get_component_rich_style("clienttable--cursor")
            styles = self._styles[cursor, hover] = line_styles(len(self._layout), self.rich_style, component)
        return styles

    def _render_line_of(self, cells: Sequence[Text], styles: LineStyles, width: int) -> Strip:
        """One table line: every cell padded and styled, then the rest of the line."""
        segments = line_segments(self._layout, cells, styles, self.app.console)
        segments.append(Segment(" " * max(0, width - table_width(self._layout)), styles[2]))
        strip = Strip(segments)
        scroll_x = int(self.scroll_x)
        if scroll_x:
            strip = strip.crop(scroll_x, scroll_x + width)
        return strip.adjust_cell_length(width, self.rich_style).simplify()

    # ------------------------------------------------------------------ keys and mouse

    def action_cursor(self, step: int) -> None:
        self._set_hover(-1)
        self.user_moved = True
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self._set_hover(-1)
        self.user_moved = True
        page = max(1, self.scrollable_content_region.height - HEADER_HEIGHT)
        self.scroll_relative(y=direction * page, animate=False, force=True)
        self.move_cursor(self.cursor_row + direction * page, scroll=False)

    def action_first(self) -> None:
        self.action_cursor(-self.cursor_row)

    def action_last(self) -> None:
        self.action_cursor(len(self._keys) - 1 - self.cursor_row)

    def action_select_cursor(self) -> None:
        self._set_hover(-1)
        log = self.selected_log
        if log is not None:
            self.post_message(self.RowSelected(log))

    def _row_at(self, event: events.MouseEvent) -> int:
        """The row under the mouse, -1 for the header or below the last row."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < HEADER_HEIGHT:
            return -1
        index = offset.y - HEADER_HEIGHT + int(self.scroll_y)
        return index if index < len(self._keys) else -1

    def _set_hover(self, index: int) -> None:
        old, self.hover_row = self.hover_row, index
        if old != index:
            self._refresh_row(old)
            self._refresh_row(index)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self._row_at(event))

    def on_leave(self, event: events.Leave) -> None:
        self._set_hover(-1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y < HEADER_HEIGHT:
            column = column_at(self._layout, offset.x + int(self.scroll_x))
            if column is not None:
                event.stop()
                self.post_message(self.HeaderClicked(column))
            return
        index = self._row_at(event)
        if index < 0:
            return
        event.stop()
        self.user_moved = True
        self.move_cursor(index)
        self._set_hover(index)
        self.action_select_cursor()
