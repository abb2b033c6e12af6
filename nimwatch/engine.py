"""The live engine: many logs, one state, notices for every subscriber.

Owns :class:`Engine` (the notices are :mod:`nimwatch.notices`). Sources (the tailer, replay) hand
the engine the bytes they read with the time they arrived; the engine runs
each log's :class:`~nimwatch.core.parser.LogReader`, reduces the events into
per-log :class:`~nimwatch.core.state.LogState` and turns them into notices: the
JSON-lines events of ``nimwatch watch`` and what the alert sinks, hooks and
the TUI subscribe to. Subscribers are called in the feeding thread, after the
engine's lock is released; they must be quick (queue work, never block).

Public notice events (the ``watch`` JSON-lines contract): run_started,
phase_started, phase_finished, finding, findings_suppressed, stalled,
stall_cleared, run_finished, hook_result, alert_failed, alert_recovered, backlog, log_replaced,
nimadm_exited, nim_state (from outside the log, given to :meth:`Engine.report`).
Internal ones (``progress``, ``fact``, ``lines``, ``bad_line``,
``finding_detail``, ``installp``) keep live views current and are not printed
by ``watch``. A finding's advice has the facts known so far filled in; when
the lines after an info finding show a failure (an unknown message number
inside installp's output), a second ``finding`` notice carries its new
severity. The stall monitor's verdicts (stalled, silent, running on) are core
events too, given to :meth:`Engine.reduce`, and so are a hook's result and an
alert sink's trouble or recovery, given to :meth:`Engine.report` by the hook
manager and the alert dispatcher: the reducer is the one writer of the state
(the logs' and the fleet's, :attr:`Engine.fleet`).

Flood limits: a run's findings become notices up to :class:`FindingLimits`
(per run and per signature; a finding that fails the run always passes). The
state still counts every finding; the ones held back are summed up in one
``findings_suppressed`` notice per signature when the run ends, so events,
alerts and hooks are capped as the state is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Optional

from nimwatch.core.events import Event, Finding, LaunchExited, NimStateRead, RunFinished, SinkFailed, SinkRecovered
from nimwatch.core.lognames import client_from_path
from nimwatch.core.parser import build_scanner
from nimwatch.core.reader import LogReader
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import FleetState, LogState
from nimwatch.notices import fleet_notice, notice_for, outside_notices
from nimwatch.vocabulary import FINDINGS_SUPPRESSED, LOG_REPLACED, LOG_RESTARTED, PUBLIC_EVENTS, Notice, iso

__all__ = ["PUBLIC_EVENTS", "Engine", "FindingLimits", "Notice", "iso"]

Subscriber = Callable[[Notice], None]


@dataclass
class FindingLimits:
    """How many findings of one run become notices (events, alerts, hooks)."""

    per_run: int = 500
    """All signatures together (the state keeps as many: ``MAX_FINDINGS``)."""
    per_rule: int = 50
    """Of one signature (rule id; ``unknown-message-code`` counts as one)."""


@dataclass
class Suppressed:
    """Findings of one signature in one run that were held back, summed up when the run ends."""

    rule: str
    count: int = 0
    line: int = 0
    phase: int = 0
    code: Optional[str] = None
    severity: str = "warning"
    reason: str = ""
    """``per_rule`` or ``per_run``: the limit that held the last one back."""


@dataclass
class FloodCounts:
    """One log's finding counts against the limits (keys ``"<run>|<rule>"``)."""

    per_run: dict[int, int] = field(default_factory=dict)
    per_rule: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, Suppressed] = field(default_factory=dict)


