"""200 clients: the dashboard holds them all, filters them, and a flood of notices is coalesced."""

from __future__ import annotations

import threading
from pathlib import Path

from nimwatch.tui.client_table import ClientTable
from nimwatch.tui.dashboard import DashboardScreen

from .tuikit import DATA, RUNNING_LOG, AppFactory, wait_for, widget_text

KINDS = ("fail1lvm", "fail2cache", "wakeup05", "running01")


def many_logs(directory: Path, count: int = 200) -> list[Path]:
    """``count`` logs: a quarter each failed in phase 1, failed in phase 2, succeeded, still running."""
    running = RUNNING_LOG.read_bytes().splitlines(keepends=True)
    paths = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        path = directory / f"lpar{i:03d}_alt_mig.log"
        if kind == "running01":
            path.write_bytes(b"".join(running[: 80 + i]))
        else:
            path.write_bytes((DATA / f"{kind}_alt_mig.log").read_bytes())
        paths.append(path)
    return paths


async def test_two_hundred_rows_and_filters(make_tui: AppFactory, tmp_path: Path) -> None:
    app = make_tui(paths=many_logs(tmp_path), close=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(ClientTable)
        assert table.row_count == 200 and len(screen.shown) == 200
        summary = widget_text(screen.query_one("#summary"))
        assert "200 clients" in summary and "100 failed" in summary and "50 incomplete" in summary
        await pilot.press("f", "f")  # all -> problems -> ready to reboot
        assert screen.status_filter == "ready" and table.row_count == 0
        await pilot.press("f", "f")  # running -> stalled
        assert screen.status_filter == "stalled" and table.row_count == 0
        await pilot.press("f", "f")  # failed -> incomplete
        assert screen.status_filter == "incomplete" and table.row_count == 50
        await pilot.press("f", "f", "f", "f", "f", "f", "f")  # succeeded, other, all, problems, ready, running, stalled
        await pilot.press("f")  # failed
        assert screen.status_filter == "failed" and table.row_count == 100
        await pilot.press("slash", *"lpar01", "enter")
        await pilot.pause()
        # lpar010..019 that failed (kinds 0 and 1 of every 4)
        clients = [app.ctx.row(log).client for log in screen.shown]  # type: ignore[union-attr]
        assert clients == ["lpar012", "lpar013", "lpar016", "lpar017"]
        await pilot.press("escape")
        assert table.row_count == 200
        # the cursor moves through 200 rows, a page at a time
        for _ in range(10):
            await pilot.press("pagedown")
        assert table.cursor_row == 199 and table.selected_log == screen.shown[199]


async def test_a_flood_of_notices_is_coalesced(make_tui: AppFactory, tmp_path: Path) -> None:
    app = make_tui(paths=many_logs(tmp_path), preload=False)
    replay = app.ctx.replay
    assert replay is not None
    notices = 0

    def count(_: object) -> None:
        nonlocal notices
        notices += 1

    app.ctx.engine.subscribe(count)
    applied: list[float] = []
    coalescer = app.coalescer
    record = coalescer.applied

    def timed_applied() -> None:
        record()
        applied.append(coalescer._last)  # the time the coalescer itself took (no thread switch in between)

    coalescer.applied = timed_applied  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        feeder = threading.Thread(target=replay.run_to_end)
        feeder.start()
        screen = app.screen
        await wait_for(pilot, lambda: not feeder.is_alive(), timeout=120)
        feeder.join()
        await wait_for(pilot, lambda: "100 failed" in widget_text(screen.query_one("#summary")), timeout=120)
        assert screen.query_one(ClientTable).row_count == 200
        # thousands of notices from another thread: a handful of messages (a loaded machine drains less
        # often, so fewer), and no more redraws of notices than messages (the 1 s clock tick is not one)
        assert notices > 5000
        assert app.bridge.posted < notices / 20
        assert applied and len(applied) <= app.bridge.posted
        # ... applied at most once per burst interval, whatever the machine's speed
        assert all(b - a >= coalescer.interval - 0.01 for a, b in zip(applied, applied[1:]))
