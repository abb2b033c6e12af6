"""Replay keys in the TUI: pause, step, speed, seek by 10 %, go to a line or a percentage."""

from __future__ import annotations

from textual.notifications import Notify

from nimwatch.tui.app import NimwatchApp
from nimwatch.tui.replay_bar import ReplayBar

from .tuikit import FAILED_LOG, AppFactory, wait_for, widget_text


def replay_of(app: NimwatchApp):  # type: ignore[no-untyped-def]
    replay = app.ctx.replay
    assert replay is not None
    return replay


async def test_space_pauses_and_resumes(make_tui: AppFactory) -> None:
    app = make_tui(preload=False, speed=4.0)
    async with app.run_test(size=(120, 40)) as pilot:
        replay = replay_of(app)
        await pilot.press("space")
        assert replay.paused
        assert "paused" in widget_text(app.screen.query_one(ReplayBar))
        await pilot.press("space")
        assert not replay.paused
        await pilot.press("plus", "plus")
        assert replay.speed == 16.0
        await pilot.press("minus")
        assert replay.speed == 8.0


async def test_step_stops_at_the_next_phase_change_or_finding(make_tui: AppFactory) -> None:
    app = make_tui(paths=[FAILED_LOG], preload=False)
    seen: list[object] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        replay = replay_of(app)
        await pilot.press("full_stop")
        await app.wait_for_replay_controls()
        await pilot.pause()
        assert replay.paused and replay.fed_lines == 1  # line 1 starts the run
        await pilot.press("full_stop")
        await app.wait_for_replay_controls()
        await pilot.pause()
        state = app.ctx.engine.logs[str(FAILED_LOG)]
        assert state.current is not None and state.current.current_phase == 1
        assert state.lines == state.current.phase(1).start_line  # stopped right on the banner
        await pilot.press("full_stop")
        await app.wait_for_replay_controls()
        assert state.current.phase(1).end_line == state.lines  # then on the end of phase 1
        notes = [m.notification.message for m in seen if isinstance(m, Notify)]
        assert any("phase started (phase 1)" in n for n in notes)


async def test_seek_forward_back_and_go_to(make_tui: AppFactory) -> None:
    app = make_tui(paths=[FAILED_LOG], preload=False)
    async with app.run_test(size=(120, 40)) as pilot:
        replay = replay_of(app)
        replay.pause()
        await pilot.press("greater_than_sign")
        await app.wait_for_replay_controls()
        assert abs(replay.fraction - 0.1) < 0.01
        await pilot.press("greater_than_sign", "greater_than_sign")
        await app.wait_for_replay_controls()
        assert abs(replay.fraction - 0.3) < 0.01
        before = app.ctx.engine.logs[str(FAILED_LOG)].lines
        await pilot.press("less_than_sign")
        await app.wait_for_replay_controls()
        await pilot.pause()
        assert abs(replay.fraction - 0.2) < 0.01
        assert app.ctx.engine.logs[str(FAILED_LOG)].lines < before
        await pilot.press("g", *"50%", "enter")
        await app.wait_for_replay_controls()
        assert abs(replay.fraction - 0.5) < 0.01
        await pilot.press("g", *"1403", "enter")
        await app.wait_for_replay_controls()
        await pilot.pause()
        assert app.ctx.engine.logs[str(FAILED_LOG)].lines == 1403
        # the findings so far are alerts once each, even after seeking back and forth
        state = app.ctx.engine.logs[str(FAILED_LOG)]
        assert state.current is not None
        assert len(app.ctx.alerts) == len(state.current.findings)
        assert "1403/2081" in widget_text(app.screen.query_one(ReplayBar))


async def test_a_running_replay_reaches_the_end(make_tui: AppFactory) -> None:
    app = make_tui(paths=[FAILED_LOG], preload=False, close=True)
    app.start_replay = True
    async with app.run_test(size=(120, 40)) as pilot:
        replay = replay_of(app)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert replay.done
        row = app.ctx.row(str(FAILED_LOG))
        assert row is not None and row.status == "failed"
        await wait_for(pilot, lambda: "finished" in widget_text(app.screen.query_one(ReplayBar)))


async def test_replay_keys_are_absent_without_a_replay(make_tui: AppFactory) -> None:
    app = make_tui()
    app.ctx.replay = None
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.check_action("replay_pause", ()) is False
        assert all(title != "Replay" for title, _ in app.help_sections())
