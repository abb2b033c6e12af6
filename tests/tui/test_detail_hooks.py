"""The client detail shows a hook that failed for the client's run: read from the run's state (Pilot)."""

from __future__ import annotations

from pathlib import Path

from nimwatch.config.hooks import HookSpec
from nimwatch.engine import Notice
from nimwatch.hooks.manager import HookManager, MemoryOnceStore
from nimwatch.tui.app import NimwatchApp
from nimwatch.tui.detail import DetailScreen
from nimwatch.vocabulary import RUN_FINISHED

from .tuikit import FAILED_LOG, AppFactory, wait_for, widget_text


async def test_a_timed_out_hook_shows_in_the_clients_facts(make_tui: AppFactory, tmp_path: Path) -> None:
    script = tmp_path / "slow.sh"
    script.write_text("#!/bin/sh\nexec sleep 30\n")
    script.chmod(0o755)
    app = make_tui()
    async with app.run_test(size=(140, 50)) as pilot:
        assert isinstance(app, NimwatchApp)
        engine = app.ctx.engine
        app.open_client(str(FAILED_LOG))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
        facts = app.screen.query_one("#facts")
        assert "Hook" not in widget_text(facts)
        hook = HookSpec(name="page-oncall", on=("run_finished",), run=(str(script),), timeout=0.5, retries=0)
        manager = HookManager([hook], engine.report, MemoryOnceStore())
        try:
            state = engine.logs[str(FAILED_LOG)]
            run = state.current
            assert run is not None
            manager.handle(Notice(RUN_FINISHED.name, 0.0, str(FAILED_LOG), state.client, run.index, 6, None,
                                  {"outcome": "failed"}))  # fmt: skip
            await wait_for(pilot, lambda: "page-oncall" in run.hooks)
            assert run.hooks["page-oncall"].timed_out
            await wait_for(pilot, lambda: "Hook page-oncall" in widget_text(facts))
            text = widget_text(facts)
            assert "failed for run_finished: timed out (attempt 1)" in text
        finally:
            manager.stop(timeout=30)
