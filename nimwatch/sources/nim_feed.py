"""The NIM state cross-check as a source: the clients' ``lsnim -Z`` readings fed into the engine.

Owns :class:`NimStateFeed`. It follows the clients of the logs the engine
holds (a log that appears later adds its client), reads each one's NIM state
with :class:`~nimwatch.aix.nim_state.NimStatePoller` through the one command
runner (``LC_ALL=C``, a timeout each) in a thread of its own, and applies
each change as a :class:`~nimwatch.core.events.NimStateRead` to every log of
that client: the engine then publishes a ``nim_state`` notice and the views
show the state beside the phase. A reading that fails is applied too (the
views say the state is unreadable) and reported once on ``on_error`` until it
can be read again. Whether ``info`` counts toward the stall rule is the stall
monitor's decision, from the state. Running as root, an ``lsnim`` that
another user could change (the file or a directory above it) is never run.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Callable, Optional

from nimwatch.aix.nim_state import NimStateConfig, NimStatePoller, NimStateReport
from nimwatch.aix.runner import LOCAL_TIMEOUT, SubprocessRunner
from nimwatch.core.events import NimStateRead
from nimwatch.ticker import Ticked
from nimwatch.trust import trust_problem

log = logging.getLogger(__name__)

NIM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
"""A name lsnim can be asked about (never one that starts like an option)."""


class NimStateFeed(Ticked):
    """Polls the NIM state of the engine's clients and feeds the changes into the engine.

    It ticks at least once a second in its own thread, so a new client is read soon; :meth:`stop` leaves
    an lsnim under way to its timeout, in the background.

    Args:
        engine: the engine (``logs``, ``locked``; fed through its ``report``).
        config: the ``nim_state:`` section.
        on_error: receives one line per new problem (the state could not be read; default: the log).
        clock: seconds since the epoch.
    """

    NAME = "nimwatch-nimstate"
    STOP_WAIT = 5.0

    def __init__(
        self,
        engine: Any,
        config: NimStateConfig,
        on_error: Optional[Callable[[str], None]] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(engine, on_error, every=min(1.0, config.interval))
        self.config = config
        command = config.command()
        self.refused = trust_problem(command, "the lsnim command") or ""
        """Running as root, an lsnim another user could change is never run (said once)."""
        if self.refused:
            self.on_error(f"NIM state cross-check off: {self.refused}")
        self.poller = NimStatePoller(
            SubprocessRunner(),
            interval=config.interval,
            stale_after=config.stall_minutes * 60.0,
            clock=clock,
            on_report=self._on_report,
            lsnim=command,
            timeout=LOCAL_TIMEOUT if config.timeout is None else config.timeout,
        )

    def clients(self) -> dict[str, list[str]]:
        """Each client the engine follows, with its logs."""
        out: dict[str, list[str]] = {}
        with self.engine.locked():
            for name, state in self.engine.logs.items():
                run = state.current
                client = (run.client if run is not None else "") or state.client
                if client and NIM_NAME.match(client):
                    out.setdefault(client, []).append(name)
        return out

    def sync(self) -> None:
        """Follow the clients of the logs the engine holds now."""
        wanted = self.clients()
        known = self.poller.snapshot()
        for client in wanted:
            if client not in known:
                self.poller.add(client)
        for client in known:
            if client not in wanted:
                self.poller.remove(client)

    def tick(self, now: Optional[float] = None) -> None:
        """Read every client whose turn has come (the readings reach the engine through ``on_report``)."""
        if self.refused:
            return
        self.sync()
        self.poller.tick(now)

    def _on_report(self, report: NimStateReport) -> None:
        if report.kind == "error":
            self.on_error(f"NIM state of {report.client}: {report.message}")
            event = NimStateRead("", "", "", error=report.message)
        elif report.kind in ("state", "recovered") and report.state is not None:
            if report.kind == "recovered":
                log.info("%s", report.message)
            event = NimStateRead(report.state.cstate, report.state.info, report.state.result)
        else:
            return  # info_stalled: the stall monitor judges from the state it keeps
        for name in self.clients().get(report.client, []):
            self.engine.report(event, report.at, name)
