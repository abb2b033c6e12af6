"""Alert delivery off the tailing path: the spool in the journal, one worker per sink, backoff.

Owns :class:`AlertDispatcher`. ``plan`` is the recorder's planner: inside the
transaction that records a notice it asks each sink what to spool (filters,
dedupe key, throttle), so an alert exists exactly when its notice does. Each
sink has a worker thread that delivers its spool in order. A failure keeps
the alert at the head of that sink's queue and retries it with exponential
backoff (``BACKOFF_BASE`` doubling up to ``BACKOFF_MAX`` seconds); the other
sinks are not held up. Failures are reported on the error callback and to the
engine as a core event (:class:`~nimwatch.core.events.SinkFailed`: the
engine keeps it in the fleet's state and publishes an ``alert_failed`` notice
saying what is pending); the first delivery after a failure is reported as
:class:`~nimwatch.core.events.SinkRecovered` (``alert_recovered``), which
clears it. Nothing is lost across a restart: the spool is in the journal, and
a new session retries at once.
"""

from __future__ import annotations

import importlib
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional

from nimwatch.alerts.sink import DeliveryError, Sink
from nimwatch.config.alerts import SinkSpec
from nimwatch.core.events import Event, SinkFailed, SinkRecovered
from nimwatch.engine import Notice
from nimwatch.journal import Journal, SpoolItem

BACKOFF_BASE = 2.0
BACKOFF_MAX = 300.0
REPORT_EVERY = 60.0
"""While a sink keeps failing, at most one ``alert_failed`` notice per this many seconds."""
IDLE_WAIT = 60.0


# Each sink type's module and class, imported only when a sink of that type is configured.
_SINK_CLASSES = {
    "syslog": ("nimwatch.alerts.syslog", "SyslogSink"),
    "email": ("nimwatch.alerts.smtp", "EmailSink"),
    "webhook": ("nimwatch.alerts.webhook", "WebhookSink"),
    "alertmanager": ("nimwatch.alerts.alertmanager", "AlertmanagerSink"),
    "command": ("nimwatch.alerts.command", "CommandSink"),
}


def build_sink(spec: SinkSpec) -> Sink:
    """The sink object for a validated spec."""
    if spec.type not in _SINK_CLASSES:
        raise ValueError(f"unknown sink type {spec.type!r}")
    module, name = _SINK_CLASSES[spec.type]
    sink: Sink = getattr(importlib.import_module(module), name)(spec)
    return sink


def backoff_delay(attempts: int, base: float = BACKOFF_BASE, ceiling: float = BACKOFF_MAX) -> float:
    """Seconds to wait after the ``attempts``-th failed try in a row."""
    return float(min(ceiling, base * (2 ** max(0, attempts - 1))))


class _Worker:
    """Delivers one sink's spool, in order, in its own thread."""

    def __init__(self, dispatcher: AlertDispatcher, sink: Sink) -> None:
        self.d = dispatcher
        self.sink = sink
        self.wake_event = threading.Event()
        self.stopping = False
        self.requested = 0
        self.settled = 0
        self.failing_since: Optional[float] = None
        self.last_report = 0.0
        self.thread = threading.Thread(target=self._run, name=f"nimwatch-alerts:{sink.name}", daemon=True)

    def wake(self) -> None:
        with self.d.cond:
            self.requested += 1
        self.wake_event.set()

    def _run(self) -> None:
        while not self.stopping:
            try:
                self._turn()
            except sqlite3.Error as exc:  # journal closed under a slow send at shutdown, or a disk problem
                if self.stopping:
                    return
                self.d.on_error(f"alert sink {self.sink.name}: state journal: {exc}")
                self.wake_event.wait(self.d.backoff_max)

    def _turn(self) -> None:
        journal = self.d.journal
        while not self.stopping:
            with self.d.cond:
                seen = self.requested
            self.wake_event.clear()
            items = journal.spool_due(self.sink.name, float("inf"), limit=20)
            now = self.d.clock()
            if not items or items[0].next_try > now:
                with self.d.cond:
                    self.settled = max(self.settled, seen)
                    self.d.cond.notify_all()
                self.wake_event.wait(min(IDLE_WAIT, items[0].next_try - now) if items else IDLE_WAIT)
                continue
            for item in items:
                if self.stopping or item.next_try > self.d.clock():
                    break
                if not self._deliver(item):
                    break

    def _deliver(self, item: SpoolItem) -> bool:
        journal = self.d.journal
        body = item.payload.get("body", {})
        try:
            self.sink.send(body)
        except DeliveryError as exc:
            return self._failed(item, str(exc), exc.permanent)
        except Exception as exc:  # a sink bug is a failed delivery, never a dead worker
            return self._failed(item, f"internal error: {exc!r}", False)
        now = self.d.clock()
        journal.spool_sent(item.id, now)
        if self.failing_since is not None:
            self.failing_since = None
            self.d.on_error(f"alert sink {self.sink.name} ({self.sink.describe()}): delivering again")
            pending = journal.spool_pending().get(self.sink.name, 0)
            self.d.report(SinkRecovered(self.sink.name, self.sink.spec.type, pending), now, "")
        return True

    def _failed(self, item: SpoolItem, error: str, permanent: bool) -> bool:
        journal = self.d.journal
        now = self.d.clock()
        attempts = item.attempts + 1
        meta = item.payload.get("meta", {})
        if permanent:
            journal.spool_drop(item.id, now, error)
            self.d.on_error(
                f"alert sink {self.sink.name} ({self.sink.describe()}) rejected an alert for good: {error} "
                f"(alert: {meta.get('summary', item.key)})"
            )
            self._report(meta, error, attempts, None, rejected=True)
            return True
        delay = backoff_delay(attempts, self.d.backoff_base, self.d.backoff_max)
        journal.spool_retry(item.id, attempts, now + delay, error)
        pending = journal.spool_pending().get(self.sink.name, 0)
        self.d.on_error(
            f"alert sink {self.sink.name} ({self.sink.describe()}): {error}; "
            f"{pending} alert(s) pending, next try in {delay:g} s"
        )
        first = self.failing_since is None
        if first:
            self.failing_since = now
        if first or now - self.last_report >= REPORT_EVERY:
            self._report(meta, error, attempts, now + delay, pending=pending)
        return False

    def _report(
        self,
        meta: dict[str, Any],
        error: str,
        attempts: int,
        next_try: Optional[float],
        pending: Optional[int] = None,
        rejected: bool = False,
    ) -> None:
        now = self.d.clock()
        self.last_report = now
        if pending is None:
            pending = self.d.journal.spool_pending().get(self.sink.name, 0)
        failed = SinkFailed(
            self.sink.name, self.sink.spec.type, error, pending, attempts, next_try, rejected,
            str(meta.get("summary", "")), str(meta.get("event", "")), str(meta.get("log", "")),
            str(meta.get("client", "")),
        )  # fmt: skip
        self.d.report(failed, now, failed.log)


