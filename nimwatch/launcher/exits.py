"""nimadm's exit status, from the run records into the engine: the source of :class:`LaunchExited` events.

Owns :func:`exit_event` (a finished run record as the event the reducer
applies, with where that nimadm's output begins in the log as it is now),
:class:`LaunchFollower`, which ``watch`` and the TUI tick: each finished
record whose log the engine follows is applied once, and only when the
engine has read the log to its end (the record is written after nimadm
ended, so the log is whole by then: an exit status is never applied ahead
of nimadm's last lines). ``status`` and
``report`` read the records first and apply them after reading the logs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

from nimwatch.core.events import LaunchExited
from nimwatch.errors import NimwatchError
from nimwatch.launcher.records import RunRecord, all_records
from nimwatch.ticker import LogFollower

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
    """Everything ``log``'s file holds now has been fed to the engine by ``tailer``.

    The file on disk must be the one the tailer read (same device and inode)
    and every byte of it delivered: a log rewritten in place or renamed over
    is not read to its end until the tailer has seen it begin anew.
    """
    position = tailer.position(log)
    if position is None:
        return False
    dev, ino, delivered = position
    try:
        st = os.stat(log)
    except OSError:
        return True
    return (st.st_dev, st.st_ino) == (dev, ino) and delivered == st.st_size


def _records(runs: Path) -> list[RunRecord]:
    """Every record in ``runs``, oldest first; a problem is logged and gives none."""
    try:
        return all_records(runs)
    except NimwatchError as exc:
        log.warning("%s", exc)
        return []


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


class LaunchFollower(LogFollower):
    """Applies the finished run records in their directory (``source``) to the engine's logs, each once."""

    NAME = "nimwatch-launches"
    EVERY = TICK

    def items(self) -> Iterator[tuple[str, object, str, Any]]:
        for record in _records(self.source) if self.source.is_dir() else []:
            if record.finished:
                yield str(record.path), "exited", os.path.realpath(record.log), record

    def event(self, item: Any, log: str) -> tuple[Optional[LaunchExited], None]:
        return exit_event(item), None
