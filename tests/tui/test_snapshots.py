"""Snapshots of every screen in its key states, at 120x40 and 80x24, in full and 16 colours.

Plain ``def`` tests: ``snap_compare`` runs the app in its own event loop.
Update after an intended change with ``pytest tests/tui --snapshot-update``
and review the SVGs in ``__snapshots__/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from textual.pilot import Pilot
from textual.widgets import DataTable

from nimwatch.tui.app import NimwatchApp
from nimwatch.tui.detail import DetailScreen

from .tuikit import FAILED_LOG, RUNNING_LOG, AppFactory, RunBefore, wait_for

SnapCompare = Callable[..., bool]
WIDE = (120, 40)
NARROW = (80, 24)


def open_client(log: Path, *keys: str) -> RunBefore:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, NimwatchApp)
        app.open_client(str(log))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return run_before


class TestDashboard:
    def test_wide(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(), terminal_size=WIDE)

    def test_narrow(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(), terminal_size=NARROW)

    def test_sixteen_colours(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(theme="ansi-dark"), terminal_size=NARROW)

    def test_problems_only(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(), press=["f"], terminal_size=WIDE)

    def test_replay_paused_half_way(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        app = make_tui(preload=False)
        assert app.ctx.replay is not None
        app.ctx.replay.seek_fraction(0.5)
        app.ctx.replay.pause()
        assert snap_compare(app, terminal_size=WIDE)


class TestDetail:
    def test_overview_failed(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(), terminal_size=WIDE, run_before=open_client(FAILED_LOG))

    def test_overview_running_narrow(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(), terminal_size=NARROW, run_before=open_client(RUNNING_LOG))

    def test_findings(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        run_before = open_client(FAILED_LOG, "2", "tab", "down", "down")
        assert snap_compare(make_tui(), terminal_size=WIDE, run_before=run_before)

    def test_log_search_highlight(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        run_before = open_client(FAILED_LOG, "slash", *"FAILED", "enter")
        assert snap_compare(make_tui(), terminal_size=WIDE, run_before=run_before)

    def test_log_at_finding_narrow(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        run_before = open_client(FAILED_LOG, "right_square_bracket", "right_square_bracket")
        assert snap_compare(make_tui(), terminal_size=NARROW, run_before=run_before)

    def test_log_filtered_sixteen_colours(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        run_before = open_client(FAILED_LOG, "f", *"installp", "enter")
        assert snap_compare(make_tui(theme="ansi-dark"), terminal_size=NARROW, run_before=run_before)


class TestAlertsAndHelp:
    def test_alerts_one_acknowledged(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(pilot.app.screen.focused, DataTable))
            await pilot.press("down", "x")

        assert snap_compare(make_tui(), terminal_size=WIDE, run_before=run_before)

    def test_alerts_narrow(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(), press=["a"], terminal_size=NARROW)

    def test_help_narrow(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(), press=["question_mark"], terminal_size=NARROW)

    def test_prompt(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(), press=["slash", "w", "e", "b"], terminal_size=NARROW)
