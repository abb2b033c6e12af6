"""Snapshots of every screen in its key states, at 80x24 to 220x60, in full and 16 colours.

Plain ``def`` tests: ``snap_compare`` runs the app in its own event loop.
Update after an intended change with ``pytest tests/tui --snapshot-update``
and review the SVGs in ``__snapshots__/``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from nimwatch.fleet import FleetView
from nimwatch.prometheus_api import PrometheusError
from nimwatch.tui.app import NimwatchApp
from nimwatch.tui.detail import DetailScreen
from nimwatch.tui.fleet import FleetScreen
from nimwatch.views.status_table import SORTS

from .fleetdata import URL, fleet_app, sample_view
from .test_heatmap import Paced, copies
from .tuikit import FAILED_LOG, RUNNING_LOG, AppFactory, RunBefore, wait_for, widget_text

SAMPLES = FAILED_LOG.parent.parent.parent.parent / "sample_logs"
ALL_SAMPLES = sorted(SAMPLES.glob("*_alt_mig.log"))

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

    def test_sample_logs_140x40(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        """The README's screenshot: every sample log, causes and reboot readiness."""
        assert snap_compare(make_tui(paths=ALL_SAMPLES), terminal_size=(140, 40))

    def test_sample_logs_220x60_by_cause(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        press = ["s"] * SORTS.index("cause")
        assert snap_compare(make_tui(paths=ALL_SAMPLES, close=True), press=press, terminal_size=(220, 60))

    def test_ready_to_reboot_80x24(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(paths=ALL_SAMPLES, close=True), press=["r"], terminal_size=NARROW)

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


    def test_findings_of_every_run(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        rerun = SAMPLES / "rerun02_alt_mig.log"
        assert snap_compare(make_tui(paths=[rerun]), terminal_size=WIDE, run_before=open_client(rerun, "2"))

    def test_reboot_verdict_scrolled_into_view_80x24(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(), terminal_size=NARROW, run_before=open_client(FAILED_LOG, "end"))


class TestHeatmap:
    def test_a_slow_phase_6(self, snap_compare: SnapCompare, make_tui: AppFactory, tmp_path: Path) -> None:
        paths = copies(tmp_path, ["lpar01", "lpar02", "lpar03", "slow04"])
        app = make_tui(paths=[*paths, FAILED_LOG, RUNNING_LOG], journal=Paced({str(paths[3])}))
        assert snap_compare(app, press=["m"], terminal_size=WIDE)


class TestAlertsAndHelp:
    def test_alerts_grouped_wide(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(paths=ALL_SAMPLES, close=True), press=["a"], terminal_size=(140, 40))

    def test_acknowledge_all_asks_first(self, snap_compare: SnapCompare, make_tui: AppFactory) -> None:
        assert snap_compare(make_tui(), press=["a", "X"], terminal_size=NARROW)

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


class Script:
    """A Prometheus that answers ``view`` first, then fails, then waits (a snapshot is never of a later look)."""

    def __init__(self, view: FleetView, fail_after: int = 1) -> None:
        self.view = view
        self.fail_after = fail_after
        self.calls = 0
        self.hold = threading.Event()

    def __call__(self) -> FleetView:
        self.calls += 1
        if self.calls > self.fail_after + 1:
            self.hold.wait(600)
        if self.calls > self.fail_after:
            raise PrometheusError(f"cannot reach Prometheus at {URL}: Connection refused")
        return self.view


def fleet_shown(*keys: str, gone: bool = False) -> RunBefore:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, NimwatchApp) and app.fleet is not None
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and bool(app.screen.lines))
        if gone:
            app.fleet.now()
            await wait_for(pilot, lambda: app.fleet is not None and app.fleet.state.failures == 1)
            await wait_for(pilot, lambda: "not now." in widget_text(app.screen.query_one("#fleet-problem")))
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return run_before


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Finish times and "as of" are local times: UTC here, on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("utc")
class TestFleet:
    def test_grouped_by_master_wide(self, snap_compare: SnapCompare) -> None:
        app = fleet_app(Script(sample_view(), fail_after=99), refresh=15.0)
        assert snap_compare(app, terminal_size=(160, 30), run_before=fleet_shown())

    def test_narrow_80x24(self, snap_compare: SnapCompare) -> None:
        app = fleet_app(Script(sample_view(), fail_after=99), refresh=15.0)
        assert snap_compare(app, terminal_size=NARROW, run_before=fleet_shown("down", "down"))

    def test_problems_only_sixteen_colours(self, snap_compare: SnapCompare) -> None:
        app = fleet_app(Script(sample_view(), fail_after=99), refresh=15.0, theme="ansi-dark")
        assert snap_compare(app, terminal_size=WIDE, run_before=fleet_shown("f"))

    def test_prometheus_gone_keeps_the_last_view(self, snap_compare: SnapCompare) -> None:
        script = Script(sample_view())
        app = fleet_app(script, refresh=15.0)
        try:
            assert snap_compare(app, terminal_size=(160, 30), run_before=fleet_shown(gone=True))
        finally:
            script.hold.set()
