"""The NIM state of clients, read with ``lsnim -Z -a Cstate -a info -a Cstate_result CLIENT`` and followed over time.

:func:`read_state` runs the command once through a
:class:`~nimwatch.aix.runner.Runner`. :class:`NimStatePoller` reads each
client every ``interval`` seconds (its :meth:`~NimStatePoller.tick` is called
with the time, so tests and the watcher's loop drive it; :meth:`start` runs it
in a thread of its own) and reports:

* ``state`` - the first reading, and every change of Cstate, info or Cstate_result;
* ``info_stalled`` - ``info`` unchanged for ``stale_after`` seconds (IBM's VIOS
  alt-disk module treats 30 minutes unchanged as blocked), once until it changes;
* ``error`` - the state could not be read (once per distinct error), and
  ``recovered`` when it can be read again.

``poller.snapshot()`` gives each client's :class:`ClientNimState` (state,
when it last changed, since when ``info`` has not changed, the last error);
``on_report`` receives every :class:`NimStateReport` as it happens.
:mod:`nimwatch.sources.nim_feed` runs the poller for ``watch``, ``status``
and the TUI and feeds the readings into the engine.

The ``nim_state:`` config section is :class:`nimwatch.config.file.NimStateConfig`.
Whether a plain nimadm run updates the client's Cstate/info is unverified
(``nim_commands.md`` section 4).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Callable, Optional

from nimwatch.aix.parse_nim import NimState, nim_error, parse_lsnim_z
from nimwatch.aix.runner import LOCAL_TIMEOUT, CommandResult, Runner, first_line
from nimwatch.aix.text import clean_line
from nimwatch.config.file import LSNIM, NimStateConfig
from nimwatch.ticker import Ticker

STALE_AFTER = NimStateConfig.stall_minutes * 60.0
"""Seconds of unchanged ``info`` after which a client counts as stalled (IBM's VIOS module: 30 minutes)."""
INTERVAL = NimStateConfig.interval
"""Default seconds between two readings of a client."""


def lsnim_state_argv(client: str, lsnim: str = LSNIM) -> list[str]:
    return [lsnim, "-Z", "-a", "Cstate", "-a", "info", "-a", "Cstate_result", client]


@dataclass(frozen=True)
class Reading:
    """One reading: the state, or why there is none."""

    state: Optional[NimState]
    error: str = ""


def read_state(runner: Runner, client: str, *, lsnim: str = LSNIM, timeout: float = LOCAL_TIMEOUT) -> Reading:
    """The client's NIM state now (or an error saying why it cannot be read)."""
    result: CommandResult = runner.run(lsnim_state_argv(client, lsnim), timeout)
    if not result.ok:
        code = nim_error(result.stderr + result.stdout)
        detail = first_line(result.stderr) or first_line(result.stdout)
        if code == "0042-053":
            return Reading(None, clean_line(f"{client} is not a NIM object ({detail})"))
        return Reading(None, clean_line(result.why_not()))
    state = parse_lsnim_z(result.stdout).get(client)
    if state is None:
        return Reading(None, clean_line(f"lsnim -Z printed no record for {client}"))
    return Reading(NimState(*(clean_line(v) for v in (state.name, state.cstate, state.info, state.result))))


@dataclass(frozen=True)
class NimStateReport:
    """Something to tell about a client's NIM state."""

    client: str
    kind: str
    """``state``, ``info_stalled``, ``error`` or ``recovered``."""
    at: float
    state: Optional[NimState]
    previous: Optional[NimState]
    info_unchanged_for: float
    """Seconds since ``info`` last changed (0 for a first reading)."""
    message: str


@dataclass(frozen=True)
class ClientNimState:
    """What the poller knows of one client."""

    client: str
    state: Optional[NimState] = None
    read_at: Optional[float] = None
    changed_at: Optional[float] = None
    info_since: Optional[float] = None
    error: str = ""
    stall_reported: bool = False


class NimStatePoller:
    """Reads the NIM state of some clients every ``interval`` seconds and reports what changed.

    Args:
        runner: runs ``lsnim`` (the pre-flight's runner).
        clients: the NIM client names to follow (``add``/``remove`` change the set).
        interval: seconds between two readings of a client.
        stale_after: seconds of unchanged ``info`` reported as ``info_stalled``.
        clock: seconds since the epoch (injected for tests).
        on_report: called with each report, in the polling thread.
        lsnim: the ``lsnim`` command.
    """

    def __init__(
        self,
        runner: Runner,
        clients: Iterable[str] = (),
        *,
        interval: float = INTERVAL,
        stale_after: float = STALE_AFTER,
        clock: Callable[[], float] = time.time,
        on_report: Optional[Callable[[NimStateReport], None]] = None,
        lsnim: str = LSNIM,
        timeout: float = LOCAL_TIMEOUT,
    ) -> None:
        if interval <= 0 or stale_after <= 0:
            raise ValueError("interval and stale_after must be positive")
        self.runner = runner
        self.interval = interval
        self.stale_after = stale_after
        self.clock = clock
        self.on_report = on_report
        self.lsnim = lsnim
        self.timeout = timeout
        self._lock = threading.Lock()
        self._clients: dict[str, ClientNimState] = {}
        self._next: dict[str, float] = {}
        self._ticker = Ticker("nimwatch-nimstate", self.tick, min(1.0, interval), logging.getLogger(__name__).warning)
        for client in clients:
            self.add(client)

    # ------------------------------------------------------------------ the set of clients

    def add(self, client: str) -> None:
        """Follow ``client`` (read at the next tick)."""
        with self._lock:
            if client not in self._clients:
                self._clients[client] = ClientNimState(client)
                self._next[client] = float("-inf")

    def remove(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)
            self._next.pop(client, None)

    def snapshot(self) -> dict[str, ClientNimState]:
        with self._lock:
            return dict(self._clients)

    def info_stalled(self, client: str, now: Optional[float] = None) -> bool:
        """True when ``client``'s ``info`` has not changed for ``stale_after`` seconds."""
        with self._lock:
            known = self._clients.get(client)
        if known is None or known.state is None or known.info_since is None:
            return False
        return (self.clock() if now is None else now) - known.info_since >= self.stale_after

    # ------------------------------------------------------------------ polling

    def tick(self, now: Optional[float] = None) -> list[NimStateReport]:
        """Read every client whose turn has come; return (and hand to ``on_report``) the reports."""
        at = self.clock() if now is None else now
        with self._lock:
            due = [c for c, when in self._next.items() if when <= at]
            for client in due:
                self._next[client] = at + self.interval
        reports: list[NimStateReport] = []
        for client in due:
            reading = read_state(self.runner, client, lsnim=self.lsnim, timeout=self.timeout)
            reports.extend(self._apply(client, reading, at))
        with self._lock:
            for client in [c for c in self._clients if c not in due]:
                reports.extend(self._check_stall_locked(client, at))
        if self.on_report is not None:
            for report in reports:
                self.on_report(report)
        return reports

    def _apply(self, client: str, reading: Reading, at: float) -> list[NimStateReport]:
        with self._lock:
            known = self._clients.get(client)
            if known is None:  # removed meanwhile
                return []
            previous = known.state
            if reading.state is None:
                if reading.error == known.error:
                    return []
                self._clients[client] = replace(known, error=reading.error, read_at=at)
                return [NimStateReport(client, "error", at, None, previous, 0.0, reading.error)]
            state = reading.state
            out: list[NimStateReport] = []
            if known.error:
                out.append(
                    NimStateReport(client, "recovered", at, state, previous, 0.0, f"{client}: NIM state readable again")
                )
            if previous is None or state != previous:
                info_since = at
                if previous is not None and state.info == previous.info and known.info_since is not None:
                    info_since = known.info_since
                unchanged = at - info_since
                self._clients[client] = ClientNimState(
                    client, state, at, at, info_since, "", known.stall_reported and unchanged > 0
                )
                out.append(NimStateReport(client, "state", at, state, previous, unchanged, _describe(state, previous)))
            else:
                self._clients[client] = replace(known, read_at=at, error="")
            return out + self._check_stall_locked(client, at)

    def _check_stall_locked(self, client: str, at: float) -> list[NimStateReport]:
        known = self._clients.get(client)
        if known is None or known.state is None or known.info_since is None or known.stall_reported:
            return []
        unchanged = at - known.info_since
        if unchanged < self.stale_after:
            return []
        self._clients[client] = replace(known, stall_reported=True)
        info = known.state.info or "(empty)"
        minutes = int(unchanged // 60)
        unchanged_for = f"{minutes} minute{'s' if minutes != 1 else ''}"
        message = f"{client}: NIM info unchanged for {unchanged_for}: {info} (Cstate: {known.state.cstate})"
        return [NimStateReport(client, "info_stalled", at, known.state, known.state, unchanged, message)]

    # ------------------------------------------------------------------ own thread

    def start(self) -> None:
        """Poll in a daemon thread until :meth:`stop` (ticks at least once a second, so new clients start soon)."""
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()


def _describe(state: NimState, previous: Optional[NimState]) -> str:
    text = f"{state.name}: Cstate {state.cstate}"
    if state.info:
        text += f", info {state.info}"
    if state.result:
        text += f", result {state.result}"
    if previous is not None and previous.cstate != state.cstate:
        text += f" (was {previous.cstate})"
    return text
