"""The alerts screen (newest first, acknowledge, open) and the help screen (every binding)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Footer
from textual.widgets._footer import FooterKey

from nimwatch.alert_journal import AlertJournal
from nimwatch.core.events import Stalled
from nimwatch.engine import Engine
from nimwatch.rulefiles import load_rules
from nimwatch.tui.alerts import AlertsScreen
from nimwatch.tui.app import NimwatchApp, make_app
from nimwatch.tui.client_table import ClientTable
from nimwatch.tui.dashboard import DashboardScreen, FleetDashboard
from nimwatch.tui.detail import DetailScreen
from nimwatch.tui.fleet import FleetScreen
from nimwatch.tui.heatmap import HeatmapScreen
from nimwatch.tui.help import HelpScreen, key_rows
from nimwatch.tui.log_view import LogView
from nimwatch.tui.prompt import ConfirmScreen

from .fleetdata import fleet_app, sample_view
from .tuikit import EPOCH, FAILED_LOG, RUNNING_LOG, AppFactory, wait_for, widget_text


async def test_alerts_list_every_finding_newest_first(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        await pilot.press("g")  # one flat list instead of groups
        assert not screen.grouped
        findings = [f for s in app.ctx.engine.logs.values() if s.current for f in s.current.findings]
        # every finding is kept; the routine (benign) lines are hidden by the default severity filter
        assert len(app.ctx.alerts) == len(findings)
        assert findings and len(screen.shown) == len([f for f in findings if not f.benign])
        stamps = [app.ctx.alerts.get(i).ts for i in screen.shown]  # type: ignore[union-attr]
        assert stamps == sorted(stamps, reverse=True)
        await pilot.press("a")  # already there: no second alerts screen
        assert len(app.screen_stack) == 2


async def test_acknowledge_one_all_with_a_question_undo_and_hide(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        await pilot.press("g")
        total = len(screen.shown)
        new = app.ctx.alerts.unacknowledged
        first = screen.shown[0]
        await pilot.press("x")
        alert = app.ctx.alerts.get(first)
        assert alert is not None and alert.acknowledged
        assert app.ctx.alerts.unacknowledged == new - (1 if alert.needs_attention else 0)
        assert screen.query_one(DataTable).cursor_row == 1  # moved on to the next one
        await pilot.press("u")  # undo
        assert not alert.acknowledged and app.ctx.alerts.unacknowledged == new
        screen.query_one(DataTable).move_cursor(row=0)
        await pilot.press("x")
        await pilot.press("h")
        assert len(screen.shown) == total - 1 and first not in screen.shown
        await pilot.press("X")  # asks first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert app.ctx.alerts.unacknowledged > 0
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.ctx.alerts.unacknowledged == 0)
        assert screen.shown == []
        await pilot.press("u")  # "all" is undone as one step
        assert app.ctx.alerts.unacknowledged == new - (1 if alert.needs_attention else 0)
        await pilot.press("h")
        assert len(screen.shown) == total
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        assert f"{app.ctx.alerts.unacknowledged} new" in widget_text(app.screen.query_one("#summary"))


async def test_alerts_are_grouped_by_client_and_cause_and_filtered_by_severity(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        assert screen.grouped and screen.level == "info"
        # a group per client's run, headed by the run's cause (the dashboard's Cause column)
        groups = [(key, alerts) for key, alerts in screen.lines if key.startswith("g")]
        assert len(groups) == len({(a.log, a.run) for a in app.ctx.alerts.newest_first(level="info")})
        assert all(len({(a.log, a.run) for a in alerts}) == 1 for _, alerts in groups)
        failed = next(row for row in app.ctx.rows() if row.status == "failed")
        key, members = next((k, alerts) for k, alerts in groups if alerts[0].log == failed.log)
        assert screen.heads[key][:2] == (failed.cause, failed.cause_line) and failed.cause
        table = screen.query_one(DataTable)
        index = [k for k, _ in screen.lines].index(key)
        header = " ".join(cell.plain for cell in table.get_row_at(index))
        assert failed.cause in header and f"({len(members)} alerts, {len(members)} new)" in header
        # a group's members follow its line; x on the group's line acknowledges the whole group
        assert [alerts[0] for _, alerts in screen.lines[index + 1 : index + 1 + len(members)]] == members
        table.move_cursor(row=index)
        await pilot.press("x")
        assert all(a.acknowledged for a in members)
        assert "acknowledged" in " ".join(cell.plain for cell in table.get_row_at(index))
        # Enter on a group's line opens the client on its cause's line
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
        assert app.screen.log_path == failed.log  # type: ignore[attr-defined]
        assert app.screen.query_one(LogView).cursor_line == failed.cause_line
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        # severity: errors only, then everything (routine lines included), then back to the default
        await pilot.press("v", "v")
        assert screen.level == "error"
        assert all(a.severity == "error" and not a.benign for _, alerts in screen.lines for a in alerts)
        await pilot.press("v")
        assert screen.level == "all"
        assert any(a.benign for _, alerts in screen.lines for a in alerts)
        await pilot.press("v")
        assert screen.level == "info"
        assert not any(a.benign for _, alerts in screen.lines for a in alerts)
        title = widget_text(screen.query_one("#alerts-title"))
        assert "by client and cause" in title and "all but routine" in title


async def test_enter_on_an_alert_opens_the_client_on_its_line(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        alert = app.ctx.alerts.get(screen.shown[0])
        assert alert is not None
        assert screen.lines[0][0].startswith("g") and screen.lines[1][0] == f"a{alert.id}"
        await pilot.press("down", "enter")  # past the group's line, the first alert
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


async def test_acknowledgements_survive_a_restart(make_tui: AppFactory, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = make_tui(alert_journal=AlertJournal.open(path, now=EPOCH))
    async with first.run_test(size=(120, 40)) as pilot:
        await pilot.press("a", "g")
        screen = first.screen
        assert isinstance(screen, AlertsScreen)
        acked = first.ctx.alerts.get(screen.shown[0])
        assert acked is not None
        await pilot.press("x")
        new = first.ctx.alerts.unacknowledged
    # nimwatch is started again: a new engine reads the same logs
    second = make_tui(alert_journal=AlertJournal.open(path, now=EPOCH))
    async with second.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert f"{new} new" in widget_text(second.screen.query_one("#summary"))
        again = next(a for a in second.ctx.alerts.newest_first() if a.key == acked.key)
        assert again.acknowledged and again.ts == acked.ts
        await pilot.press("a", "g")
        await pilot.pause()
        assert "✔" in widget_text(second.screen.query_one("#alert-table"))


@pytest.mark.parametrize("fleet", [False, True], ids=["local", "with-prometheus"])
async def test_every_screen_s_footer_fits_80_columns(fleet: bool) -> None:
    """The live TUI at 80x24 (no replay keys): every key of every screen's footer is on screen, Help included;
    with a Prometheus configured too (the dashboard's footer shows Fleet, and the fleet screen's fits)."""
    engine = Engine(load_rules())
    for log in (FAILED_LOG, RUNNING_LOG):
        engine.feed(str(log), log.read_bytes())
    view = sample_view()
    app = fleet_app(lambda: view, open_fleet=False, engine=engine) if fleet else make_app(engine, clock=lambda: EPOCH)
    screens: list[tuple[tuple[str, ...], type]] = [
        ((), FleetDashboard if fleet else DashboardScreen),
        (("enter",), DetailScreen),
        (("escape", "m"), HeatmapScreen),
        (("escape", "a"), AlertsScreen),
        (("question_mark",), HelpScreen),
    ]
    if fleet:
        screens.append((("escape", "escape", "F"), FleetScreen))
    async with app.run_test(size=(80, 24)) as pilot:
        for keys, screen_type in screens:
            await pilot.press(*keys)
            await wait_for(pilot, lambda kind=screen_type: type(app.screen) is kind)
            footer = app.screen.query_one(Footer)
            await wait_for(pilot, lambda f=footer: bool(f.query(FooterKey)) and f.size.width == 80)
            shown = list(footer.query(FooterKey))
            assert all(key.region.right <= footer.region.right for key in shown), (
                screen_type.__name__, [(key.description, key.region) for key in shown]
            )
            descriptions = [key.description for key in shown]
            assert "Help" in descriptions or screen_type is HelpScreen, screen_type.__name__
            if screen_type in (FleetDashboard, DashboardScreen):
                assert ("Fleet" in descriptions) == fleet, descriptions
            if screen_type is FleetScreen:
                assert descriptions[:3] == ["Back", "Refresh", "Problems"], descriptions
