"""The replay keys of the TUI: pause, step, speed, seek and go to.

Owns :class:`ReplayKeys`, the base of the app that holds the replay actions.
Pause and speed are instant; step and seek can re-read much of the logs, so
they run in worker threads and the screens redraw from the notices they cause.
"""

from __future__ import annotations

from typing import Callable, Optional

from textual.app import App
from textual.binding import Binding

from nimwatch.tui.context import TuiContext
from nimwatch.tui.detail import DetailScreen
from nimwatch.tui.prompt import PromptScreen
from nimwatch.vocabulary import FINDING

SPEED_LIMITS = (1 / 16, 4096.0)
"""Slowest and fastest replay speeds the keys reach."""


class ReplayKeys(App[None]):
    """Replay actions; the app sets ``ctx`` and defines the two methods declared here."""

    ctx: TuiContext

    REPLAY_BINDINGS = [
        Binding("space", "replay_pause", "Pause"),
        Binding("full_stop", "replay_step", "Step"),
        Binding("plus", "replay_speed(2.0)", "Faster", show=False),
        Binding("minus", "replay_speed(0.5)", "Slower", show=False),
        Binding("greater_than_sign", "replay_seek(0.1)", "Seek +10%", show=False),
        Binding("less_than_sign", "replay_seek(-0.1)", "Seek -10%", show=False),
        Binding("g", "replay_goto", "Go to line or %", show=False),
    ]

    refresh_views: Callable[[], None]
    """Redraw the screens now (the app's)."""
    drain: Callable[[], None]
    """Take the notices the bridge holds (the app's)."""

    def action_replay_pause(self) -> None:
        replay = self.ctx.replay
        if replay is not None:
            replay.toggle_pause()
            self.refresh_views()

    def action_replay_speed(self, factor: float) -> None:
        replay = self.ctx.replay
        if replay is None:
            return
        current = replay.speed if replay.speed is not None else SPEED_LIMITS[1] * 2
        replay.set_speed(min(SPEED_LIMITS[1], max(SPEED_LIMITS[0], current * factor)))
        self.refresh_views()

    def action_replay_step(self) -> None:
        replay = self.ctx.replay
        if replay is None:
            return

        def step() -> None:
            notice = replay.step()
            what = "end of the logs"
            if notice is not None:
                where = f" (phase {notice.phase})" if notice.phase else ""
                title = f": {notice.get('title')}" if notice.kind is FINDING else ""
                what = f"{notice.client}: {notice.event.replace('_', ' ')}{where}{title}"
            self.call_from_thread(self._after_control, f"Stopped at {what}")

        self.run_worker(step, thread=True, group="replay-control")

    def action_replay_seek(self, delta: float) -> None:
        replay = self.ctx.replay
        if replay is not None:
            target = replay.fraction + delta
            self._control(lambda: replay.seek_fraction(target))

    def action_replay_goto(self) -> None:
        replay = self.ctx.replay
        if replay is None:
            return
        # the log "go to line" applies to: the client shown, None for the first log
        log = self.screen.log_path if isinstance(self.screen, DetailScreen) else None

        def done(value: Optional[str]) -> None:
            text = (value or "").strip()
            if not text:
                return
            try:
                if text.endswith("%"):
                    fraction = float(text[:-1]) / 100
                    self._control(lambda: replay.seek_fraction(fraction))
                else:
                    line = int(text)
                    self._control(lambda: replay.seek_line(line, log))
            except ValueError:
                self.notify(f"Not a line number or a percentage: {text}", severity="error")

        self.push_screen(PromptScreen("Go to line (or N%):"), done)

    def _control(self, work: Callable[[], None]) -> None:
        def run() -> None:
            work()
            self.call_from_thread(self._after_control, "")

        self.run_worker(run, thread=True, group="replay-control")

    def _after_control(self, message: str) -> None:
        self.drain()
        self._full = True
        self.refresh_views()
        if message:
            self.notify(message, title="Replay")

    async def wait_for_replay_controls(self) -> None:
        """Wait until the step and seek workers started so far are done (tests)."""
        workers = [w for w in self.workers if w.group == "replay-control"]
        await self.workers.wait_for_complete(workers)
