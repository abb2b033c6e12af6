"""Helpers of the TUI tests: the app over fixed logs, a fixed clock, no wall time on screen.

Every app is built as the CLI builds it: a replay session (:func:`nimwatch.session.replay`)
seen through :func:`nimwatch.commands.tui.tui_app`, without the stall monitor.
The logs of ``data/`` (a finished, a failed and a running client) are replayed
at full speed with a fake clock before the app starts, so nothing on screen
depends on when or how fast the test runs. The current directory is ``data/``
(conftest.py) so that paths show as bare file names.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any, Callable, Optional

from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from nimwatch import session as sessions
from nimwatch.commands.tui import tui_app
from nimwatch.config import Config
from nimwatch.rulefiles import load_rules
from nimwatch.sources.replay import ArrivalTimes
from nimwatch.tui.app import NimwatchApp

DATA = Path(__file__).resolve().parent / "data"
OK_LOG = DATA / "aixlpar53_alt_mig.log"
FAILED_LOG = DATA / "fail6inst_alt_mig.log"
RUNNING_LOG = DATA / "running01_alt_mig.log"
THREE = (OK_LOG, FAILED_LOG, RUNNING_LOG)
EPOCH = 1_790_000_000.0
"""Log time of line 1 (2026-09-21 14:13:20 UTC)."""


class FakeClock:
    """A wall clock that moves only when slept on."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def build_app(
    paths: Sequence[Path] = THREE,
    *,
    report_dir: Optional[Path] = None,
    preload: bool = True,
    close: bool = False,
    theme: str = "textual-dark",
    speed: Optional[float] = None,
    journal: Optional[ArrivalTimes] = None,
    **options: Any,
) -> NimwatchApp:
    """An app replaying ``paths``: fed to the end before it starts (``preload``), logs left open unless ``close``.

    ``journal`` gives the replay recorded arrival times; ``options`` go to :func:`make_app` (bell, fresh...).
    """
    clock = FakeClock()
    session = sessions.replay(
        Config(), load_rules(), list(paths), speed=speed, times=journal, stalls=False,
        epoch=EPOCH, clock=clock, sleep=clock.sleep, close_at_end=close,
    )
    # What a test feeds without a time arrives at line 1's log time (the CLI's replay: the replay's clock),
    # so that a line a test adds never moves the other rows' columns.
    session.engine.clock = lambda: EPOCH
    app: NimwatchApp = tui_app(session, start_replay=False, report_dir=report_dir, theme=theme, **options)
    if preload:
        assert session.replay is not None
        session.replay.run_to_end()
    return app



async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Let the app run until ``condition`` holds (fails after ``timeout`` seconds: a deadline for a loaded
    machine, never a pace; a condition that holds returns at once)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.01)


RunBefore = Callable[[Pilot[None]], Awaitable[None]]

AppFactory = Callable[..., NimwatchApp]


def widget_text(widget: Widget) -> str:
    """What ``widget`` shows on screen, as plain text lines."""
    region = Region(0, 0, widget.size.width, widget.size.height)
    return "\n".join(strip.text for strip in widget.render_lines(region))
