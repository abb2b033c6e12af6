"""The alerts screen (newest first, acknowledge, open) and the help screen (every binding)."""

from __future__ import annotations

from textual.widgets import DataTable
from textual.widgets._footer import FooterKey

from nimwatch.core.events import Stalled
from nimwatch.tui.alerts import AlertsScreen
from nimwatch.tui.app import NimwatchApp
from nimwatch.tui.client_table import ClientTable
from nimwatch.tui.dashboard import DashboardScreen
from nimwatch.tui.detail import DetailScreen
from nimwatch.tui.help import HelpScreen, key_rows
from nimwatch.tui.log_view import LogView

from .tuikit import EPOCH, RUNNING_LOG, AppFactory, wait_for, widget_text


async def test_alerts_list_every_finding_newest_first(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        # every finding but the routine (benign) lines
        findings = sum(
            len([f for f in s.current.findings if not f.benign]) for s in app.ctx.engine.logs.values() if s.current
        )
        assert findings and len(screen.shown) == findings == len(app.ctx.alerts)
        stamps = [app.ctx.alerts.get(i).ts for i in screen.shown]  # type: ignore[union-attr]
        assert stamps == sorted(stamps, reverse=True)
        assert screen.shown == sorted(screen.shown, reverse=True)
        await pilot.press("a")  # already there: no second alerts screen
        assert len(app.screen_stack) == 2


async def test_acknowledge_one_all_and_hide(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        total = len(app.ctx.alerts)
        first = screen.shown[0]
        await pilot.press("x")
        alert = app.ctx.alerts.get(first)
        assert alert is not None and alert.acknowledged
        assert app.ctx.alerts.unacknowledged == total - 1
        assert screen.query_one(DataTable).cursor_row == 1  # moved on to the next one
        assert "1 new" not in widget_text(screen.query_one("#alerts-title"))
        await pilot.press("h")
        assert len(screen.shown) == total - 1 and first not in screen.shown
        await pilot.press("X")
        assert app.ctx.alerts.unacknowledged == 0
        assert screen.shown == []
        await pilot.press("h")
        assert len(screen.shown) == total
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        assert "0 new" in widget_text(app.screen.query_one("#summary"))


async def test_enter_on_an_alert_opens_the_client_on_its_line(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        alert = app.ctx.alerts.get(screen.shown[0])
        assert alert is not None
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.log_path == alert.log
        assert detail.query_one(LogView).cursor_line == alert.line
        await pilot.press("escape")
        assert isinstance(app.screen, AlertsScreen)


async def test_help_lists_every_binding(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = widget_text(app.screen.query_one("#help-text"))
        assert isinstance(app, NimwatchApp)
        for _, bindings in app.help_sections():
            for _keys, description in key_rows(bindings):
                assert description in text, description
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_footer_shows_the_keys(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        footer = " ".join(key.description for key in app.screen.query(FooterKey))
        for word in ("Sort", "Filter", "Quit", "Help", "Alerts", "Pause", "Step"):
            assert word in footer


async def test_a_stall_marks_the_row_and_raises_an_alert(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        log = str(RUNNING_LOG)
        state = app.ctx.engine.logs[log]
        assert state.current is not None
        # the stall monitor's verdict: reduced into the state, then published (what StallMonitor.check does)
        for notice in app.ctx.engine.reduce(log, Stalled(state.current.index, 6, 75.0, 60.0), EPOCH + 7200):
            app.ctx.engine.publish(notice)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await wait_for(pilot, lambda: "1 stalled" in widget_text(screen.query_one("#summary")))
        row = app.ctx.row(log)
        assert row is not None and row.status == "stalled"
        assert screen.query_one(ClientTable).get_row_at(1)[0].plain == "‖ stalled"  # after the failed one
        await pilot.press("a")
        await pilot.pause()
        newest = app.ctx.alerts.newest_first()[0]
        assert newest.kind == "stall" and newest.title == "Stalled: no new line for 75 min in phase 6"
