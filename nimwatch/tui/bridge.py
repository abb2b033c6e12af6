"""From the engine's feeding thread to the Textual event loop, bursts coalesced.

Owns :class:`NoticeBridge`, the TUI's only engine subscriber. The engine calls
it in whatever thread feeds it (the tailer's, the replay worker's); it must be
quick, so it only notes which logs changed, keeps the notices the UI lists
(findings, stalls, resets) and posts one :class:`NoticesArrived` message while
none is pending. ``post_message`` is thread-safe, and the app drains the
buffer on its own thread; a burst of thousands of notices therefore costs one
message and one redraw.
"""

from __future__ import annotations

import threading

from textual.message_pump import MessagePump

from nimwatch.engine import Notice
from nimwatch.tui.messages import NoticesArrived

KEPT_EVENTS = frozenset(
    {"finding", "stalled", "stall_cleared", "run_started", "run_finished", "phase_started", "phase_finished",
     "log_reset", "log_restarted"}
)
"""Notices the UI needs one by one; the others only mark their log as changed."""


class NoticeBridge:
    """Buffers engine notices for the UI thread and wakes it with one message per burst."""

    def __init__(self, target: MessagePump) -> None:
        self._target = target
        self._lock = threading.Lock()
        self._notices: list[Notice] = []
        self._dirty: set[str] = set()
        self._pending = False
        self._attached = False
        self.posted = 0
        """Messages posted so far (the flood tests read it)."""

    def __call__(self, notice: Notice) -> None:
        with self._lock:
            self._dirty.add(notice.log)
            if notice.event in KEPT_EVENTS:
                self._notices.append(notice)
            if self._pending or not self._attached:
                return
            self._pending = True
            self.posted += 1
        self._target.post_message(NoticesArrived())

    def attach(self) -> None:
        """The app runs: post from now on (before, notices are only buffered)."""
        with self._lock:
            self._attached = True

    def drain(self) -> tuple[list[Notice], set[str]]:
        """The notices kept and the logs changed since the last drain (UI thread)."""
        with self._lock:
            notices, dirty = self._notices, self._dirty
            self._notices, self._dirty = [], set()
            self._pending = False
        return notices, dirty
