"""Reading finished logs: path expansion and streaming a file through the engine.

Owns :func:`find_logs` (files, or directories meaning their
``*_alt_mig.log``; every path that cannot be used is one clear line, the
others are still returned), :func:`sniff` (an empty or binary file is said
to be one) and :func:`read_log`, which streams a file in bounded blocks so
memory stays flat however large the log is.
"""

from __future__ import annotations

import bisect
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from nimwatch.core.events import Event
from nimwatch.core.lognames import LOG_SUFFIX, client_from_path
from nimwatch.core.parser import ScannerSet
from nimwatch.core.reader import LogReader
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState
from nimwatch.errors import LogSourceError

BLOCK_SIZE = 128 * 1024
"""Bytes read per block: large enough for the C-speed scan, small enough to keep memory flat. Measured
(bench/report_throughput.py): 1 MiB blocks cost as much user time and ~0.1 s more system time on a 2M-line
log, as the C library maps and unmaps the memory of every block's buffers (a page fault per 4 KiB)."""


SNIFF_BYTES = 8192
"""How much of a file :func:`sniff` looks at."""
_CONTROL = bytes(b for b in range(0x20) if b not in (9, 10, 12, 13, 27)) + b"\x7f"
_HIGH = bytes(range(0x80, 0x100))
EMPTY = "empty file: no nimadm output yet"
BINARY = "binary data, not a nimadm log"


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def find_logs(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """(logs, problems): files as given, a directory standing for its ``*_alt_mig.log`` files (sorted).

    Each path that cannot be used gives one line in ``problems`` (``PATH: why``): missing, a
    directory that cannot be listed, a directory without logs, an entry that cannot be looked
    at. The others are returned all the same.
    """
    out: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        path = Path(raw)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            problems.append(f"{path}: no such file or directory")
            continue
        except OSError as exc:
            problems.append(f"{path}: cannot read: {_why(exc)}")
            continue
        if not stat.S_ISDIR(st.st_mode):
            out.append(path)
            continue
        try:
            with os.scandir(path) as entries:
                names = sorted(e.name for e in entries if e.name.endswith(LOG_SUFFIX))
        except OSError as exc:
            problems.append(f"{path}: cannot list the directory: {_why(exc)}")
            continue
        found = []
        for name in names:
            entry = path / name
            try:
                if stat.S_ISREG(os.stat(entry).st_mode):
                    found.append(entry)
            except FileNotFoundError:
                continue  # gone since the listing
            except OSError as exc:
                problems.append(f"{entry}: cannot read: {_why(exc)}")
        if not found and not names:
            problems.append(f"{path}: no *{LOG_SUFFIX} files in this directory")
        out.extend(found)
    return out, problems


def sniff(path: Path) -> str | None:
    """:data:`EMPTY` or :data:`BINARY` when the file is one, else None; an unreadable file raises LogSourceError.

    Looks at the first :data:`SNIFF_BYTES` without their NUL bytes (a log padded with NULs by a
    crash is still a log): binary when nothing else is left, when more than 5 % are control
    characters other than tab, newline, carriage return, form feed and escape, or when more
    than 30 % have the high bit set and most of those are not UTF-8 (compressed or executable
    data; ISO-8859-1 text has few of them).
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise LogSourceError(f"{path}: cannot read: {_why(exc)}") from None
    if not head:
        return EMPTY
    body = head.replace(b"\0", b"")
    if not body:
        return BINARY
    control = len(body) - len(body.translate(None, _CONTROL))  # counted in C: report sniffs every log
    if control * 20 > len(body):
        return BINARY
    high = len(body) - len(body.translate(None, _HIGH))
    if high * 10 > len(body) * 3 and body.decode("utf-8", "replace").count("\ufffd") * 2 > high // 2:
        return BINARY
    return None


def iter_log_events(path: Path, rules: RuleSet, scanner: ScannerSet | None = None) -> Iterator[list[Event]]:
    """The events of a finished log, block by block (the last block closes the log)."""
    reader = LogReader(rules, client_from_path(path), scanner)
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(BLOCK_SIZE):
                events = reader.feed(chunk)
                if events:
                    yield events
    except OSError as exc:
        raise LogSourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    yield reader.close()


class ArrivalTimes:
    """When each line of a log arrived, from the state journal's checkpoints (line -> time).

    A line arrived no later than the first checkpoint at or after it; lines after
    the last checkpoint have no known time. ``lines`` are the checkpoints in line
    order, ``times`` their times.
    """

    def __init__(self, times: Mapping[int, float]) -> None:
        self.lines = sorted(times)
        self.times = [times[line] for line in self.lines]

    def __bool__(self) -> bool:
        return bool(self.lines)

    @property
    def last(self) -> int:
        """The last checkpoint's line (0: none)."""
        return self.lines[-1] if self.lines else 0

    def at(self, line: int) -> float | None:
        i = bisect.bisect_left(self.lines, line)
        return self.times[i] if i < len(self.lines) else None


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
