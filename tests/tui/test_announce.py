"""Failures announce themselves on every screen: a toast, the bell, the terminal title, the summary bar."""

from __future__ import annotations

from pathlib import Path

from textual.widgets._toast import Toast

from nimwatch.core.events import Stalled
from nimwatch.tui.alerts import AlertsScreen
from nimwatch.tui.app import NimwatchApp
from nimwatch.tui.detail import DetailScreen
from nimwatch.tui.heatmap import HeatmapScreen
from nimwatch.tui.summary import title_text

from .tuikit import EPOCH, FAILED_LOG, OK_LOG, AppFactory, wait_for, widget_text

CUT = 2000
"""fail6inst's first lines: phase 6 running, not failed yet."""


def half_failed(tmp_path: Path) -> tuple[Path, bytes]:
    """A copy of fail6inst that has not failed yet (``lpar-hq-oracle-db-07``), and the rest of it."""
    lines = FAILED_LOG.read_bytes().splitlines(keepends=True)
    log = tmp_path / "lpar-hq-oracle-db-07_alt_mig.log"
    log.write_bytes(b"".join(lines[:CUT]))
    return log, b"".join(lines[CUT:])


def toasts(app: NimwatchApp) -> str:
    """The toasts on the screen: each one's title and message."""
    return "\n".join(
        f"{toast._notification.title}: {toast._notification.message}" for toast in app.screen.query(Toast)
    )


async def test_a_failure_while_another_client_is_open_toasts_rings_and_retitles(
    make_tui: AppFactory, tmp_path: Path
) -> None:
    log, rest = half_failed(tmp_path)
    app = make_tui(paths=[OK_LOG, FAILED_LOG, log])
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        announcer = app.announcer
        # fail6inst failed before the session began: in the counts, not news
        assert announcer.title == "nimwatch: 1 failed, 1 running"
        assert announcer.rings == 0 and announcer.announced == []
        app.open_client(str(OK_LOG))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
        assert "1 failed" in widget_text(app.screen.query_one("#summary"))

        app.ctx.engine.feed(str(log), rest)
        await wait_for(pilot, lambda: announcer.rings == 1)
        assert announcer.title == "nimwatch: 2 failed"
        assert announcer.announced == ["lpar-hq-oracle-db-07 failed in phase 6\ninstallp: requisite failures"]
        await wait_for(pilot, lambda: "lpar-hq-oracle-db-07 failed in phase 6" in toasts(app))
        assert "Migration failed" in toasts(app)
        # the detail screen of the other client says it too, on its summary line
        assert isinstance(app.screen, DetailScreen) and app.screen.log_path == str(OK_LOG)
        await wait_for(pilot, lambda: "2 failed" in widget_text(app.screen.query_one("#summary")))
        # the same failure again (a re-read) is not news twice
        await pilot.pause()
        assert announcer.rings == 1


async def test_the_bell_can_be_turned_off_and_old_lines_are_not_news(make_tui: AppFactory, tmp_path: Path) -> None:
    log, rest = half_failed(tmp_path)
    quiet = make_tui(paths=[log], bell=False)
    async with quiet.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        quiet.ctx.engine.feed(str(log), rest)
        await wait_for(pilot, lambda: len(quiet.announcer.announced) == 1)
        assert quiet.announcer.rings == 0 and quiet.announcer.title == "nimwatch: 1 failed"
    # lines that were in the log when nimwatch started (the tailer's catch-up) are not announced
    old = make_tui(paths=[log], fresh=lambda log, line: line > 10**6)
    async with old.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        old.ctx.engine.feed(str(log), rest)
        await wait_for(pilot, lambda: old.announcer.title == "nimwatch: 1 failed")
        assert old.announcer.announced == [] and old.announcer.rings == 0


async def test_a_stall_is_announced_on_the_alerts_and_heatmap_screens_too(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AlertsScreen))
        running = next(s for s in app.ctx.engine.logs.values() if s.client == "running01")
        assert running.current is not None
        # the stall monitor's verdict: reduced into the state, then published (what StallMonitor.check does)
        for notice in app.ctx.engine.reduce(running.log, Stalled(running.current.index, 6, 75.0, 60.0), EPOCH + 7200):
            app.ctx.engine.publish(notice)
        await wait_for(pilot, lambda: app.announcer.rings == 1)
        assert app.announcer.announced == ["running01 stalled in phase 6: no new line"]
        assert app.announcer.title == "nimwatch: 1 failed, 1 stalled"
        await wait_for(pilot, lambda: "1 stalled" in widget_text(app.screen.query_one("#summary")))
        await pilot.press("escape", "m")
        await wait_for(pilot, lambda: isinstance(app.screen, HeatmapScreen) and app.screen.ready)
        assert "1 stalled" in widget_text(app.screen.query_one("#summary"))


def test_the_title_counts_what_needs_watching(make_tui: AppFactory) -> None:
    rows = make_tui().ctx.rows()
    assert title_text(rows) == "nimwatch: 1 failed, 1 running"
    assert title_text([r for r in rows if r.status == "succeeded"]) == "nimwatch: 1 succeeded"
    assert title_text([]) == "nimwatch: no clients yet"
