"""The headless watcher behind ``nimwatch watch``: every part wired together, started and stopped.

Owns :class:`Watcher`: engine, journal-backed recorder, tailer, stall
monitor, alert dispatcher, hooks and metrics, the sources from outside the
logs (nimadm's exit status from ``nimwatch run``'s records, copied into the
journal at start; the clients' NIM state when ``nim_state:`` is on), with ``run_once`` (process what
is there, deliver alerts and hooks, wait for them) and ``start`` / ``tick`` /
``stop`` for the service loop, plus ``reload`` for a new configuration (a bad
one is refused and the old one kept). Output goes through two callbacks: one
JSON object per public notice, and one-line diagnostics. No signals, argv or
stdout here: :mod:`nimwatch.commands.watch` does those.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Optional

from nimwatch.alerts.dispatcher import AlertDispatcher
from nimwatch.config import Config, load_config
from nimwatch.core.rules import RuleSet
from nimwatch.core.verdict import client_verdict
from nimwatch.engine import Engine, Notice
from nimwatch.errors import ConfigError
from nimwatch.journal import Journal
from nimwatch.launcher.exits import LaunchFollower
from nimwatch.launcher.records import runs_dir, sync_journal
from nimwatch.metrics import MetricsExporter
from nimwatch.recorder import Recorder
from nimwatch.sources.nim_feed import NimStateFeed
from nimwatch.sources.tail import Tailer
from nimwatch.stall import StallMonitor

log = logging.getLogger(__name__)

STALL_CHECK_EVERY = 10.0
"""Seconds between stall checks (thresholds are minutes)."""
ONCE_WAIT = 300.0
"""--once: longest wait for alerts and hooks to be delivered."""


def _nim_minutes(config: Config) -> Optional[float]:
    """NIM info unchanged this long counts toward the stall rule (None: the NIM state cross-check is off)."""
    return config.nim_state.stall_minutes if config.nim_state is not None else None


class Watcher:
    """Follows the logs and drives every output.

    Args:
        config: the validated configuration.
        rules: the compiled rule set.
        journal: the open state journal.
        paths: directories and log files to follow.
        poll: None for native file events, seconds for polling.
        emit: receives each new public notice (stdout JSON lines in ``watch``).
        diag: receives one-line diagnostics (stderr in ``watch``).
        clock: seconds since the epoch.
    """

    def __init__(
        self,
        config: Config,
        rules: RuleSet,
        journal: Journal,
        paths: Sequence[Path],
        *,
        poll: Optional[float],
        emit: Callable[[Notice], None],
        diag: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        rescan: Optional[float] = None,
    ) -> None:
        self.config = config
        self.rules = rules
        self.journal = journal
        self.emit = emit
        self.diag = diag
        self.clock = clock
        self.engine = Engine(rules, clock)
        self.dispatcher = AlertDispatcher(config.alerts, journal, self.engine.publish, on_error=diag, clock=clock)
        self.metrics: Optional[MetricsExporter] = None
        self.recorder = Recorder(
            self.engine,
            journal,
            forward=self._forward,
            planner=self.dispatcher.plan,
            on_error=diag,
            on_new=self._to_hooks,
        )
        self.stall = StallMonitor(self.engine, config.stall, rules, clock, nim_stall_minutes=_nim_minutes(config))
        self.hooks: Any = None
        self._setup_hooks(config)
        extra = {"rescan": rescan} if rescan is not None else {}
        self.tailer = Tailer(
            self.engine,
            list(paths),
            poll=poll,
            on_error=diag,
            clock=clock,
            offsets=journal.file_identities(),
            sink=self.recorder,
            **extra,
        )
        self.runs = runs_dir(journal.path)
        self.launches = LaunchFollower(self.engine, self.runs, self._caught_up, on_error=diag)
        self.nim: Optional[NimStateFeed] = self._nim_feed(config)
        self._next_stall = 0.0
        self._started = False

    # ------------------------------------------------------------------ wiring

    def _caught_up(self, log: str) -> bool:
        """Everything ``log``'s file holds now has been fed to the engine (an exit status comes after it)."""
        offset = self.tailer.offset(log)
        try:
            return offset is not None and offset >= os.stat(log).st_size
        except OSError:
            return offset is not None

    def _nim_feed(self, config: Config) -> Optional[NimStateFeed]:
        if config.nim_state is None:
            return None
        return NimStateFeed(self.engine, config.nim_state, on_error=self.diag, clock=self.clock)

    def _sync_launches(self) -> None:
        """Run records the journal missed (the supervisor could not write it): copied at start."""
        for problem in sync_journal(self.journal.path, self.runs):
            self.diag(problem)

    def _forward(self, notice: Notice) -> None:
        self.emit(notice)

    def _to_hooks(self, notice: Notice, key: str) -> None:
        """Hooks see exactly the notices that are new (journaled, printed): never a re-read one."""
        hooks = self.hooks
        if hooks is not None:
            hooks.handle(notice, key)

    def _setup_hooks(self, config: Config) -> None:
        if not config.hooks:
            return
        from nimwatch.hooks.manager import HookManager

        self.hooks = HookManager(config.hooks, self.engine.publish, self.journal, self.clock)

    def _stop_hooks(self, timeout: Optional[float]) -> None:
        if self.hooks is not None:
            if not self.hooks.stop(timeout):
                self.diag("hooks still running at shutdown were left to their own timeouts")
            self.hooks = None

    def _start_metrics(self, config: Config) -> None:
        if config.metrics is None:
            return
        self.metrics = self._exporter(config)
        self.metrics.start()

    def _exporter(self, config: Config) -> MetricsExporter:
        return MetricsExporter(config.metrics, self.engine, stalled=lambda: self.stall.stalled, on_error=self.diag)

    # ------------------------------------------------------------------ one pass

    def run_once(self, wait: float = ONCE_WAIT) -> int:
        """Read everything there is, deliver alerts and hooks, wait for them. Returns the exit code."""
        self.dispatcher.start()
        try:
            self._sync_launches()
            self.tailer.scan_once()
            self.launches.tick()
            if self.nim is not None:
                self.nim.tick()
            self.stall.check()
            if self.config.metrics is not None and self.config.metrics.textfile is not None:
                self._exporter(self.config).write_now()
            deadline = time.monotonic() + wait
            if self.hooks is not None and not self.hooks.wait_idle(max(0.0, deadline - time.monotonic())):
                self.diag("--once: hooks still running after the wait; their results are not reported")
            if not self.dispatcher.wait_idle(max(0.0, deadline - time.monotonic())):
                self.diag("--once: alerts still being delivered after the wait; they stay spooled")
            pending = self.dispatcher.pending()
            log.debug("--once: %d log(s) read; alerts and hooks done", len(self.engine.logs))
            for sink, count in sorted(pending.items()):
                self.diag(f"--once: {count} alert(s) for sink {sink} not delivered yet: kept for the next run")
        finally:
            self._stop_hooks(timeout=10.0)
            self.dispatcher.stop()
            self.stall.close()
            self.recorder.close()
        return self.exit_code()

    def exit_code(self) -> int:
        """1 when the last migration of any log failed (a later clean-up does not change that), else 0."""
        with self.engine.locked():
            for state in self.engine.logs.values():
                if (state.runs or state.launch_exit) and client_verdict(
                    state.runs, launch=state.launch_exit
                ).status == "failed":
                    return 1
        return 0

    # ------------------------------------------------------------------ service

    def start(self) -> None:
        self._sync_launches()
        self.dispatcher.start()
        self._start_metrics(self.config)
        self.tailer.start()
        self.launches.start()
        if self.nim is not None:
            self.nim.start()
        self._started = True

    def tick(self) -> None:
        """Periodic work from the service loop: stall checks."""
        now = time.monotonic()
        if now >= self._next_stall:
            self._next_stall = now + STALL_CHECK_EVERY
            self.stall.check()

    def stop(self) -> None:
        """Stop reading first, then hooks and alert workers; the journal is left for the caller to close."""
        self.launches.stop()
        if self.nim is not None:
            self.nim.stop()
        self.tailer.stop()
        self._stop_hooks(timeout=10.0)
        self.dispatcher.stop()
        if self.metrics is not None:
            self.metrics.write_now()
            self.metrics.stop()
            self.metrics = None
        self.stall.close()
        self.recorder.close()
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
        self.stall.reconfigure(new.stall, _nim_minutes(new))
        if new.nim_state != old.nim_state:
            if self.nim is not None:
                self.nim.stop()
            self.nim = self._nim_feed(new)
            if self.nim is not None and self._started:
                self.nim.start()
        self._stop_hooks(timeout=10.0)
        self._setup_hooks(new)
        if new.metrics != old.metrics and self._started:
            if self.metrics is not None:
                self.metrics.stop()
                self.metrics = None
            self._start_metrics(new)
        self.config = new
        log.info("configuration reloaded from %s", path or "(defaults: no config file)")
        return True
