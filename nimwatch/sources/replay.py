"""Replaying finished logs into an :class:`~nimwatch.engine.Engine`, at their recorded pace.

Owns :class:`ReplaySource`. Every line of every log gets a *log time*: the
arrival time the state journal recorded for it when the journal knows the log
(lines it missed are interpolated), else an even pace of ``interval`` seconds
per line. The lines of all logs are merged into one timeline in log-time
order and fed to the engine with their log time as the arrival time, so phase
durations, elapsed times and stalls come out as they were recorded.

Wall time only decides *when* a line is fed: ``speed`` is a factor over the
recorded pace (``None``: as fast as possible). Pause, resume, step (to the next
phase change or finding), seek (to a line or a fraction, backwards too: the
logs are re-read from their start) and a change of speed work while
:meth:`ReplaySource.run` is looping in another thread; every control method is
also usable on its own, without ``run``, which is how tests drive a replay
instantly. The clock and the sleep are injected. Logs are keyed by their
absolute path, as the tailer keys them. Pure of Textual.
"""

from __future__ import annotations

import bisect
import heapq
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Protocol

from nimwatch.engine import Engine, Notice
from nimwatch.errors import LogSourceError, UsageError
from nimwatch.sources.files import client_from_path
from nimwatch.vocabulary import LOG_RESET

EVEN_INTERVAL = 0.1
"""Seconds of log time between two lines the journal does not know the arrival of:
a 1,000-line log replays in 100 s at speed 1."""
BATCH_LINES = 2000
"""Most lines fed under the lock in one go at full speed, so that a pause or a
seek from another thread never waits long."""
MAX_WAIT = 0.5
"""Longest single wait of :meth:`ReplaySource.run` (it re-checks its controls after it)."""
"""Notices that end a :meth:`ReplaySource.step`."""


class ArrivalTimes(Protocol):
    """What replay needs from the state journal (``nimwatch.journal.Journal``)."""

    def arrival_times(self, log: str) -> Mapping[int, float]: ...


@dataclass
class ReplayLog:
    """One log loaded for replay: its bytes, where its lines start and their log times."""

    path: str
    client: str
    data: bytes
    offsets: list[int]
    """Byte offset of each line's start, plus the end of the data (len = lines + 1)."""
    times: list[float]
    timed: bool
    """True when the times come from the state journal."""

    @property
    def lines(self) -> int:
        return len(self.offsets) - 1


def line_offsets(data: bytes) -> list[int]:
    """Start offsets of the physical lines of ``data`` (a last line without newline counts), plus its end."""
    offsets = [0]
    find = data.find
    pos = find(b"\n")
    while pos >= 0:
        offsets.append(pos + 1)
        pos = find(b"\n", pos + 1)
    if offsets[-1] != len(data):
        offsets.append(len(data))
    return offsets


def pace(lines: int, known: Mapping[int, float], start: float, interval: float) -> list[float]:
    """The log time of each line (index 0 is line 1).

    ``known`` maps 1-based line numbers to recorded arrival times (the journal's
    checkpoints: every line up to a checkpoint had arrived by its time). A line
    takes the time of the first checkpoint at or after it, so lines read in one
    go arrive together, as they did; lines after the last checkpoint continue
    at ``interval``. With nothing known, line n is at ``start + (n - 1) *
    interval``. Times never go backwards.
    """
    points = sorted((n, t) for n, t in known.items() if 1 <= n <= lines)
    if not points:
        return [start + i * interval for i in range(lines)]
    out: list[float] = []
    for n, t in points:
        out.extend([t] * (n - len(out)))
    last_t = points[-1][1]
    out.extend(last_t + k * interval for k in range(1, lines - len(out) + 1))
    best = float("-inf")
    for i, value in enumerate(out):
        best = max(best, value)
        out[i] = best
    return out


