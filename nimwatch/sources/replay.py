"""Replaying finished logs into an :class:`~nimwatch.engine.Engine`, at their recorded pace.

Owns :class:`ReplaySource`. Every line of every log gets a *log time*
(:func:`~nimwatch.sources.replay_logs.load_logs`): the arrival time the state
journal recorded for it when the journal knows the log (lines it missed are
interpolated), else an even pace of ``interval`` seconds per line. The lines
of all logs are merged into one timeline in log-time order and fed to the
engine with their log time as the arrival time, so phase durations, elapsed
times and stalls come out as they were recorded.

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
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Optional

from nimwatch.engine import Engine, Notice
from nimwatch.errors import UsageError
from nimwatch.sources.replay_logs import EVEN_INTERVAL, ArrivalTimes, ReplayLog, line_offsets, load_logs, pace
from nimwatch.vocabulary import LOG_RESET

__all__ = ["EVEN_INTERVAL", "ArrivalTimes", "ReplayLog", "ReplaySource", "line_offsets", "pace"]
BATCH_LINES = 2000
"""Most lines fed under the lock in one go at full speed, so that a pause or a
seek from another thread never waits long."""
MAX_WAIT = 0.5
"""Longest single wait of :meth:`ReplaySource.run` (it re-checks its controls after it)."""


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
        self.logs = load_logs(paths, journal, epoch, interval)
        per_log = [[(t, i, n) for n, t in enumerate(log.times)] for i, log in enumerate(self.logs)]
        self._timeline = list(heapq.merge(*per_log))
        self._pos = 0
        self._closed = False
        self._paused = False
        self._now = self.start_time
        self._reanchor()
        for log in self.logs:
            engine.add_log(log.path, log.client)

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
            at = [i for i, entry in enumerate(self._timeline) if entry[1] == index_of_log]  # one per line of the log
            self._seek_index(at[line - 1] + 1 if line else next(iter(at), len(self._timeline)))

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
        return bisect.bisect_right(self._timeline, (limit_t, float("inf")), lo=self._pos)

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
        self._closed = False
        self._now = self.start_time
