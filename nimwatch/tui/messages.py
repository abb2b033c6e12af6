"""Every custom Textual message of the TUI.

Owns the messages passed between the engine bridge, the app and the screens.
``NoticesArrived`` is posted from the feeding thread (tailer or replay) for
every burst of engine notices; it carries nothing (the bridge buffers the
notices) and ``can_replace`` collapses a flood of them into one.
``FleetUpdated`` is posted from the fleet feed's thread after each look at
Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from nimwatch.tui.fleet_feed import FleetResult


class NoticesArrived(Message):
    """The engine published notices; the app drains the bridge's buffer."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, NoticesArrived)


@dataclass
class JumpToLine(Message):
    """Show this line of the log (from the findings list or the alerts screen)."""

    line: int


@dataclass
class OpenClient(Message):
    """Open a client's detail screen (at a log line, when given)."""

    log: str
    line: int | None = None


class OpenFleet(Message):
    """Show the fleet screen (every master's clients, from Prometheus)."""


@dataclass
class FleetUpdated(Message):
    """The fleet feed's thread looked at Prometheus: a new view, or why there is none."""

    result: FleetResult
