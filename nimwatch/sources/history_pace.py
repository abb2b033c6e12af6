"""Arrival times for replay from the run history, when the journal no longer holds a log's own.

Owns :class:`PacedTimes`, the ``arrival_times(log)`` source ``nimwatch replay``
hands to :class:`~nimwatch.sources.replay.ReplaySource`: the state journal's
recorded times when it has them (the real pace, line by line), else times
rebuilt from the history rows of that log (its runs' phase durations: each
phase's lines spread evenly over the phase's recorded duration, from the run's
recorded start), else nothing (replay then paces evenly). And
:func:`times_from_records`, the rebuilding itself. A history row whose run
index the log does not hold, or without phase durations, gives no times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

from nimwatch.core.history import HistoryRecord
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState


def times_from_records(state: LogState, records: Sequence[HistoryRecord]) -> dict[int, float]:
    """Line number -> log time for the runs of ``state`` that ``records`` timed.

    A run starts at its record's ``started_at``; its timed phases follow one
    another from there (the few lines between two phases take no time), each
    phase's lines spread evenly over its recorded seconds; the run's last line,
    when no phase ends on it, is at ``finished_at`` when that is later.
    """
    out: dict[int, float] = {}
    for record in sorted(records, key=lambda r: r.run):
        if not record.phases or record.started_at is None or not 1 <= record.run <= len(state.runs):
            continue
        run = state.run(record.run)
        at = record.started_at
        out[run.start_line] = at
        for ps in run.phases:
            seconds = record.phases.get(ps.number)
            if seconds is None or ps.start_line is None:
                continue
            span = max(0, (ps.end_line or ps.start_line) - ps.start_line)
            for offset in range(span + 1):
                out[ps.start_line + offset] = at + (seconds * offset / span if span else 0.0)
            at += seconds
        if run.end_line is not None and run.end_line not in out:  # a phase's own end keeps its recorded time
            out[run.end_line] = max(at, record.finished_at if record.finished_at is not None else at)
    return out


class PacedTimes:
    """``arrival_times(log)``: the journal's when it has them, else rebuilt from the log's history rows.

    Args:
        journal: the state journal read-only (anything with ``arrival_times``), or None.
        history: the run history (every row; those of other logs are ignored).
        rules: to find where each run and phase starts in the log.
    """

    def __init__(self, journal: Optional[Any], history: Sequence[HistoryRecord], rules: RuleSet) -> None:
        self.journal = journal
        self.rules = rules
        self._by_log: dict[str, list[HistoryRecord]] = {}
        for record in history:
            if record.log and record.phases:
                self._by_log.setdefault(record.log, []).append(record)
        self.from_history: set[str] = set()
        """Logs whose times were rebuilt from the history (for the replay's note to the user)."""

    def arrival_times(self, log: str) -> Mapping[int, float]:
        if self.journal is not None:
            known: Mapping[int, float] = self.journal.arrival_times(log)
            if known:
                return known
        records = self._by_log.get(log)
        if not records:
            return {}
        from nimwatch.errors import NimwatchError
        from nimwatch.sources.files import read_log

        try:
            state = read_log(Path(log), self.rules)
        except NimwatchError:  # an unreadable log is reported by the replay itself
            return {}
        times = times_from_records(state, records)
        if times:
            self.from_history.add(log)
        return times
