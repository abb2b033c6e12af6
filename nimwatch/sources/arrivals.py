"""Arrival times for the TUI: what was in the logs at start gets the times the state journal recorded.

Owns :class:`JournalArrivals`, the live tailer's sink in ``nimwatch tui``.
Lines a log already held when nimwatch started "arrive" all at once; when
the state journal ``nimwatch watch`` keeps knows the file (same device and
inode), each of those lines is fed to the engine with the time the journal
recorded for it (the first checkpoint at or after it, as ``report --state``
and ``replay`` read them), so the elapsed time, the phase durations and the
ETA survive a restart of the TUI. It also answers, per log, whether a run's
times are real (:meth:`JournalArrivals.timed`), whether a line's time is
(:meth:`JournalArrivals.time_known`) and whether a line was written during
this session (:meth:`JournalArrivals.fresh`: only then is its failure news).
Headless: no Textual.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any, Optional, Protocol

from nimwatch.engine import Engine
from nimwatch.feed import Chunk, FileIdentity
from nimwatch.sources.files import ArrivalTimes


class ArrivalJournal(Protocol):
    """What this needs of :class:`nimwatch.journal.Journal` (opened read-only)."""

    def file_records(self) -> Mapping[str, Any]: ...

    def arrival_times(self, log: str) -> Mapping[int, float]: ...


class JournalArrivals:
    """The tailer's sink: feeds the engine, with the journal's arrival times for the bytes read at start.

    Args:
        engine: the engine to feed.
        journal: the state journal, read-only (None: no times are known but the live ones).
        present: lines each log (absolute path) held when nimwatch started.
    """

    def __init__(self, engine: Engine, journal: Optional[ArrivalJournal], present: Mapping[str, int]) -> None:
        self.engine = engine
        self.journal = journal
        self.present = dict(present)
        self._records: Optional[Mapping[str, Any]] = None
        self._times: dict[str, Optional[ArrivalTimes]] = {}
        self._fed: dict[str, int] = {}
        self.known_through: dict[str, int] = {}
        """Per log: the last line whose arrival time the journal knows (0: none)."""

    # ------------------------------------------------------------------ FeedSink

    def feed(self, log: str, data: bytes, at: float, chunk: Chunk) -> None:
        times = self._times_of(log, chunk.identity)
        fed = self._fed.get(log, 0)
        if times is None or fed >= times.last:
            self._feed(log, data, at)
            return
        pos = 0
        while pos < len(data) and fed < times.last:
            # the lines up to the next checkpoint arrived (no later than) at its time
            index = bisect.bisect_left(times.lines, fed + 1)
            checkpoint, when = times.lines[index], times.times[index]
            end = pos
            while fed < checkpoint:
                newline = data.find(b"\n", end)
                if newline < 0:
                    end = len(data)
                    break
                end = newline + 1
                fed += 1
            self.engine.feed(log, data[pos:end], min(when, at))
            self._fed[log] = fed
            pos = end
        if pos < len(data):
            self._feed(log, data[pos:], at)

    def restart(self, log: str, reason: str, at: float, old: FileIdentity, new: FileIdentity) -> None:
        """The file was replaced or truncated: its new content is news, and the journal's times are not its."""
        self._times[log] = None
        self._fed[log] = 0
        self.present[log] = 0
        self.known_through[log] = 0
        self.engine.restart(log, reason, at)

    def _feed(self, log: str, data: bytes, at: float) -> None:
        self.engine.feed(log, data, at)
        self._fed[log] = self._fed.get(log, 0) + data.count(b"\n")

    def _times_of(self, log: str, identity: FileIdentity) -> Optional[ArrivalTimes]:
        if log in self._times:
            return self._times[log]
        times: Optional[ArrivalTimes] = None
        journal = self.journal
        if journal is not None:
            if self._records is None:
                self._records = self._safely(journal.file_records, {})
            record = self._records.get(log)
            if record is not None and (record.identity.dev, record.identity.ino) == (identity.dev, identity.ino):
                known = self._safely(lambda: journal.arrival_times(log), {})
                times = ArrivalTimes(known) if known else None
        self._times[log] = times
        self.known_through[log] = min(times.last, self.present.get(log, 0)) if times is not None else 0
        return times

    @staticmethod
    def _safely(read: Any, default: Any) -> Any:
        """A journal that cannot be read gives no times (the TUI still shows everything else)."""
        try:
            return read()
        except Exception:
            return default

    # ------------------------------------------------------------------ questions the views ask

    def fresh(self, log: str, line: int) -> bool:
        """Line ``line`` was written during this session."""
        return line > self.present.get(log, 0)

    def time_known(self, log: str, line: int) -> bool:
        """The arrival time of line ``line`` is real (live, or from the journal)."""
        return self.fresh(log, line) or line <= self.known_through.get(log, 0)

    def timed(self, log: str) -> bool:
        """The current run's times are real: it began during this session, or where the journal knows times."""
        state = self.engine.logs.get(log)
        run = state.current if state is not None else None
        return run is not None and self.time_known(log, run.start_line)
