"""The replay's status line: playing or paused, speed, position and log time.

Owns :class:`ReplayBar`, shown above the dashboard and the client detail while
a replay runs. It reads the :class:`~nimwatch.tui.replay_control.ReplayControl`
when the app refreshes; the keys that drive the replay are the app's.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from rich.text import Text
from textual.widgets import Static

from nimwatch.tui.replay_control import ReplayControl
from nimwatch.views.status_table import bar


def speed_label(speed: Optional[float]) -> str:
    return "max" if speed is None else f"x{speed:g}"


class ReplayBar(Static):
    """One line: ``REPLAY ▶ x4  [████░░░░]  37%  03:21:33 UTC  line 812/2201``."""

    def __init__(self, replay: ReplayControl, *, id: str = "replay-bar") -> None:
        super().__init__(id=id)
        self.replay = replay
        self._shown: tuple[str, tuple[object, ...]] = ("", ())

    def on_mount(self) -> None:
        self.update_from_replay()

    def update_from_replay(self) -> None:
        replay = self.replay
        if replay.done:
            state, style = "■ finished", "green"
        elif replay.paused:
            state, style = "‖ paused", "bold yellow"
        else:
            state, style = "▶ playing", "cyan"
        stamp = datetime.fromtimestamp(replay.now, tz=timezone.utc).strftime("%H:%M:%S UTC")
        text = Text.assemble(
            ("REPLAY ", "bold"),
            (state, style),
            f"  {speed_label(replay.speed)}  ",
            (bar(replay.fraction, 12), style),
            f" {int(replay.fraction * 100):3d}%  {stamp}  line {replay.fed_lines}/{replay.total_lines}",
        )
        shown = (text.plain, tuple(text.spans))
        if shown != self._shown:
            # One line, always: no layout pass (a layout repaints the whole screen).
            self._shown = shown
            self.update(text, layout=False)
