"""The thread of the sources that look outside the logs, and their base classes.

Owns :class:`Ticker` (a daemon thread calling one function every few seconds,
never ended by one bad call: the error goes to ``on_error``), :class:`Ticked`
(a source feeding the engine from a ticker of its own: the NIM state feed) and
:class:`LogFollower` (a ticked source of items about the engine's logs, each
given once its log is read to its end: exit statuses, hook results). A
subclass says only what it reads and what it reports.
"""

from __future__ import annotations

import abc
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any, Callable, Optional

log = logging.getLogger(__name__)
OnError = Callable[[str], None]


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


class Ticked(abc.ABC):
    """A source from outside the logs that feeds ``engine`` (``logs``, ``locked``, ``report``) from a ticker.

    A subclass says what it reads and reports (:meth:`tick`), its thread's ``NAME``, the seconds between two ticks
    (``EVERY``, or ``every``) and how long :meth:`stop` waits for a tick under way (``STOP_WAIT``). ``on_error``
    (default: the log) receives one-line problems; the ticker keeps the one given here.
    """

    NAME = "nimwatch-ticked"
    EVERY = 5.0
    STOP_WAIT: Optional[float] = None

    def __init__(self, engine: Any, on_error: Optional[OnError] = None, every: Optional[float] = None) -> None:
        self.engine = engine
        self.on_error: OnError = on_error or log.warning
        self._ticker = Ticker(self.NAME, self.tick, self.EVERY if every is None else every, self.on_error)

    @abc.abstractmethod
    def tick(self) -> object:
        """Read once and report what changed to the engine."""

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop(self.STOP_WAIT)


class LogFollower(Ticked):
    """Gives the engine each item ``source`` holds about a log the engine follows, once (again when it changes).

    An item is given only once ``caught_up(log)`` says all the log file holds was fed to the engine (the run it
    names exists, the log's last lines come first); the log's later items wait with it. A subclass says what
    the source holds (:meth:`items`) and the event each item is (:meth:`event`).
    """

    def __init__(
        self, engine: Any, source: Any, caught_up: Callable[[str], bool], on_error: Optional[OnError] = None
    ) -> None:
        super().__init__(engine, on_error)
        self.source = source
        self.caught_up = caught_up
        self._given: dict[str, object] = {}  # item key -> the version given to the engine

    @abc.abstractmethod
    def items(self) -> Iterator[tuple[str, object, str, Any]]:
        """(key, version, its log's real path, item) of each item the source holds, each log's in order."""

    @abc.abstractmethod
    def event(self, item: Any, log: str) -> tuple[Any, Optional[float]]:
        """The event an item about ``log`` (the engine's name) is, and when it happened (None: now)."""

    def tick(self) -> int:
        """Give the engine the new items of the logs it follows; returns how many."""
        with self.engine.locked():
            followed = {os.path.realpath(name): name for name in self.engine.logs}
        behind: set[str] = set()
        given = 0
        for key, version, real, item in self.items():
            name = followed.get(real)
            if name is None or name in behind or self._given.get(key) == version:
                continue
            if not self.caught_up(name):
                behind.add(name)
                continue
            event, at = self.event(item, name)
            self.engine.report(event, at, name)
            self._given[key] = version
            given += 1
        return given
