"""The headless watcher behind ``nimwatch watch``: every part wired together, started and stopped.

Owns :class:`Watcher`: the live session of :func:`nimwatch.session.live`
(engine, tailer, stall monitor, the sources from outside the logs: nimadm's
exit status from ``nimwatch run``'s records, copied into the journal at
start; the clients' NIM state when ``nim_state:`` is on) feeding the
journal-backed recorder, with the alert dispatcher, hooks and metrics behind
it; ``run_once`` (process what is there, deliver alerts and hooks, wait for
them) and ``start`` / ``tick`` / ``stop`` for the service loop, plus
``reload`` for a new configuration (a bad one is refused and the old one
kept). Output goes to a
:class:`~nimwatch.output.StdoutWriter` (the recorder puts each new public
notice's line in the journal's outbox, the writer prints it) and one-line
diagnostics to a callback. No signals or argv here: :mod:`nimwatch.commands.watch`
does those.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional

from nimwatch import session as sessions
from nimwatch.alerts.dispatcher import AlertDispatcher
from nimwatch.config import Config, load_config
from nimwatch.core.rules import RuleSet
from nimwatch.core.verdict import client_verdict
from nimwatch.engine import Engine, Notice
from nimwatch.errors import ConfigError
from nimwatch.hooks.manager import HookManager
from nimwatch.journal import Journal
from nimwatch.launcher.records import sync_journal
from nimwatch.metrics import MetricsExporter
from nimwatch.metrics_live import LiveMetrics
from nimwatch.output import StdoutWriter
from nimwatch.recorder import Recorder
from nimwatch.rulefiles import CATALOG_FILE, PHASE_FILE, builtin_rules_dir
from nimwatch.run_history import LiveHistory
from nimwatch.snapshot import fingerprint
from nimwatch.sources.hook_results import keep_hook_result
from nimwatch.sources.tail import Tailer
from nimwatch.stall import StallMonitor
from nimwatch.vocabulary import BACKLOG

log = logging.getLogger(__name__)

STALL_CHECK_EVERY = 10.0
"""Seconds between stall checks (thresholds are minutes)."""
ONCE_WAIT = 300.0
"""--once: longest wait for alerts and hooks to be delivered."""


class Watcher:
    """Follows the logs and drives every output.

    Args:
        config: the validated configuration.
        rules: the compiled rule set.
        journal: the open state journal.
        paths: directories and log files to follow.
        poll: None for native file events, seconds for polling.
        output: stdout (its ``line``/``put`` take each new public notice; ``replay_outbox`` at start).
        diag: receives one-line diagnostics (stderr in ``watch``).
        clock: seconds since the epoch.
        alert_backlog: alert and run hooks for history found at first start too
            (otherwise finished runs in logs unchanged for ``backlog_hours`` are only shown).
    """

    def __init__(
        self,
        config: Config,
        rules: RuleSet,
        journal: Journal,
        paths: Sequence[Path],
        *,
        poll: Optional[float],
        output: StdoutWriter,
        diag: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        alert_backlog: bool = False,
    ) -> None:
        self.config = config
        self.rules = rules
        self.journal = journal
        self.output = output
        self.diag = diag
        self.clock = clock
        self.metrics: Optional[MetricsExporter] = None
        self.session = sessions.live(
            config,
            rules,
            paths,
            poll=poll,
            on_error=diag,
            clock=clock,
            sink=self._sinks,
            journal=journal,
            limits=config.limits,
            offsets=journal.file_identities(),
            backlog=None if alert_backlog else config.backlog_hours * 3600.0,
        )
        session = self.session
        assert session.stall is not None and session.runs is not None  # (self.engine: set by _sinks)
        self.tailer: Tailer = session.tailer
        self.stall: StallMonitor = session.stall
        self.runs: Path = session.runs
        self.hooks: Any = HookManager(
            config.hooks, self.engine.report, journal, clock, jobs=journal, on_error=diag,
            keep=partial(keep_hook_result, journal),  # for status and the TUI beside it
        )  # fmt: skip
        self._next_stall = 0.0
        self._started = False
        self.problems: list[str] = []
        """``--once``: the paths that could not be read (exit status 2)."""

    def _sinks(self, engine: Engine) -> Recorder:
        """What the session's new engine feeds: alerts, the run history (the ETA on events), the recorder."""
        self.engine = engine
        self.dispatcher = AlertDispatcher(
            self.config.alerts, self.journal, engine.report, on_error=self.diag, clock=self.clock
        )
        self.history = LiveHistory(engine, self.journal, self.rules, on_error=self.diag)
        engine.annotate = self.history.annotate  # phase notices carry the run's ETA
        base = builtin_rules_dir()  # what the state snapshots must match: nimwatch's source and the rule files
        self.recorder = Recorder(
            engine,
            self.journal,
            planner=self._plan,
            on_error=self.diag,
            keeper=self.history.keep,
            printer=self.output,
            fingerprint=fingerprint([base / PHASE_FILE, base / CATALOG_FILE, *self.config.rules]),
        )
        return self.recorder

    # ------------------------------------------------------------------ wiring

    def _sync_launches(self) -> None:
        """Run records the journal missed (the supervisor could not write it): copied at start."""
        for problem in sync_journal(self.journal.path, self.runs):
            self.diag(problem)

    def _plan(self, notice: Notice, key: str) -> None:
        """In the transaction that records a new notice: its alerts and its hook runs are recorded with it.

        Hooks see exactly the notices that are new (journaled, printed): never a re-read one.
        """
        self.dispatcher.plan(notice, key)
        hooks = self.hooks
        if hooks is not None:
            hooks.plan(notice, key)

    def _resume_hooks(self) -> None:
        """Hook runs an earlier session queued and did not finish: queued again, before anything new."""
        count = self.hooks.resume() if self.hooks is not None else 0
        if count:
            self.diag(f"{count} hook run(s) kept from before the restart are queued again")

    def _stop_hooks(self, timeout: Optional[float]) -> None:
        if self.hooks is not None:
            if not self.hooks.stop(timeout):
                self.diag("hooks still running at shutdown were ended; they run again at the next start")
            self.hooks = None

    def _start_metrics(self, config: Config) -> None:
        if config.metrics is None:
            return
        self.metrics = self._exporter(config)
        self.metrics.start()

    def _exporter(self, config: Config) -> MetricsExporter:
        assert config.metrics is not None
        return MetricsExporter(
            config.metrics,
            self.engine,
            stalled=lambda: self.stall.stalled,
            on_error=self.diag,
            extra=self.counters,
            live=LiveMetrics(self.history.eta, config.metrics.interval),
            clock=self.clock,
        )

    def counters(self) -> list[tuple[str, str, str, float]]:
        """The watcher's own counters for the metrics (name, type, help, value)."""
        return [
            (
                "nimwatch_stdout_dropped_total",
                "counter",
                "Event lines dropped because stdout was not being read (the buffer was full).",
                self.output.dropped,
            ),
            (
                "nimwatch_alerts_held_total",
                "counter",
                "Alerts held back by the sinks' per-client rate limits.",
                sum(sink.held_total for sink in self.dispatcher.sinks),
            ),
        ]

    # ------------------------------------------------------------------ one pass

    def run_once(self, wait: float = ONCE_WAIT) -> int:
        """Read everything there is, deliver alerts and hooks, wait for them. Returns the exit code."""
        self._start_output()
        self.dispatcher.start()
        self._resume_hooks()
        try:
            self._sync_launches()
            self.tailer.scan_once()
            self.problems = self.tailer.problems()
            self._report_backlog()
            for source in self.session.outside:
                source.tick()
            self.stall.check()
            if self.config.metrics is not None and self.config.metrics.textfile is not None:
                self._exporter(self.config).write_now()
            deadline = time.monotonic() + wait
            if self.hooks is not None and not self.hooks.wait_idle(
                max(0.0, deadline - time.monotonic()), include_retries=False
            ):
                self.diag("--once: hooks still running after the wait were ended; they run again next time")
            if not self.dispatcher.wait_idle(max(0.0, deadline - time.monotonic())):
                self.diag("--once: alerts still being delivered after the wait; they stay spooled")
            log.debug("--once: %d log(s) read; alerts and hooks done", len(self.engine.logs))
            for sink, count in sorted(self.dispatcher.pending().items()):
                self.diag(f"--once: {count} alert(s) for sink {sink} not delivered yet: kept for the next run")
        finally:
            self._stop_hooks(timeout=10.0)
            self.dispatcher.stop()
            self.stall.close()
            self.recorder.snapshot_all()
            self.recorder.close()
            self.output.stop(timeout=wait)
        return self.exit_code()

    def _report_backlog(self) -> None:
        """One ``backlog`` event (and a line on stderr) for the history found at first start, if any."""
        found = self.recorder.backlog
        if not found.logs:
            return
        hours = self.config.backlog_hours
        self.diag(
            f"{len(found.logs)} log(s) unchanged for over {hours:g} h seen for the first time: {found.runs} run(s), "
            f"{found.failed} failed; shown but not alerted and no hooks run (--alert-backlog to change that)"
        )
        unfinished = found.runs - found.succeeded - found.failed - found.incomplete
        fields = BACKLOG.carry(found, logs=len(found.logs), unfinished=unfinished, hours=hours)
        self.engine.publish(Notice(BACKLOG.name, self.clock(), "", "", fields=fields))
        self.recorder.backlog = type(found)()

    def exit_code(self) -> int:
        """2 when a path could not be read (the rest was processed), 1 when the last migration of any log failed
        (a later clean-up does not change that), else 0."""
        if self.problems:
            return 2
        with self.engine.locked():
            logs = [state for state in self.engine.logs.values() if state.runs or state.launch_exit]
            failed = any(client_verdict(s.runs, launch=s.launch_exit).status == "failed" for s in logs)
        return 1 if failed else 0

    # ------------------------------------------------------------------ service

    def _start_output(self) -> None:
        """stdout first: what an earlier session recorded but did not get written is printed before anything new."""
        self.output.start()
        again = self.output.replay_outbox()
        if again:
            self.diag(f"{again} event line(s) recorded but not known to be printed before the restart: printed again")

    def start(self) -> None:
        self._sync_launches()
        self._start_output()
        self.dispatcher.start()
        self._resume_hooks()
        self._start_metrics(self.config)
        self.tailer.start(catch_up=True)
        self._report_backlog()
        self.session.start_outside()
        self._started = True

    def tick(self) -> None:
        """Periodic work from the service loop: stall checks, runs imported into the history beside us."""
        now = time.monotonic()
        if now >= self._next_stall:
            self._next_stall = now + STALL_CHECK_EVERY
            self.stall.check()
        self.history.refresh(now)

    def stop(self) -> None:
        """Stop reading first (and snapshot every log), then hooks and alert workers; the journal stays open."""
        self.session.stop_outside()
        self.tailer.stop()
        self.recorder.snapshot_all()
        self._stop_hooks(timeout=10.0)
        self.dispatcher.stop()
        if self.metrics is not None:
            self.metrics.write_now()
            self.metrics.stop()
            self.metrics = None
        self.stall.close()
        self.recorder.close()
        self.output.stop()
        self._started = False

    def reload(self, path: Optional[Path]) -> bool:
        """Apply a new configuration; a bad one is refused (message on diag) and the old one kept."""
        try:
            new = load_config(path)
        except ConfigError as exc:
            log.error("reload refused, the old configuration stays: %s", exc)
            return False
        old = self.config
        for key in ("rules", "poll", "state"):
            if getattr(new, key) != getattr(old, key):
                self.diag(f"reload: '{key}' changed; it takes effect at the next restart")
        self.dispatcher.reconfigure(new.alerts)
        self.stall.reconfigure(new.stall, sessions.nim_stall_minutes(new))
        session = self.session
        if new.nim_state != old.nim_state:
            if session.nim is not None:
                session.nim.stop()
            session.nim = sessions.nim_feed(self.engine, new, self.clock, self.diag)
            if session.nim is not None and self._started:
                session.nim.start()
        self.engine.limits = new.limits
        if self.hooks is not None:  # an unchanged hook keeps its queue and its running job
            self.hooks.reconfigure(new.hooks)
        if new.metrics != old.metrics and self._started:
            if self.metrics is not None:
                self.metrics.stop()
                self.metrics = None
            self._start_metrics(new)
        self.config = new
        log.info("configuration reloaded from %s", path or "(defaults: no config file)")
        return True
