"""Every custom Textual message of the TUI.

Owns the messages passed between the engine bridge, the app and the screens.
``NoticesArrived`` is posted from the feeding thread (tailer or replay) for
every burst of engine notices; it carries nothing (the bridge buffers the
notices) and ``can_replace`` collapses a flood of them into one.
"""

from __future__ import annotations

from textual.message import Message


class NoticesArrived(Message):
    """The engine published notices; the app drains the bridge's buffer."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, NoticesArrived)


class StateRefreshed(Message):
    """The app refreshed its view of the engine state; screens redraw what changed."""

    def __init__(self, dirty: frozenset[str], full: bool = False) -> None:
        super().__init__()
        self.dirty = dirty
        """Logs whose state changed since the last refresh."""
        self.full = full
        """Everything may have changed (a replay seek, a resize of the model)."""


class JumpToLine(Message):
    """Show this line of the log (from the findings list or the alerts screen)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line


class AlertsChanged(Message):
    """Alerts were added or acknowledged."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AlertsChanged)
