"""Failures announce themselves, whatever screen the admin looks at.

Owns :class:`Announcer`: for every migration that fails (``run_finished``
failed) and every run that stalls during the session it shows a toast, rings
the terminal bell (unless turned off) and keeps the terminal title on the
fleet's counts (``nimwatch: 2 failed, 5 running``). A failure already in a
log when nimwatch started is not news: it shows in the table and the title,
but is not announced (:attr:`TuiContext.fresh <nimwatch.tui.context.TuiContext.fresh>`).
The title is an xterm OSC 2 sequence, sent only through the app's driver;
the text in it is nimwatch's own (counts), never a log's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from textual.app import App

from nimwatch.engine import Notice
from nimwatch.terminal import escape_controls
from nimwatch.tui.context import TuiContext
from nimwatch.tui.summary import title_text
from nimwatch.views.status_table import ClientRow
from nimwatch.vocabulary import RUN_FINISHED, STALLED

TOAST_SECONDS = 30.0
"""How long a failure's toast stays (the title and the alerts keep it after)."""


class Announcer:
    """Toasts, the bell and the terminal title, for one app."""

    def __init__(self, app: App[None], ctx: TuiContext, *, bell: bool = True, title: bool = True) -> None:
        self.app = app
        self.ctx = ctx
        self.bell = bell
        self.set_title = title
        self.title = ""
        """The terminal title last set (tests read it)."""
        self.rings = 0
        """Bells rung so far (tests read it: a headless app rings nothing)."""
        self.announced: list[str] = []
        """The toasts' messages so far (tests read them)."""
        self._started = False

    def notices(self, notices: Sequence[Notice]) -> None:
        """Announce the failures and stalls among ``notices`` that happened during this session."""
        for notice in notices:
            where = f" in phase {notice.phase}" if notice.phase else ""
            if notice.kind is RUN_FINISHED and notice.get("outcome") == "failed":
                line = notice.get("line")
                if self.ctx.fresh(notice.log, line if isinstance(line, int) else 0):
                    self._announce(notice, f"failed{where}", "Migration failed", "error")
            elif notice.kind is STALLED:
                self._announce(notice, f"stalled{where}: no new line", "Migration stalled", "warning")

    def _announce(self, notice: Notice, what: str, title: str, severity: str) -> None:
        row: Optional[ClientRow] = self.ctx.row(notice.log)
        client = row.label if row is not None else escape_controls(notice.client)
        cause = f"\n{row.cause}" if row is not None and row.cause else ""
        message = f"{client} {what}{cause}"
        self.announced.append(message)
        self.app.notify(message, title=title, severity=severity, timeout=TOAST_SECONDS, markup=False)  # type: ignore[arg-type]
        if self.bell:
            self.rings += 1
            self.app.bell()

    def update_title(self, rows: Sequence[ClientRow]) -> None:
        """Keep the terminal title on the counts (sent only when they change)."""
        text = title_text(rows)
        if text == self.title:
            return
        self.title = text
        driver = self.app._driver
        if not self.set_title or driver is None or self.app.is_headless:
            return
        if not self._started:
            self._started = True
            driver.write("\x1b[22;2t")  # keep the terminal's own title (xterm's title stack)
        driver.write(f"\x1b]2;{escape_controls(text)}\x07")

    def restore_title(self) -> None:
        """Give the terminal its title back (at exit)."""
        driver = self.app._driver
        if self._started and driver is not None and not self.app.is_headless:
            driver.write("\x1b[23;2t")
            self._started = False
