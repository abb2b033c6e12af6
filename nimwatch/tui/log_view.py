"""The log view of the client detail: highlighted, filterable, searchable, following.

Owns :class:`LogView`, a Line API widget (only the lines on screen are
rendered, so a 20,000-line phase 6 scrolls as fast as a short log). It shows
the first ``limit`` lines of the file, that is what the engine has read, with
line numbers; banners, errors and warnings are highlighted (a finding on the
line decides its colour); a filter keeps only the lines containing a text;
search marks every match and moves between matching lines; a cursor line is
what "jump to finding" moves; follow mode keeps the cursor on the last line
as lines arrive. Moving the cursor by hand ends follow mode. Every move of
the cursor and every change of follow mode posts :class:`LogView.Moved` (the
detail screen's status line follows it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Optional

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from nimwatch.tui.log_lines import LogLines, line_kind

MAX_WIDTH = 600
"""Widest horizontal scroll offered (cells)."""


class LogView(ScrollView, can_focus=True):
    """One log's text with highlighting, filter, search, a cursor and follow mode."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "logview--gutter",
        "logview--banner",
        "logview--error",
        "logview--warning",
        "logview--match",
        "logview--cursor",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First line", show=False),
        Binding("end", "last", "Last line", show=False),
    ]

    follow: reactive[bool] = reactive(True)
    """Keep the cursor on the last line as lines arrive."""

    class Moved(Message):
        """The cursor moved, or follow mode changed."""

    def __init__(self, path: str, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.source = LogLines(path)
        self.limit = 0
        self.severity: dict[int, str] = {}
        self.filter_text = ""
        self.search_text = ""
        self.cursor = 0
        """Index into the visible lines."""
        self._visible: Optional[list[int]] = None
        """0-based indexes of the lines shown; None when no filter is set (all lines)."""
        self._width = 0
        self._pending_scroll: Optional[bool] = None

    # ------------------------------------------------------------------ model

    @property
    def count(self) -> int:
        """Lines shown (after the filter)."""
        return len(self._visible) if self._visible is not None else min(self.limit, len(self.source.lines))

    def line_index(self, visible_index: int) -> int:
        return self._visible[visible_index] if self._visible is not None else visible_index

    @property
    def cursor_line(self) -> int:
        """The 1-based log line under the cursor (0 when nothing is shown)."""
        return self.line_index(min(self.cursor, self.count - 1)) + 1 if self.count else 0

    def visible_lines(self) -> list[int]:
        """1-based numbers of the lines shown (the filter applied)."""
        return [self.line_index(i) + 1 for i in range(self.count)]

    def set_limit(self, limit: int) -> None:
        """The engine has read ``limit`` lines: show that many."""
        keep = self.cursor_line
        self.source.load(limit)
        self.limit = min(limit, len(self.source.lines))
        self._apply_filter(keep)
        if self.follow:
            self.cursor = max(0, self.count - 1)
        self._resize()
        if self.follow:
            self._move(self.cursor)
        self.refresh()

    def set_findings(self, severity_by_line: Mapping[int, str]) -> None:
        self.severity = dict(severity_by_line)
        self.refresh()

    def set_filter(self, text: str) -> None:
        keep = self.cursor_line
        self.filter_text = text
        self._apply_filter(keep)
        self._resize()
        self._move(self.cursor, center=True)

    def set_search(self, text: str) -> bool:
        """Mark ``text`` and move to its next match from the cursor; False when nothing matches."""
        self.search_text = text
        self.refresh()
        return not text or self.next_match(1, include_current=True)

    def next_match(self, direction: int, include_current: bool = False) -> bool:
        """Move to the next (1) or previous (-1) line containing the search text, wrapping around."""
        needle = self.search_text.lower()
        total = self.count
        if not needle or not total:
            return False
        start = self.cursor if include_current else self.cursor + direction
        for step in range(total):
            index = (start + direction * step) % total
            if needle in self.source.lines[self.line_index(index)].lower():
                self._move(index, center=True)
                return True
        return False

    def jump_to_line(self, line: int) -> None:
        """Put the cursor on log line ``line`` (1-based), lifting the filter if it hides it."""
        target = line - 1
        if self._visible is not None and target not in self._visible:
            self.filter_text = ""
            self._visible = None
            self._resize()
        self._move(self._visible.index(target) if self._visible is not None else target, center=True)  # _move clamps

    def _apply_filter(self, keep_line: int) -> None:
        if not self.filter_text:
            self._visible = None
            self.cursor = max(0, min(keep_line - 1, self.count - 1)) if keep_line else 0
            return
        needle = self.filter_text.lower()
        lines = self.source.lines
        self._visible = [i for i in range(self.limit) if needle in lines[i].lower()]
        # the last line shown at or above the one kept (the indexes ascend)
        self.cursor = max(0, sum(1 for index in self._visible if index < keep_line) - 1)

    def _resize(self) -> None:
        width = 0
        for i in range(self.count):
            width = max(width, len(self.source.lines[self.line_index(i)]))
            if width >= MAX_WIDTH:
                break
        self._width = min(width, MAX_WIDTH) + self._gutter_width() + 1
        self.virtual_size = Size(self._width, self.count)

    def _gutter_width(self) -> int:
        return len(str(max(1, self.limit))) + 1

    # ------------------------------------------------------------------ moving

    def _move(self, index: int, center: bool = False) -> None:
        if not self.count:
            return
        self.cursor = max(0, min(index, self.count - 1))
        self._scroll_to_cursor(center)
        # A tab that was just shown (or a screen under a prompt) has no size yet: scroll
        # again when it is laid out.
        self._pending_scroll = center
        self.refresh()
        self.post_message(self.Moved())

    def on_resize(self) -> None:
        if self._pending_scroll is not None:
            self._scroll_to_cursor(self._pending_scroll)

    def on_show(self) -> None:
        self.on_resize()

    def _scroll_to_cursor(self, center: bool) -> None:
        if not self.scrollable_content_region.height:
            return
        self._pending_scroll = None
        height = self.scrollable_content_region.height
        top = int(self.scroll_y)
        if center and not top <= self.cursor < top + height:
            self.scroll_to(y=max(0, self.cursor - height // 2), animate=False, immediate=True)
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.follow = False
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.action_cursor(-self.cursor)

    def action_last(self) -> None:
        self._move(self.count - 1)

    def watch_follow(self, follow: bool) -> None:
        if follow and self.count:
            self._move(self.count - 1)
        else:
            self.post_message(self.Moved())

    # ------------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= self.count:
            return Strip.blank(width, base)
        line_no = self.line_index(index) + 1
        text = self._styled(line_no, index == self.cursor)
        strip = Strip(text.render(self.app.console, end="")).apply_style(base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _styled(self, line_no: int, is_cursor: bool) -> Text:
        raw = self.source.lines[line_no - 1]
        kind = line_kind(raw, self.severity.get(line_no))
        gutter_w = self._gutter_width()
        text = Text(no_wrap=True, end="")
        text.append(f"{line_no:>{gutter_w - 1}} ", self.get_component_rich_style("logview--gutter"))
        text.append(raw, self.get_component_rich_style(f"logview--{kind}") if kind != "plain" else None)
        if is_cursor:
            wide = max(self._width, int(self.scroll_x) + self.scrollable_content_region.width)
            text.pad_right(max(0, wide - text.cell_len))
            text.stylize(self.get_component_rich_style("logview--cursor"), 0, len(text))
        if self.search_text:
            match_style = self.get_component_rich_style("logview--match")
            needle = self.search_text.lower()
            lowered = raw.lower()
            pos = lowered.find(needle)
            while pos >= 0 and needle:
                text.stylize(match_style, gutter_w + pos, gutter_w + pos + len(needle))
                pos = lowered.find(needle, pos + len(needle))
        return text
