"""The run history and the ETA inside a live watcher: finished runs recorded, running runs estimated.

Owns :class:`LiveHistory`, which ``nimwatch watch`` (and the TUI) wire in:

* :meth:`LiveHistory.keep` is the recorder's keeper: called inside the
  journal transaction of every new public notice (backlog included), it turns
  a ``run_finished`` into a :class:`~nimwatch.core.history.HistoryRecord` (phase
  durations from the lines' arrival times) and upserts it in the same
  transaction, then adds it to the in-memory history the ETA reads;
* :meth:`LiveHistory.annotate` is the engine's annotator: ``run_started``,
  ``phase_started`` and ``phase_finished`` of a running run carry ``eta``,
  ``eta_basis`` and the other keys of :func:`nimwatch.eta_live.eta_fields`,
  estimated at the notice's time;
* :meth:`LiveHistory.refresh` reloads the history when the table changed under
  the watcher (``nimwatch history import`` beside it);
* :func:`tui_recorder` records finished runs for the TUI: only when no
  watcher holds the journal (a watcher records them itself) and only runs the
  TUI saw with real arrival times.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from typing import Any, Callable, Optional

from nimwatch.core.history import RecordError, record_from_run
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState
from nimwatch.engine import Notice
from nimwatch.errors import NimwatchError
from nimwatch.eta_live import EtaSource, HistoryCache, eta_fields
from nimwatch.history_store import master_of, put, store_records
from nimwatch.journaldb import watcher_holds
from nimwatch.vocabulary import RUN_FINISHED

log = logging.getLogger(__name__)

REFRESH_EVERY = 60.0
"""Seconds between two looks at the history table's size (to pick up imports)."""


class LiveHistory:
    """History recording and ETA for one engine.

    Args:
        engine: the engine (its state is read under its lock).
        journal: the open state journal (None: an in-memory history only).
        rules: the phase model (phase weights for the ETA without history).
        on_error: diagnostics (a run that cannot be recorded, a history that cannot be read).
        eta: the ETA source to use (default: one over the journal's history).
    """

    def __init__(
        self,
        engine: Any,
        journal: Any,
        rules: RuleSet,
        on_error: Optional[Callable[[str], None]] = None,
        eta: Optional[EtaSource] = None,
    ) -> None:
        self.engine = engine
        self.journal = journal
        self.on_error: Callable[[str], None] = on_error or (lambda message: log.error("%s", message))
        if eta is None:
            said = self.on_error
            eta = EtaSource(rules, HistoryCache.load(journal, lambda m: said(f"{m} (the ETA starts without history)")))
        self.eta = eta
        self._rows = len(eta.history)
        self._next_refresh = 0.0

    # ------------------------------------------------------------------ finished runs

    def record_of(self, notice: Notice) -> Any:
        """The history record of a ``run_finished`` notice (None when it cannot be made)."""
        with self.engine.locked():
            state: Optional[LogState] = self.engine.logs.get(notice.log)
            if state is None or notice.run is None or not 0 < notice.run <= len(state.runs):
                return None
            run = state.run(notice.run)
            try:
                return record_from_run(run, log=notice.log, master=master_of(run))
            except RecordError as exc:
                self.on_error(f"{notice.log}: run {notice.run} not recorded in the history: {exc}")
                return None

    def keep(self, notice: Notice, key: str) -> None:
        """The recorder's keeper (inside the notice's journal transaction)."""
        record = self.record_of(notice) if notice.kind is RUN_FINISHED else None
        if record is None:
            return
        if self.journal is not None:
            with self.journal.transaction() as conn:
                put(conn, record)
            self._rows += 1
        self.eta.history.add(record)

    def refresh(self, now: float) -> bool:
        """Reload the history when the table's row count changed (at most every :data:`REFRESH_EVERY` s)."""
        if self.journal is None or now < self._next_refresh:
            return False
        self._next_refresh = now + REFRESH_EVERY
        try:
            rows = self.journal._query("SELECT COUNT(*) FROM history")[0][0]
        except sqlite3.Error:
            return False
        if rows == self._rows:
            return False
        try:
            fresh = HistoryCache.load(self.journal)
        except NimwatchError as exc:
            self.on_error(str(exc))
            return False
        for record in fresh.records:
            self.eta.history.add(record)
        self._rows = rows
        return True

    # ------------------------------------------------------------------ running runs

    def annotate(self, state: LogState, notice: Notice) -> Notice:
        """The engine's annotator: the ETA of the notice's run, at the notice's time."""
        if not notice.kind.eta or notice.run is None or not 0 < notice.run <= len(state.runs):
            return notice
        est = self.eta.eta_for(state.run(notice.run), notice.ts)
        return replace(notice, fields={**notice.fields, **eta_fields(est)})


def tui_recorder(
    engine: Any, state_path: Any, rules: RuleSet, timed: Callable[[str], bool]
) -> Callable[[Notice], None]:
    """An engine subscriber for the TUI: each finished run it saw with real times goes into the history.

    Skipped while a ``nimwatch watch`` holds the journal (it records the same
    runs itself, with the same arrival times), and for runs whose lines were
    already in the file at start-up (``timed`` False: their phase times are
    not known; the record would say nothing the watcher's does not).
    """
    history = LiveHistory(engine, None, rules)

    def on_notice(notice: Notice) -> None:
        if notice.kind is not RUN_FINISHED or not timed(notice.log) or watcher_holds(state_path):
            return
        record = history.record_of(notice)
        if record is None:
            return
        try:
            store_records(state_path, [record])
        except NimwatchError as exc:
            log.warning("%s", exc)

    return on_notice
