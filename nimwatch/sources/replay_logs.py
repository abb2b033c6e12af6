"""The logs a replay reads: each one's bytes, where its lines start and the log time of every line.

Owns :func:`load_logs` and what it is made of: :class:`ReplayLog`, :func:`line_offsets` and
:func:`pace`, which gives each line its log time from the arrival times the state journal
recorded (:class:`ArrivalTimes`; lines it missed are interpolated), else an even pace of
``interval`` seconds per line. :class:`~nimwatch.sources.replay.ReplaySource` merges them into
one timeline.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol

from nimwatch.errors import LogSourceError
from nimwatch.sources.files import client_from_path

EVEN_INTERVAL = 0.1
"""Seconds of log time between two lines the journal does not know the arrival of:
a 1,000-line log replays in 100 s at speed 1."""


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
    return list(itertools.accumulate(out, max))


def load_logs(
    paths: Sequence[str | Path], journal: Optional[ArrivalTimes], epoch: Optional[float], interval: float
) -> list[ReplayLog]:
    """Each of ``paths`` read whole, its lines timed (``epoch``: line 1 of a log the journal does not know;
    None: the earliest journal time, else now). A file that cannot be read is a :class:`LogSourceError`."""
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
