"""What the TUI may ask of a replay: :class:`ReplayControl`.

Owns the interface between the views and a replay source. The TUI's screens,
keys and status bar are written against it, never against
:mod:`nimwatch.sources.replay` (views do not import sources); the replay
command hands its ``ReplaySource``, which has these members. Pure Python.
"""

from __future__ import annotations

from typing import Optional, Protocol

from nimwatch.engine import Notice


class ReplayControl(Protocol):
    """A replay the TUI shows and drives (it runs in a worker thread: ``run`` until ``stop``)."""

    @property
    def now(self) -> float:
        """The log time reached (seconds since the epoch)."""

    @property
    def done(self) -> bool: ...

    @property
    def paused(self) -> bool: ...

    @property
    def speed(self) -> Optional[float]:
        """Log seconds per wall second; None: as fast as it can."""

    @property
    def fraction(self) -> float:
        """How far the replay is, 0.0 to 1.0."""

    @property
    def fed_lines(self) -> int: ...

    @property
    def total_lines(self) -> int: ...

    def run(self) -> None: ...

    def stop(self) -> None: ...

    def toggle_pause(self) -> bool: ...

    def set_speed(self, speed: Optional[float]) -> None: ...

    def step(self) -> Optional[Notice]:
        """Feed the next line; what it caused (a notice), or None at the end."""

    def seek_fraction(self, fraction: float) -> None: ...

    def seek_line(self, line: int, log: Optional[str] = None) -> None: ...
