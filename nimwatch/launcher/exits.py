"""nimadm's exit status, from the run records into the engine: the source of :class:`LaunchExited` events.

Owns :func:`exit_event` (a finished run record as the event the reducer
applies, with where that nimadm's output begins in the log as it is now),
:func:`records_for` (the records of one log) and :class:`LaunchFollower`, which
``watch`` and the TUI tick: each finished record whose log the engine follows
is applied once, and only when the engine has read the log to its end (the
record is written after nimadm ended, so the log is whole by then: an exit
status is never applied ahead of nimadm's last lines). ``status`` and
``report`` read the records first and apply them after reading the logs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable, Optional

from nimwatch.core.events import LaunchExited
from nimwatch.errors import NimwatchError
from nimwatch.launcher.records import RunRecord, all_records
from nimwatch.ticker import Ticker

log = logging.getLogger(__name__)

TICK = 2.0
"""Seconds between two looks at the run records."""


def first_line(record: RunRecord) -> Optional[int]:
    """Where the run's nimadm output begins in the log now (None: the record does not say).

    The log nimadm found when it started (lines, size, device and inode in
    the record): when the same file is still there and no shorter, nimadm's
    lines come after those; a log created, replaced or truncated since then
    is all nimadm's (line 1).
    """
    before = record.log_before
    if before is None:
        return None
    if not before:
        return 1
    try:
        info = os.stat(record.log)
    except OSError:
        return 1
    if (info.st_dev, info.st_ino) == (before["dev"], before["ino"]) and info.st_size >= before["size"]:
        return before["lines"] + 1
    return 1


def exit_event(record: RunRecord) -> Optional[LaunchExited]:
    """The event for a record whose nimadm ended (None while it runs or when nobody recorded its end)."""
    if not record.finished:
        return None
    return LaunchExited(
        first_line=first_line(record),
        exit_code=record.exit_code,
        signal=record.signal,
        pid=record.pid,
        record=str(record.path),
        output=record.output,
        started=record.started,
        ended=record.ended,
    )


def read_to_end(tailer: Any, log: str) -> bool:
    """Everything ``log``'s file holds now has been fed to the engine by ``tailer`` (its ``offset(log)``)."""
    offset = tailer.offset(log)
    try:
        return offset is not None and offset >= os.stat(log).st_size
    except OSError:
        return offset is not None


def _records(runs: Path) -> list[RunRecord]:
    """Every record in ``runs``, oldest first; a problem is logged and gives none."""
    try:
        return all_records(runs)
    except NimwatchError as exc:
        log.warning("%s", exc)
        return []


def records_for(runs: Path, logs: Iterable[str]) -> dict[str, list[RunRecord]]:
    """The records (oldest first) of each of ``logs`` that one names; problems are logged, never raised."""
    wanted = {os.path.realpath(name): name for name in logs}
    out: dict[str, list[RunRecord]] = {}
    for record in _records(runs):
        name = wanted.get(os.path.realpath(record.log))
        if name is not None:
            out.setdefault(name, []).append(record)
    return out


def finished_exits(runs: Optional[Path]) -> dict[str, list[LaunchExited]]:
    """The events of every finished record, by the real path of its log (None: no records to read).

    Read them before the logs: a record is finished only once nimadm has
    ended, so a log read afterwards holds all nimadm wrote.
    """
    out: dict[str, list[LaunchExited]] = {}
    for record in _records(runs) if runs is not None else []:
        event = exit_event(record)
        if event is not None:
            out.setdefault(os.path.realpath(record.log), []).append(event)
    return out


def exits_of(exits: dict[str, list[LaunchExited]], log_path: str) -> list[LaunchExited]:
    """The events of ``exits`` (:func:`finished_exits`) that belong to the log at ``log_path``."""
    return exits.get(os.path.realpath(log_path), []) if exits else []  # (no records: no path resolved per log)


class LaunchFollower:
    """Applies finished run records to the engine's logs, each once, when the log has been read to its end.

    Args:
        engine: the engine (``logs``, ``locked``; fed through its ``report``).
        runs: the run records' directory.
        caught_up: ``caught_up(log)`` is True when everything the log file holds has been fed to the engine.
        on_error: receives one-line problems.
    """

    def __init__(
        self,
        engine: Any,
        runs: Path,
        caught_up: Callable[[str], bool],
        on_error: Callable[[str], None] = log.warning,
    ) -> None:
        self.engine = engine
        self.runs = Path(runs)
        self.caught_up = caught_up
        self.on_error = on_error
        self._done: set[str] = set()
        self._ticker = Ticker("nimwatch-launches", self.tick, TICK, on_error)

    def tick(self) -> int:
        """Apply what is due; returns how many records were applied."""
        if not self.runs.is_dir():
            return 0
        applied = 0
        with self.engine.locked():
            names = list(self.engine.logs)
        for name, records in records_for(self.runs, names).items():
            for record in records:
                key = str(record.path)
                if key in self._done or not record.finished:
                    continue
                if not self.caught_up(name):
                    break  # the log's last lines first
                event = exit_event(record)
                if event is None:
                    continue
                self.engine.report(event, None, name)
                self._done.add(key)
                applied += 1
        return applied

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()
