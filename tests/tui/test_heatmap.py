"""The fleet heatmap: clients x phases, coloured by status and by duration against the fleet's median."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from textual.widgets import DataTable

from nimwatch.core.events import PhaseStatus, Stalled
from nimwatch.tui.detail import DetailScreen
from nimwatch.tui.heatmap import PACE_STYLE, HeatmapScreen, cell_text, short_duration

from .tuikit import DATA, EPOCH, FAILED_LOG, OK_LOG, RUNNING_LOG, AppFactory, wait_for

ABANDONED_LOG = DATA.parent.parent.parent / "sample_logs" / "killclean_alt_mig.log"
"""A migration killed in phase 6 and cleaned up (nimadm -C): incomplete, not running."""

PHASE6 = (106, 2141)
"""aixlpar53's phase 6: from its banner to phase 7's."""


class Paced:
    """Arrival times as the state journal would give them: one second a line, ``slow`` logs 5 s in phase 6."""

    def __init__(self, slow: set[str]) -> None:
        self.slow = slow

    def arrival_times(self, log: str) -> Mapping[int, float]:
        lines = Path(log).read_bytes().count(b"\n")
        times, t = {}, EPOCH
        for line in range(1, lines + 1):
            t += 5.0 if log in self.slow and PHASE6[0] < line <= PHASE6[1] else 1.0
            times[line] = t
        return times


def copies(tmp_path: Path, names: list[str]) -> list[Path]:
    out = []
    for name in names:
        path = tmp_path / f"{name}_alt_mig.log"
        path.write_bytes(OK_LOG.read_bytes())
        out.append(path)
    return out


async def test_a_slow_phase_6_stands_out(make_tui: AppFactory, tmp_path: Path) -> None:
    paths = copies(tmp_path, ["lpar01", "lpar02", "lpar03", "slow04"])
    app = make_tui(paths=paths, close=True, journal=Paced({str(paths[3])}))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, HeatmapScreen) and app.screen.ready)
        screen = app.screen
        assert isinstance(screen, HeatmapScreen)
        assert len(screen.shown) == 4 and screen.query_one(DataTable).row_count == 4
        slow = screen.cells[str(paths[3])]
        usual = screen.cells[str(paths[0])]
        assert slow[5].pace == "very slow" and slow[5].ratio is not None and slow[5].ratio > 4.5
        assert usual[5].pace == "usual" and usual[5].ratio == 1.0
        assert all(cell.pace in ("usual", "") for cell in slow[:5] + slow[6:])
        assert cell_text(slow[5]).plain.strip() == short_duration(slow[5].seconds)
        assert str(cell_text(slow[5]).style) == PACE_STYLE["very slow"]
        # Enter opens the client
        screen.query_one(DataTable).move_cursor(row=screen.shown.index(str(paths[3])))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
        assert isinstance(app.screen, DetailScreen) and app.screen.log_path == str(paths[3])


async def test_status_of_each_phase_and_one_click_opens(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, HeatmapScreen) and app.screen.ready)
        screen = app.screen
        assert isinstance(screen, HeatmapScreen)
        assert screen.shown == [str(FAILED_LOG), str(RUNNING_LOG), str(OK_LOG)]  # what needs a person first
        failed = [c.status for c in screen.cells[str(FAILED_LOG)]]
        assert failed[5] is PhaseStatus.FAILED and failed[6] is PhaseStatus.NOT_RUN
        assert screen.cells[str(RUNNING_LOG)][5].status is PhaseStatus.RUNNING
        assert cell_text(screen.cells[str(FAILED_LOG)][5]).plain.strip().startswith("✖")
        assert cell_text(screen.cells[str(FAILED_LOG)][6]).plain.strip() == "·"
        await pilot.click(DataTable, offset=(3, 2))  # the second row
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
        assert isinstance(app.screen, DetailScreen) and app.screen.log_path == str(RUNNING_LOG)


def test_short_durations() -> None:
    assert [short_duration(s) for s in (None, 45, 59.6, 720, 5999, 6000, 7380)] == [
        "", "45s", "1m", "12m", "99m", "1h40", "2h03"
    ]


async def test_a_stalled_and_an_abandoned_client_are_not_shown_running(make_tui: AppFactory) -> None:
    app = make_tui(paths=[RUNNING_LOG, ABANDONED_LOG])
    async with app.run_test(size=(120, 40)) as pilot:
        running = app.ctx.engine.logs[str(RUNNING_LOG)]
        assert running.current is not None
        # the stall monitor's verdict: reduced into the state, then published (what StallMonitor.check does)
        for notice in app.ctx.engine.reduce(running.log, Stalled(running.current.index, 6, 75.0, 60.0), EPOCH + 7200):
            app.ctx.engine.publish(notice)
        await wait_for(pilot, lambda: any(r.log == running.log and r.status == "stalled" for r in app.ctx.fleet))
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, HeatmapScreen) and app.screen.ready)
        screen = app.screen
        assert isinstance(screen, HeatmapScreen)
        table = screen.query_one(DataTable)
        cells = {log: [str(table.get_cell_at((row, column)).plain).strip() for column in range(1, 13)]
                 for row, log in enumerate(screen.shown)}
        assert cells[running.log][5].startswith("‖")  # stalled in phase 6, for this long so far
        assert cells[str(ABANDONED_LOG)][5] == "?"  # abandoned in phase 6, cleaned up
        assert "▶" not in "".join(cells[running.log] + cells[str(ABANDONED_LOG)])
        assert screen.cells[str(ABANDONED_LOG)][5].status is PhaseStatus.RUNNING  # what the run says; the view knows
