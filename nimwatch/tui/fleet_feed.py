"""The TUI's look at Prometheus: a thread that asks it on an interval, and what it last said.

Owns :class:`FleetFeed` (the thread) and :class:`FleetState` (the last
fleet view, the last error). The thread calls ``fetch`` (the
command wires :func:`nimwatch.fleet.collect` on a
:class:`~nimwatch.prometheus_api.PrometheusClient`; this module imports
neither) every ``refresh`` seconds, or at once when asked (:meth:`FleetFeed.now`),
and hands each :class:`FleetResult` to ``deliver`` (the app posts it to
itself: the UI thread is never blocked by a slow or silent Prometheus). A
failed look is kept as one line of text (a :class:`~nimwatch.errors.NimwatchError`'s
message, or the exception's type and words: never a traceback) and the next
look comes at the usual interval: Prometheus coming back is seen without a
key press. The thread is a daemon: quitting never waits for a query that
hangs until its timeout. No Textual here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from nimwatch.errors import NimwatchError
from nimwatch.fleet import FleetView


@dataclass(frozen=True)
class FleetResult:
    """One look at Prometheus: a view, or why there is none."""

    at: float
    """When the look ended (the feed's clock)."""
    view: Optional[FleetView] = None
    error: Optional[str] = None


@dataclass
class FleetState:
    """What the fleet screen shows: the last good view, and the trouble since."""

    url: str
    refresh: float
    view: Optional[FleetView] = None
    error: Optional[str] = None
    """The last look's failure (None: the last look worked)."""
    failures: int = 0
    """Looks failed in a row."""
    looks: int = 0

    def apply(self, result: FleetResult) -> None:
        self.looks += 1
        if result.view is not None:
            self.view, self.error, self.failures = result.view, None, 0
        else:
            self.error = result.error or "no answer"
            self.failures += 1

    @property
    def waiting(self) -> bool:
        """No look has ended yet."""
        return self.looks == 0


def describe(exc: BaseException) -> str:
    """One line for a failed look: nimwatch's own message, else the exception's type and words."""
    if isinstance(exc, NimwatchError):
        return str(exc)
    words = str(exc).strip().splitlines()
    return f"the query failed: {type(exc).__name__}" + (f": {words[0]}" if words else "")


class FleetFeed:
    """Asks ``fetch`` every ``refresh`` seconds in its own thread; each answer goes to ``deliver``."""

    def __init__(
        self,
        url: str,
        fetch: Callable[[], FleetView],
        refresh: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.fetch = fetch
        self.refresh = refresh
        self.clock = clock
        self.state = FleetState(url, refresh)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self, deliver: Callable[[FleetResult], object]) -> None:
        """Look now, then every ``refresh`` seconds, until :meth:`stop`."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(deliver,), name="nimwatch-fleet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """No more looks (one under way ends in the background; its answer is dropped)."""
        self._stop.set()
        self._wake.set()

    def now(self) -> None:
        """Look again at once (or right after the look under way)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stop.is_set()

    def look(self) -> FleetResult:
        """One look, in the calling thread."""
        try:
            view = self.fetch()
        except Exception as exc:  # whatever goes wrong is shown on screen, and tried again
            return FleetResult(self.clock(), error=describe(exc))
        return FleetResult(self.clock(), view=view)

    def _run(self, deliver: Callable[[FleetResult], object]) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            result = self.look()
            if self._stop.is_set():
                return
            try:
                deliver(result)
            except RuntimeError:  # the app's loop closed while this look was under way
                return
            self._wake.wait(self.refresh)