class ReplaySource:
    """Feeds finished logs into an engine at their recorded (or an even) pace.

    Args:
        engine: the engine to feed (its subscribers see the notices as they happen).
        paths: the log files, in display order.
        speed: a factor over the recorded pace; ``None`` replays as fast as possible.
        journal: the state journal (anything with ``arrival_times(log)``), or None.
        clock: wall seconds (monotonic) deciding when a line is due.
        sleep: injected sleep for tests; None waits on an event that controls interrupt.
        epoch: the log time of line 1 of a log the journal does not know
            (None: the earliest journal time, else the wall time now).
        interval: seconds of log time per line of such a log.
        on_advance: called with the replay's log time after each fed batch
            (``nimwatch replay`` checks stalls with it).
        close_at_end: end unfinished runs (incomplete) once every line was fed.
    """

    def __init__(
        self,
        engine: Engine,
        paths: Sequence[str | Path],
        *,
        speed: Optional[float] = 1.0,
        journal: Optional[ArrivalTimes] = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Optional[Callable[[float], None]] = None,
        epoch: Optional[float] = None,
        interval: float = EVEN_INTERVAL,
        on_advance: Optional[Callable[[float], None]] = None,
        close_at_end: bool = True,
    ) -> None:
        if not paths:
            raise UsageError("replay needs at least one log file")
        if speed is not None and speed <= 0:
            raise UsageError(f"the replay speed must be positive, not {speed}")
        self.engine = engine
        self._clock = clock
        self._sleep = sleep
        self._speed = speed
        self._on_advance = on_advance
        self._close_at_end = close_at_end
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.logs = self._load(paths, journal, epoch, interval)
        per_log = [[(t, i, n) for n, t in enumerate(log.times)] for i, log in enumerate(self.logs)]
        self._timeline = list(heapq.merge(*per_log))
        self._pos = 0
        self._fed = [0] * len(self.logs)
        self._closed = False
        self._paused = False
        self._now = self.start_time
        self._anchor_wall = clock()
        self._anchor_t = self.start_time
        for log in self.logs:
            engine.add_log(log.path, log.client)

    # ------------------------------------------------------------------ loading

    @staticmethod
    def _load(
        paths: Sequence[str | Path], journal: Optional[ArrivalTimes], epoch: Optional[float], interval: float
    ) -> list[ReplayLog]:
        loaded: list[tuple[str, str, bytes, list[int], Mapping[int, float]]] = []
        for raw in paths:
            path = Path(raw)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise LogSourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
            known: Mapping[int, float] = {}
            if journal is not None:
                for key in dict.fromkeys((os.path.abspath(path), str(path.resolve()), str(path))):
                    known = journal.arrival_times(key)
                    if known:
                        break
            loaded.append((os.path.abspath(path), client_from_path(path), data, line_offsets(data), known))
        if epoch is None:
            firsts = [min(known.values()) for *_, known in loaded if known]
            epoch = min(firsts) if firsts else time.time()
        return [
            ReplayLog(name, client, data, offsets, pace(len(offsets) - 1, known, epoch, interval), bool(known))
            for name, client, data, offsets, known in loaded
        ]

    # ------------------------------------------------------------------ what it is at

    @property
    def start_time(self) -> float:
        """Log time of the first line of the timeline."""
        return self._timeline[0][0] if self._timeline else 0.0

    @property
    def end_time(self) -> float:
        return self._timeline[-1][0] if self._timeline else 0.0

    @property
    def now(self) -> float:
        """The replay's log time: when the last fed line arrived (what "now" was then)."""
        return self._now

    @property
    def total_lines(self) -> int:
        return len(self._timeline)

    @property
    def fed_lines(self) -> int:
        return self._pos

    @property
    def done(self) -> bool:
        """Every line was fed (and the logs closed, when ``close_at_end``)."""
        return self._pos >= len(self._timeline) and (self._closed or not self._close_at_end)

    @property
    def fraction(self) -> float:
        """How far the replay is, 0.0 to 1.0 (by log time; by lines when no time passes)."""
        if not self._timeline:
            return 1.0
        span = self.end_time - self.start_time
        if span <= 0:
            return self._pos / len(self._timeline)
        if self._pos >= len(self._timeline):
            return 1.0
        return min(1.0, max(0.0, (self._now - self.start_time) / span)) if self._pos else 0.0

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def speed(self) -> Optional[float]:
        """The factor over the recorded pace; None when replaying as fast as possible."""
        return self._speed

    def timed(self, log: str) -> bool:
        """True when ``log``'s times come from the state journal."""
        log = os.path.abspath(log)
        return any(item.path == log and item.timed for item in self.logs)

    def lines_fed(self, log: str) -> int:
        """How many lines of ``log`` the engine has seen."""
        log = os.path.abspath(log)
        with self._lock:
            index = next((i for i, item in enumerate(self.logs) if item.path == log), None)
            return 0 if index is None else self._fed[index]

    # ------------------------------------------------------------------ controls

    def pause(self) -> None:
        with self._lock:
            self._paused = True
        self._wake.set()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._reanchor()
        self._wake.set()

    def toggle_pause(self) -> bool:
        """Pause or resume; returns True when now paused."""
        with self._lock:
            if self._paused:
                self.resume()
            else:
                self.pause()
            return self._paused

    def set_speed(self, speed: Optional[float]) -> None:
        """A new factor over the recorded pace (None: as fast as possible)."""
        if speed is not None and speed <= 0:
            raise UsageError(f"the replay speed must be positive, not {speed}")
        with self._lock:
            self._speed = speed
            self._reanchor()
        self._wake.set()

    def step(self) -> Optional[Notice]:
        """Pause, then feed lines until the next phase change, finding or run end.

        Returns the notice that ended the step (None when the logs ran out first).
        """
        with self._lock:
            self._paused = True
            found: Optional[Notice] = None
            while found is None and self._pos < len(self._timeline):
                notices = self._feed_range(self._pos, self._pos + 1, exact=True)
                found = next((n for n in notices if n.kind.step), None)
            if found is None:
                found = next((n for n in self._finish() if n.kind.step), None)
            self._reanchor()
        self._wake.set()
        return found

    def seek_fraction(self, fraction: float) -> None:
        """Go to ``fraction`` (0.0 to 1.0) of the replay, by log time."""
        fraction = min(1.0, max(0.0, fraction))
        with self._lock:
            if not self._timeline:
                return
            target_t = self.start_time + fraction * (self.end_time - self.start_time)
            if fraction >= 1.0:
                index = len(self._timeline)
            elif self.end_time <= self.start_time:
                index = round(fraction * len(self._timeline))
            else:
                index = bisect.bisect_right(self._timeline, (target_t, float("inf")))
            self._seek_index(index)

    def seek_line(self, line: int, log: Optional[str] = None) -> None:
        """Go to just after line ``line`` of ``log`` (default: the first log) was fed."""
        with self._lock:
            index_of_log = 0
            if log is not None:
                log = os.path.abspath(log)
                found = [i for i, item in enumerate(self.logs) if item.path == log]
                if not found:
                    raise UsageError(f"{log}: not one of the replayed logs")
                index_of_log = found[0]
            line = max(0, min(line, self.logs[index_of_log].lines))
            target = len(self._timeline)
            if line == 0:
                target = next((i for i, e in enumerate(self._timeline) if e[1] == index_of_log), target)
            else:
                seen = 0
                for i, entry in enumerate(self._timeline):
                    if entry[1] == index_of_log:
                        seen += 1
                        if seen == line:
                            target = i + 1
                            break
            self._seek_index(target)

    def stop(self) -> None:
        """Make :meth:`run` return soon (from any thread)."""
        self._stop.set()
        self._wake.set()

    # ------------------------------------------------------------------ running

    def advance(self) -> list[Notice]:
        """Feed every line that is due by the clock (nothing while paused)."""
        with self._lock:
            if self._paused or self.done:
                return []
            end = self._due_index(self._clock())
            if self._speed is None:
                end = min(end, self._pos + BATCH_LINES)
            notices = self._feed_range(self._pos, end) if end > self._pos else []
            if self._pos >= len(self._timeline):
                notices.extend(self._finish())
            return notices

    def run_to_end(self) -> None:
        """Feed everything left, now, whatever the speed or pause."""
        with self._lock:
            self._feed_range(self._pos, len(self._timeline))
            self._finish()

    def run(self) -> None:
        """Replay until every line was fed or :meth:`stop` was called (blocks; run it in a thread)."""
        while not self._stop.is_set():
            with self._lock:
                if self.done:
                    return
                wait: Optional[float] = None
                if not self._paused:
                    if self._pos >= len(self._timeline):
                        self._finish()
                        continue
                    due = self._due_wall(self._pos)
                    now = self._clock()
                    if due <= now:
                        self.advance()
                        continue
                    wait = due - now
            self._wait(wait)

    def _wait(self, seconds: Optional[float]) -> None:
        if self._sleep is not None:
            self._sleep(MAX_WAIT if seconds is None else seconds)
            return
        self._wake.wait(MAX_WAIT if seconds is None else min(seconds, MAX_WAIT))
        self._wake.clear()

    # ------------------------------------------------------------------ internals (lock held)

    def _reanchor(self) -> None:
        self._anchor_wall = self._clock()
        self._anchor_t = self._now if self._pos else self.start_time

    def _due_wall(self, index: int) -> float:
        if self._speed is None:
            return float("-inf")
        return self._anchor_wall + (self._timeline[index][0] - self._anchor_t) / self._speed

    def _due_index(self, wall: float) -> int:
        if self._speed is None:
            return len(self._timeline)
        limit_t = self._anchor_t + (wall - self._anchor_wall) * self._speed
        index = self._pos
        timeline = self._timeline
        while index < len(timeline) and timeline[index][0] <= limit_t:
            index += 1
        return index

    def _feed_range(self, start: int, end: int, exact: bool = False) -> list[Notice]:
        """Feed timeline entries [start, end): runs of one log's consecutive lines go in one block.

        A block keeps lines with the same log time together; lines with different
        times are fed one by one so that phase starts and ends get their own time.
        """
        notices: list[Notice] = []
        timeline = self._timeline
        index = start
        end = min(end, len(timeline))
        while index < end:
            t, log_index, line_index = timeline[index]
            stop = index + 1
            if not exact:
                while stop < end and timeline[stop][1] == log_index and timeline[stop][0] == t:
                    stop += 1
            last_line = timeline[stop - 1][2]
            log = self.logs[log_index]
            chunk = log.data[log.offsets[line_index] : log.offsets[last_line + 1]]
            notices.extend(self.engine.feed(log.path, chunk, at=t))
            self._fed[log_index] = last_line + 1
            self._now = t
            index = stop
        self._pos = max(self._pos, end)
        if end > start and self._on_advance is not None:
            self._on_advance(self._now)
        return notices

    def _finish(self) -> list[Notice]:
        if self._closed or not self._close_at_end or self._pos < len(self._timeline):
            return []
        self._closed = True
        notices: list[Notice] = []
        for log in self.logs:
            notices.extend(self.engine.close(log.path, at=log.times[-1] if log.times else self._now))
        return notices

    def _seek_index(self, index: int) -> None:
        index = max(0, min(index, len(self._timeline)))
        if index < self._pos:
            self._reset()
        if index > self._pos:
            self._feed_range(self._pos, index)
        if index >= len(self._timeline):
            self._finish()
        self._reanchor()
        self._wake.set()

    def _reset(self) -> None:
        """Back to the start: the engine forgets the logs, and subscribers are told."""
        for log in self.logs:
            self.engine.remove(log.path)
            self.engine.add_log(log.path, log.client)
            self.engine.publish(
                Notice(LOG_RESET.name, self.start_time, log.path, log.client, fields={"reason": "seek"})
            )
        self._pos = 0
        self._fed = [0] * len(self.logs)
        self._closed = False
        self._now = self.start_time


def replay_paths(paths: Iterable[str | Path]) -> list[Path]:
    """The files a replay reads: files as given, directories as their ``*_alt_mig.log``."""
    from nimwatch.sources.files import expand_paths

    return expand_paths(paths)
