"""The live engine: many logs, one state, notices for every subscriber.

Owns :class:`Engine` and :class:`Notice`. Sources (the tailer, replay) hand
the engine the bytes they read with the time they arrived; the engine runs
each log's :class:`~nimwatch.core.parser.LogReader`, reduces the events into
per-log :class:`~nimwatch.core.state.LogState` and turns them into notices: the
JSON-lines events of ``nimwatch watch`` and what the alert sinks, hooks and
the TUI subscribe to. Subscribers are called in the feeding thread, after the
engine's lock is released; they must be quick (queue work, never block).

Public notice events (the ``watch`` JSON-lines contract): run_started,
phase_started, phase_finished, finding, findings_suppressed, stalled,
stall_cleared, run_finished, hook_result, alert_failed, backlog, log_replaced,
nimadm_exited, nim_state (from outside the log: :mod:`nimwatch.outside_notices`).
Internal ones (``progress``, ``fact``, ``lines``, ``bad_line``,
``finding_detail``, ``installp``) keep live views current and are not printed
by ``watch``. A finding's advice has the facts known so far filled in; when
the lines after an info finding show a failure (an unknown message number
inside installp's output), a second ``finding`` notice carries its new
severity.

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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

from nimwatch.core.advice import advice_values, fill_advice
from nimwatch.core.events import (
    BadLine,
    Event,
    Fact,
    Finding,
    FindingDetail,
    InstallpResult,
    LinesRead,
    PhaseFinished,
    PhaseStarted,
    Progress,
    RunFinished,
    RunStarted,
)
from nimwatch.core.parser import LogReader, build_scanner
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState
from nimwatch.core.verdict import operation_of
from nimwatch.schema import SCHEMA_VERSION

PUBLIC_EVENTS = (
    "run_started",
    "phase_started",
    "phase_finished",
    "finding",
    "findings_suppressed",
    "stalled",
    "stall_cleared",
    "run_finished",
    "hook_result",
    "alert_failed",
    "backlog",
    "log_replaced",
    "nimadm_exited",
    "nim_state",
)


def iso(ts: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2026-11-22T03:21:33.120Z."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Notice:
    """One engine event, as sinks, hooks, views and the JSON-lines output see it."""

    event: str
    ts: float
    log: str
    client: str
    run: Optional[int] = None
    phase: Optional[int] = None
    phase_name: Optional[str] = None
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def public(self) -> bool:
        return self.event in PUBLIC_EVENTS

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "event": self.event,
            "ts": iso(self.ts),
            "client": self.client,
            "log": self.log,
            "run": self.run,
            "phase": self.phase,
            "phase_name": self.phase_name,
        }
        out.update(self.fields)
        return out


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
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, notice: Notice) -> None:
        """Send a notice made outside the parser (stalled, hook_result, alert_failed)."""
        self._dispatch([notice])

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
                if not client:
                    from pathlib import Path

                    from nimwatch.sources.files import client_from_path

                    client = client_from_path(Path(log))
                state = LogState(log, client)
                self.logs[log] = state
                self._readers[log] = LogReader(self.rules, client, self.scanner)
            return state

    def feed(self, log: str, data: bytes, at: Optional[float] = None) -> list[Notice]:
        """Bytes read from ``log`` at time ``at``: parse, reduce, notify. Returns the notices."""
        at = self.clock() if at is None else at
        with self._lock:
            self.add_log(log)
            events = self._readers[log].feed(data)
            notices = self._apply(log, events, at)
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
            notices.append(Notice("log_restarted", at, log, state.client, fields={"reason": reason}))
        self._dispatch(notices)
        return notices

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
        if not phase:
            return None
        return self._phase_names.get(phase)

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
            notice = self._notice(state, event, at)
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
        prefix = f"{run}|"
        out = []
        for key in sorted(k for k in floods.suppressed if k.startswith(prefix)):
            held = floods.suppressed.pop(key)
            limit = self.limits.per_rule if held.reason == "per_rule" else self.limits.per_run
            client = state.run(run).client or state.client if run <= len(state.runs) else state.client
            out.append(
                Notice(
                    "findings_suppressed",
                    at,
                    state.log,
                    client,
                    run,
                    held.phase or None,
                    self.phase_name(held.phase),
                    {
                        "rule": held.rule,
                        "code": held.code,
                        "severity": held.severity,
                        "count": held.count,
                        "limit": limit,
                        "reason": held.reason,
                        "line": held.line,
                        "text": f"{held.count} more finding(s) of rule {held.rule} suppressed "
                        f"(limit: {limit} {'of this rule' if held.reason == 'per_rule' else 'in all'} per run)",
                    },
                )
            )
        return out

    def _notice(self, state: LogState, event: Event, at: float) -> Optional[Notice]:
        def make(name: str, run: Optional[int], phase: Optional[int], /, **fields: Any) -> Notice:
            client = state.client
            if run is not None and run <= len(state.runs):
                client = state.run(run).client or client
            return Notice(name, at, state.log, client, run, phase, self.phase_name(phase), fields)

        if isinstance(event, RunStarted):
            return make("run_started", event.run, None, line=event.line, mid_run=event.mid_run)
        if isinstance(event, PhaseStarted):
            return make("phase_started", event.run, event.phase, line=event.line)
        if isinstance(event, PhaseFinished):
            return make("phase_finished", event.run, event.phase, line=event.line, status=event.status.value)
        if isinstance(event, Finding):
            return self._finding_notice(state, event, make)
        if isinstance(event, FindingDetail):
            return self._detail_notice(state, event, make)
        if isinstance(event, InstallpResult):
            return make(
                "installp",
                event.run,
                event.phase,
                filesets_ok=event.filesets_ok,
                failed=list(event.failed),
                cancelled=list(event.cancelled),
                requisite_failures=list(event.requisite_failures),
                failing=event.failing,
                line=event.line,
            )
        if isinstance(event, RunFinished):
            return make(
                "run_finished",
                event.run,
                event.failed_phase or state.run(event.run).last_phase or None,
                line=event.line,
                outcome=event.outcome.value,
                failed_phase=event.failed_phase,
                reason=event.reason,
                operation=operation_of(state.run(event.run)),
            )
        if isinstance(event, Progress):
            return make("progress", event.run, event.phase, done=event.done, total=event.total, unit=event.unit)
        if isinstance(event, Fact):
            return make("fact", event.run, None, name=event.name, value=event.value, line=event.line)
        if isinstance(event, LinesRead):
            return make("lines", event.run, None, line=event.line, last_text=event.last_text)
        if isinstance(event, BadLine):
            return make("bad_line", None, None, line=event.line, reason=event.reason)
        return None

    @staticmethod
    def _finding_fields(state: LogState, finding: Finding) -> dict[str, Any]:
        run = state.run(finding.run) if 0 < finding.run <= len(state.runs) else None
        values = {**advice_values(run, state.client), **dict(finding.fills)}
        return {
            "rule": finding.rule,
            "code": finding.code,
            "severity": finding.severity.value,
            "benign": finding.benign,
            "fails_run": finding.fails_run,
            "title": finding.title,
            "text": finding.text,
            "explanation": finding.explanation,
            "advice": fill_advice(finding.advice, values),
            "line": finding.line,
            "context": list(finding.context),
        }

    def _finding_notice(self, state: LogState, event: Finding, make: Callable[..., Notice]) -> Notice:
        return make("finding", event.run, event.phase, **self._finding_fields(state, event))

    def _detail_notice(self, state: LogState, event: FindingDetail, make: Callable[..., Notice]) -> Optional[Notice]:
        """The merged finding: a public ``finding`` again when its severity rose, else an internal notice."""
        run = state.run(event.run) if 0 < event.run <= len(state.runs) else None
        merged = None
        if run is not None:
            merged = next((f for f in reversed(run.findings) if f.line == event.line and f.rule == event.rule), None)
        if merged is None:
            return make("finding_detail", event.run, None, line=event.line, rule=event.rule)
        fields = self._finding_fields(state, merged)
        fields["context_after"] = list(merged.context_after)
        if event.severity is not None:
            fields["severity_raised"] = True
            return make("finding", event.run, merged.phase, **fields)
        return make("finding_detail", event.run, merged.phase, **fields)
