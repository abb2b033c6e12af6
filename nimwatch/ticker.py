"""A daemon thread that calls one function every few seconds until stopped.

Owns :class:`Ticker`, the thread of the sources that look outside the logs
(the NIM state poller, the run records' follower): started and stopped with
the watcher or the TUI, and never ended by one bad call (the error is
reported on ``on_error`` and the next tick comes as usual).
"""

from __future__ import annotations

import threading
from typing import Callable, Optional


class Ticker:
    """Calls ``tick()`` at once, then every ``every`` seconds, in a daemon thread named ``name``."""

    def __init__(self, name: str, tick: Callable[[], object], every: float, on_error: Callable[[str], None]) -> None:
        self.name = name
        self.tick = tick
        self.every = every
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stop ticking; waits for a tick under way (up to ``timeout`` seconds: a daemon thread is left behind)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # one bad call must not end the thread
                self.on_error(f"{self.name}: {exc}")
            self._stop.wait(self.every)
