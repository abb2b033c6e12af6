"""When notices reach the screen: a notice after a quiet period at once, a burst merged into one redraw.

The coalescer runs on a fake clock that never moves unless the test moves it,
so "quiet" and "burst" are decided by the test, not by how fast it runs.
"""

from __future__ import annotations

from typing import Callable, Optional

import pytest
from textual.geometry import Region

from nimwatch.tui.app import BURST_INTERVAL, NimwatchApp
from nimwatch.tui.bridge import Coalescer
from nimwatch.tui.client_table import ClientTable

from .tuikit import FAILED_LOG, RUNNING_LOG, AppFactory, FakeClock, wait_for

RULE = "+" + "-" * 77 + "+"


def banner(phase: int) -> bytes:
    return f"{RULE}\nExecuting nimadm phase {phase}.\n{RULE}\n".encode()


def test_leading_edge_then_at_most_one_flush_per_interval() -> None:
    clock = FakeClock(100.0)
    coalescer = Coalescer(0.05, clock=clock)
    assert coalescer.schedule() == 0.0  # nothing applied yet: at once
    coalescer.applied()
    clock.sleep(0.01)
    assert coalescer.schedule() == pytest.approx(0.04)  # a burst: the rest of the interval
    assert coalescer.pending
    clock.sleep(0.02)
    assert coalescer.schedule() is None  # joins the flush already due
    clock.sleep(0.02)
    coalescer.applied()  # the flush
    assert not coalescer.pending
    clock.sleep(0.01)
    assert coalescer.schedule() == pytest.approx(0.04)  # the burst goes on: next flush one interval after
    coalescer.applied()
    clock.sleep(0.05)
    assert coalescer.schedule() == 0.0  # quiet again: at once


class Spy:
    """Records what the app's coalescer decides and how often the app applies notices."""

    def __init__(self, app: NimwatchApp) -> None:
        self.decisions: list[Optional[float]] = []
        self.applied = 0
        coalescer = app.coalescer
        schedule, applied = coalescer.schedule, coalescer.applied

        def spy_schedule() -> Optional[float]:
            decision = schedule()
            self.decisions.append(decision)
            return decision

        def spy_applied() -> None:
            self.applied += 1
            applied()

        coalescer.schedule = spy_schedule  # type: ignore[method-assign]
        coalescer.applied = spy_applied  # type: ignore[method-assign]


class ManualTimer:
    """Stands in for the app's burst timer: the test decides when the flush happens, not the wall clock."""

    def __init__(self, app: NimwatchApp) -> None:
        self.due: list[Callable[[], None]] = []
        real = app.set_timer

        def set_timer(delay: float, callback: Callable[[], None], **kwargs: object) -> object:
            if callback == app._flush_burst:
                self.due.append(callback)
                return object()
            return real(delay, callback, **kwargs)  # type: ignore[arg-type]

        app.set_timer = set_timer  # type: ignore[method-assign,assignment]

    def fire(self) -> None:
        due, self.due = self.due, []
        for callback in due:
            callback()


async def test_a_notice_after_a_quiet_period_is_shown_at_once_and_a_burst_is_merged(make_tui: AppFactory) -> None:
    app = make_tui()
    clock = FakeClock(1000.0)
    app.coalescer.clock = clock
    spy = Spy(app)
    timer = ManualTimer(app)
    engine = app.ctx.engine
    log = str(RUNNING_LOG)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        table = screen.query_one(ClientTable)

        def phase_shown() -> str:
            return table.get_row_at(screen.shown.index(log))[2].plain.split()[0]  # type: ignore[attr-defined]

        assert phase_shown() == "6/12"

        # Quiet: the notice is applied by the message that brought it, with no timer and no time passing.
        engine.feed(log, banner(7))
        await wait_for(pilot, lambda: len(spy.decisions) == 1)
        assert spy.decisions == [0.0] and spy.applied == 1
        assert app._refresh_timer is None
        assert phase_shown() == "7/12"

        # A burst (the clock has not moved since): the next notices wait for one flush.
        engine.feed(log, banner(8))
        await wait_for(pilot, lambda: len(spy.decisions) == 2)
        assert spy.decisions[1] == pytest.approx(BURST_INTERVAL)
        assert app._refresh_timer is not None and app.coalescer.pending
        engine.feed(log, banner(9))
        await wait_for(pilot, lambda: len(spy.decisions) == 3)
        engine.feed(str(FAILED_LOG), b"nimwatch test: one more line\n")
        await wait_for(pilot, lambda: len(spy.decisions) == 4)
        assert spy.decisions[2:] == [None, None]  # merged into the flush already due
        assert phase_shown() == "7/12" and spy.applied == 1

        # The flush applies all of them at once.
        assert len(timer.due) == 1
        timer.fire()
        await wait_for(pilot, lambda: spy.applied == 2)
        assert phase_shown() == "9/12"
        assert app._refresh_timer is None and not app.coalescer.pending
        await pilot.pause()
        assert spy.applied == 2 and len(spy.decisions) == 4


async def test_a_changed_row_repaints_only_its_own_line(make_tui: AppFactory) -> None:
    app = make_tui()
    log = str(RUNNING_LOG)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ClientTable)
        renders = table.renders
        refreshed: list[tuple[Region, ...]] = []
        refresh = table.refresh

        def spy_refresh(*regions: Region, **kwargs: bool) -> ClientTable:
            refreshed.append(regions)
            return refresh(*regions, **kwargs)

        table.refresh = spy_refresh  # type: ignore[method-assign]
        row = app.screen.shown.index(log)  # type: ignore[attr-defined]
        app.ctx.engine.feed(log, banner(7))
        await wait_for(pilot, lambda: table.get_row_at(row)[2].plain.startswith("7/12"))
        await pilot.pause()
        assert table.renders == renders + 1  # the running client's row, not the other two
        # ... and only its line of the screen was marked for repainting (a DataTable repaints it all)
        assert refreshed == [(Region(0, 1 + row, table.size.width, 1),)]
