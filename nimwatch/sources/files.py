"""Reading finished logs: path expansion and streaming a file through the engine.

Owns :func:`expand_paths` (files, or directories meaning their
``*_alt_mig.log``) and :func:`read_log`, which streams a file in bounded
blocks so memory stays flat however large the log is.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from nimwatch.core.events import Event
from nimwatch.core.parser import LogReader, ScannerSet
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState
from nimwatch.errors import LogSourceError

LOG_SUFFIX = "_alt_mig.log"
BLOCK_SIZE = 128 * 1024
"""Bytes read per block: large enough for the C-speed scan, small enough to keep memory flat. Measured
(bench/report_throughput.py): 1 MiB blocks cost as much user time and ~0.1 s more system time on a 2M-line
log, as the C library maps and unmaps the memory of every block's buffers (a page fault per 4 KiB)."""


def client_from_path(path: Path) -> str:
    """``<client>_alt_mig.log`` gives the client; other names give '' (taken from the log)."""
    name = path.name
    return name[: -len(LOG_SUFFIX)] if name.endswith(LOG_SUFFIX) and len(name) > len(LOG_SUFFIX) else ""


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a directory stands for its ``*_alt_mig.log`` files, sorted."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.glob("*" + LOG_SUFFIX) if p.is_file())
            if not found:
                raise LogSourceError(f"{path}: no *{LOG_SUFFIX} files in this directory")
            out.extend(found)
        elif path.exists():
            out.append(path)
        else:
            raise LogSourceError(f"{path}: no such file or directory")
    return out


def iter_log_events(path: Path, rules: RuleSet, scanner: ScannerSet | None = None) -> Iterator[list[Event]]:
    """The events of a finished log, block by block (the last block closes the log)."""
    reader = LogReader(rules, client_from_path(path), scanner)
    try:
        with path.open("rb") as handle:
            while True:
                chunk = handle.read(BLOCK_SIZE)
                if not chunk:
                    break
                events = reader.feed(chunk)
                if events:
                    yield events
    except OSError as exc:
        raise LogSourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    yield reader.close()


class ArrivalTimes:
    """When each line of a log arrived, from the state journal's checkpoints (line -> time).

    A line arrived no later than the first checkpoint at or after it; lines after
    the last checkpoint have no known time.
    """

    def __init__(self, times: Mapping[int, float]) -> None:
        self._lines = sorted(times)
        self._times = [times[line] for line in self._lines]

    def __bool__(self) -> bool:
        return bool(self._lines)

    def at(self, line: int) -> float | None:
        i = bisect.bisect_left(self._lines, line)
        return self._times[i] if i < len(self._lines) else None


def read_log(
    path: Path, rules: RuleSet, scanner: ScannerSet | None = None, times: ArrivalTimes | None = None
) -> LogState:
    """Parse a whole finished log into its state; ``times`` gives phases their real durations."""
    state = LogState(str(path), client_from_path(path))
    for events in iter_log_events(path, rules, scanner):
        for event in events:
            line = getattr(event, "line", None)
            state.apply(event, times.at(line) if times and isinstance(line, int) else None)
    return state