class Engine:
    """Follows any number of logs through the pure core.

    Args:
        rules: the compiled rule set (one scanner is built and shared by every log).
        clock: seconds since the epoch; injected so tests and replay control time.
    """

    def __init__(
        self, rules: RuleSet, clock: Callable[[], float] = time.time, limits: Optional[FindingLimits] = None
    ) -> None:
        self.rules = rules
        self.clock = clock
        self.limits = limits or FindingLimits()
        self.floods: dict[str, FloodCounts] = {}
        self.scanner = build_scanner(rules)
        self.logs: dict[str, LogState] = {}
        self.fleet = FleetState()
        """What is about no one log (the alert sinks' delivery): read under :meth:`locked`."""
        self._readers: dict[str, LogReader] = {}
        self._subscribers: list[Subscriber] = []
        self._lock = threading.RLock()
        self._phase_names = {p.number: p.name for p in rules.model.phases}
        self.annotate: Optional[Callable[[LogState, Notice], Notice]] = None
        """Adds keys to each public notice as it is made, under the lock (the watcher's ETA)."""

    # ------------------------------------------------------------------ subscription

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every notice from now on; returns an unsubscribe function."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock, suppress(ValueError):  # unsubscribed already
                self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, *notices: Notice) -> None:
        """Send notices: ones no state keeps (``log_replaced``, ``backlog``, a replay's own) or :meth:`reduce` gave."""
        self._dispatch(list(notices))

    def _dispatch(self, notices: list[Notice]) -> None:
        if not notices:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for notice in notices:
            for subscriber in subscribers:
                subscriber(notice)

    # ------------------------------------------------------------------ feeding

    def add_log(self, log: str, client: str = "") -> LogState:
        """Start following ``log`` (idempotent); ``client`` defaults to the one in its file name."""
        with self._lock:
            state = self.logs.get(log)
            if state is None:
                client = client or client_from_path(log)
                state = LogState(log, client)
                self.logs[log] = state
                self._readers[log] = LogReader(self.rules, client, self.scanner)
            return state

    def feed(self, log: str, data: bytes, at: Optional[float] = None) -> list[Notice]:
        """Bytes read from ``log`` at time ``at``: parse, reduce, notify. Returns the notices."""
        at = self.clock() if at is None else at
        with self._lock:
            self.add_log(log)
            notices = self._apply(log, self._readers[log].feed(data), at)
        self._dispatch(notices)
        return notices

    def close(self, log: str, at: Optional[float] = None) -> list[Notice]:
        """The log is finished (replay end, report): unfinished runs get their outcome."""
        at = self.clock() if at is None else at
        with self._lock:
            if log not in self._readers:
                return []
            notices = self._apply(log, self._readers[log].close(), at)
        self._dispatch(notices)
        return notices

    def restart(self, log: str, reason: str, at: Optional[float] = None) -> list[Notice]:
        """The file was truncated or replaced by a new one: parse it anew from its start.

        The runs seen so far stay in the state; an unfinished one ends as
        incomplete. The new content's runs continue the numbering.
        """
        at = self.clock() if at is None else at
        with self._lock:
            state = self.add_log(log)
            old = self._readers[log]
            notices = self._apply(log, old.close(), at)
            self._readers[log] = LogReader(
                self.rules, state.client, self.scanner, first_run=old.parser.runs_started + 1
            )
            notices.append(Notice(LOG_RESTARTED.name, at, log, state.client, fields={"reason": reason}))
        self._dispatch(notices)
        return notices

    def replaced(self, log: str, at: float, fields: Mapping[str, Any]) -> None:
        """The file under ``log``'s name changed while nimwatch was down: publish ``log_replaced``."""
        state = self.add_log(log)
        self.publish(Notice(LOG_REPLACED.name, at, log, state.client, fields=fields))

    def reduce(self, log: str, event: Event, at: float) -> list[Notice]:
        """Reduce an event from outside the parser (the stall monitor's) into ``log``'s state.

        Returns its notices without publishing them: the caller may hold the engine's lock
        (:meth:`locked`) while it decides and reduces, and publishes them (:meth:`publish`) once
        it has let go. Nothing happens for a log the engine does not follow.
        """
        with self._lock:
            if log not in self.logs:
                return []
            return self._apply(log, [event], at)

    def report(self, event: Event, at: Optional[float] = None, log: str = "") -> list[Notice]:
        """An event from outside the log: reduce it, then publish its notices (returned too).

        Who reports: the hook manager (a hook's result for ``log``), the alert dispatcher (a sink's
        trouble or recovery: the fleet's state), the run records (nimadm's exit) and the NIM state
        poller (the client's Cstate and info). Nimadm's exit and the NIM state of a log the engine
        does not follow give nothing; a hook's result for one (a run kept from an earlier session,
        read again before its log) is said but kept nowhere.
        """
        at = self.clock() if at is None else at
        with self._lock:
            if isinstance(event, (SinkFailed, SinkRecovered)):
                notice = fleet_notice(self.fleet, event, at)  # before the reducer clears what it says
                self.fleet.apply(event, at)
                notices = [notice] if notice is not None else []
            elif isinstance(event, (LaunchExited, NimStateRead)):
                state = self.logs.get(log)
                notices = outside_notices(state, event, at, self.phase_name) if state is not None else []
            elif log in self.logs:
                notices = self._apply(log, [event], at)
            else:
                notice = notice_for(LogState(log, client_from_path(log)), event, at, self.phase_name)
                notices = [notice] if notice is not None else []
        self._dispatch(notices)
        return notices

    def content_run(self, log: str, nth: int) -> Optional[int]:
        """The run number of the ``nth`` run of the content of ``log`` being read (None: not followed)."""
        with self._lock:
            reader = self._readers.get(log)
            return None if reader is None else reader.parser.first_run + nth - 1

    def remove(self, log: str) -> None:
        """Stop following ``log`` and forget its state."""
        with self._lock:
            self.logs.pop(log, None)
            self._readers.pop(log, None)
            self.floods.pop(log, None)

    def export_log(self, log: str) -> Optional[dict[str, Any]]:
        """The live objects of one log (state, reader, flood counts) for a snapshot (encode under ``locked()``)."""
        with self._lock:
            if log not in self.logs:
                return None
            return {
                "state": self.logs[log],
                "reader": self._readers[log],
                "floods": self.floods.get(log, FloodCounts()),
            }

    def restore_log(self, log: str, parts: Mapping[str, Any]) -> None:
        """Take back what :meth:`export_log` gave (decoded from a snapshot): the log resumes where it was."""
        with self._lock:
            self.logs[log] = parts["state"]
            self._readers[log] = parts["reader"]
            self.floods[log] = parts["floods"]

    def wiring(self) -> dict[str, Any]:
        """The objects every log's reader shares: written by reference in a snapshot, given back on restore."""
        return {"rules": self.rules, "scanner": self.scanner}

    def snapshot(self) -> dict[str, LogState]:
        """The current states (live objects: read them in the feeding thread or under ``locked()``)."""
        with self._lock:
            return dict(self.logs)

    def locked(self) -> threading.RLock:
        return self._lock

    # ------------------------------------------------------------------ events -> notices

    def phase_name(self, phase: Optional[int]) -> Optional[str]:
        return self._phase_names.get(phase) if phase else None

    def _apply(self, log: str, events: list[Event], at: float) -> list[Notice]:
        state = self.logs[log]
        floods = self.floods.setdefault(log, FloodCounts())
        notices: list[Notice] = []
        for event in events:
            state.apply(event, at)
            if isinstance(event, Finding) and not self._admit(floods, event):
                continue
            if isinstance(event, RunFinished):
                notices.extend(self._suppressed_notices(state, floods, event.run, at))
            notice = notice_for(state, event, at, self.phase_name)
            if notice is not None:
                if self.annotate is not None and notice.public:
                    notice = self.annotate(state, notice)
                notices.append(notice)
        return notices

    def _admit(self, floods: FloodCounts, finding: Finding) -> bool:
        """Whether a finding becomes a notice, or is counted as suppressed (flood limits)."""
        key = f"{finding.run}|{finding.rule}"
        in_run = floods.per_run.get(finding.run, 0)
        of_rule = floods.per_rule.get(key, 0)
        if finding.fails_run or (in_run < self.limits.per_run and of_rule < self.limits.per_rule):
            floods.per_run[finding.run] = in_run + 1
            floods.per_rule[key] = of_rule + 1
            return True
        held = floods.suppressed.setdefault(key, Suppressed(finding.rule))
        held.count += 1
        held.line, held.phase, held.code = finding.line, finding.phase, finding.code
        held.severity = finding.severity.value
        held.reason = "per_rule" if of_rule >= self.limits.per_rule else "per_run"
        return False

    def _suppressed_notices(self, state: LogState, floods: FloodCounts, run: int, at: float) -> list[Notice]:
        """One ``findings_suppressed`` notice per signature held back in ``run`` (once, at its end)."""
        out = []
        for key in sorted(k for k in floods.suppressed if k.startswith(f"{run}|")):
            held = floods.suppressed.pop(key)
            limit = self.limits.per_rule if held.reason == "per_rule" else self.limits.per_run
            client = state.run(run).client or state.client if run <= len(state.runs) else state.client
            text = (
                f"{held.count} more finding(s) of rule {held.rule} suppressed "
                f"(limit: {limit} {'of this rule' if held.reason == 'per_rule' else 'in all'} per run)"
            )
            fields = FINDINGS_SUPPRESSED.carry(held, limit=limit, text=text)
            phase, name = held.phase or None, self.phase_name(held.phase)
            out.append(Notice(FINDINGS_SUPPRESSED.name, at, state.log, client, run, phase, name, fields))
        return out