class AlertDispatcher:
    """Routes notices to the configured sinks through the journal's spool.

    Args:
        specs: the validated sinks (``alerts:``).
        journal: where alerts are spooled.
        report: takes the sinks' :class:`~nimwatch.core.events.SinkFailed` and ``SinkRecovered``
            (the engine's ``report``: ``(event, time, log)``).
        on_error: one-line diagnostics (stderr in ``watch``); never holds a secret.
        clock: seconds since the epoch.
    """

    def __init__(
        self,
        specs: Sequence[SinkSpec],
        journal: Journal,
        report: Callable[[Event, float, str], object],
        *,
        on_error: Optional[Callable[[str], None]] = None,
        clock: Callable[[], float] = time.time,
        backoff_base: float = BACKOFF_BASE,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:
        self.journal = journal
        self.report = report
        self.on_error = on_error or (lambda message: None)
        self.clock = clock
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.cond = threading.Condition()
        self.sinks: list[Sink] = [build_sink(s) for s in specs]
        self._workers: dict[str, _Worker] = {}
        self._started = False

    # ------------------------------------------------------------------ planning (recorder transaction)

    def plan(self, notice: Notice, key: str) -> None:
        """Spool what each sink should send for ``notice`` (called inside the journal transaction)."""
        added = False
        meta = {"log": notice.log, "client": notice.client, "summary": notice.summary(), "event": notice.event}
        for sink in self.sinks:
            try:
                planned = sink.plan(notice, key, self.journal)
            except (KeyError, ValueError) as exc:  # a template the config check could not foresee
                self.on_error(f"alert sink {sink.name}: cannot build the alert: {exc}")
                continue
            if sink.holding is not None:
                spec = sink.spec
                self.on_error(
                    f"alert sink {sink.name}: {sink.holding} reached its rate limit ({spec.rate_limit} alerts per "
                    f"{spec.rate_period:g} s): further alerts about it are held back and counted"
                )
            for dkey, body in planned:
                self.journal.spool_add(sink.name, dkey, {"meta": meta, "body": body}, notice.ts)
                added = True
        if added:
            self.wake()

    # ------------------------------------------------------------------ workers

    def start(self) -> None:
        """Start one worker per sink; pending alerts from an earlier session are retried at once."""
        if self._started:
            return
        self._started = True
        with self.journal.transaction() as conn:
            conn.execute("UPDATE spool SET next_try = 0 WHERE state = 'pending'")
        known = {s.name for s in self.sinks}
        for name, count in self.journal.spool_pending().items():
            if name not in known:
                self.on_error(
                    f"{count} alert(s) spooled for sink {name!r}, which is no longer configured: kept in the journal"
                )
        self._workers = {sink.name: _Worker(self, sink) for sink in self.sinks}
        for worker in self._workers.values():
            worker.thread.start()

    def wake(self) -> None:
        for worker in list(self._workers.values()):
            worker.wake()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every sink has tried all it has (delivered, or backing off after a failure)."""
        targets: dict[str, int] = {}
        for name, worker in self._workers.items():
            worker.wake()
            with self.cond:
                targets[name] = worker.requested
        with self.cond:
            return self.cond.wait_for(
                lambda: all(self._workers[n].settled >= t for n, t in targets.items() if n in self._workers),
                timeout,
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers (an alert being sent finishes or times out; the rest stays spooled)."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.stopping = True
            worker.wake_event.set()
        deadline = time.monotonic() + timeout
        for worker in workers:
            if worker.thread.is_alive():
                worker.thread.join(max(0.0, deadline - time.monotonic()))
        self._workers.clear()
        self._started = False

    def reconfigure(self, specs: Sequence[SinkSpec]) -> None:
        """Replace the sinks (config reload): workers restart, the spool stays."""
        running = self._started
        self.stop()
        self.sinks = [build_sink(s) for s in specs]
        if running:
            self.start()

    def pending(self) -> dict[str, int]:
        return self.journal.spool_pending()
