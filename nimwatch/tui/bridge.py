"""From the engine's feeding thread to the Textual event loop, bursts coalesced.

Owns :class:`NoticeBridge`, the TUI's only engine subscriber. The engine calls
it in whatever thread feeds it (the tailer's, the replay worker's); it must be
quick, so it only notes which logs changed, keeps the notices the UI lists
(findings, stalls, resets) and posts one :class:`NoticesArrived` message while
none is pending. ``post_message`` is thread-safe, and the app drains the
buffer on its own thread; a burst of thousands of notices therefore costs one
message and a few redraws.

Also owns :class:`Coalescer`, which decides when the app applies what it
drained: at once after a quiet period (leading edge: a lone line is not kept
waiting), and during a burst at most once every ``interval`` seconds, the
updates that arrive meanwhile merged into one trailing redraw.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable, Optional

from textual.message_pump import MessagePump

from nimwatch.engine import Notice
from nimwatch.tui.messages import NoticesArrived


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
            if notice.kind.shown:  # the UI lists it; the others only mark their log as changed
                self._notices.append(notice)
            if self._pending or not self._attached:
                return
            self._pending = True
            self.posted += 1
        self._target.post_message(NoticesArrived())

    @property
    def waiting(self) -> bool:
        """Notices arrived that the app has not drained yet."""
        with self._lock:
            return bool(self._dirty)

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


class Coalescer:
    """Leading-edge + trailing coalescing of updates, on an injectable clock.

    The app asks :meth:`schedule` whenever updates are waiting and calls
    :meth:`applied` when it applies them. When nothing was applied for
    ``interval`` seconds (a quiet period) the answer is 0: apply now. Within
    ``interval`` of the last application (a burst) the answer is the rest of the
    interval: the app sets one timer, and every update arriving before it fires
    gets None (it joins that flush). A flood is thus applied once on its first
    notice and then at most every ``interval`` seconds, whatever its size.
    """

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last = -math.inf
        self._due: Optional[float] = None

    @property
    def pending(self) -> bool:
        """A trailing flush is scheduled."""
        return self._due is not None

    def schedule(self) -> Optional[float]:
        """Seconds until the waiting updates should be applied (0: now), None if a flush is already due."""
        if self._due is not None:
            return None
        now = self.clock()
        wait = self._last + self.interval - now
        if wait <= 0:
            return 0.0
        self._due = now + wait
        return wait

    def applied(self) -> None:
        """The updates were applied (now, or by the scheduled flush)."""
        self._due = None
        self._last = self.clock()
