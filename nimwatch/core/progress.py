"""Progress inside long phases: the phase's counter lines counted over a stretch of lines at a time.

Owns :class:`CompiledCounter` (a counter of the phase model compiled to count
in whole blocks, as text and, when it can, as bytes) and :func:`count_stretch`.
Counting happens in C over each stretch of a block that belongs to one phase
(``findall``, the last match searched from the end), never line by line in
Python: installp prints a progress line per fileset. The values left are the
same however the log is chunked; how many :class:`Progress` events carry them
is not (they are coalesced per stretch, like ``LinesRead``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import AnyStr, Optional

from nimwatch.core.events import Progress
from nimwatch.core.rules import Counter
from nimwatch.core.scanner import required_literals, unanchored

_SPACE_CLASSES = re.compile(r"\\[sS]")


@dataclass(frozen=True)
class CompiledCounter:
    """A progress counter, compiled to count in blocks of text and (an ASCII pattern) of bytes."""

    counter: Counter
    text: re.Pattern[str]
    """The counter's pattern without its ``^`` (pasted lines count too)."""
    literal: Optional[str]
    """A literal every match holds (to find the last match from the end), when there is one."""
    raw: Optional[re.Pattern[bytes]]
    """The same pattern on bytes, for stretches of ASCII bytes; None for a pattern that is not ASCII."""
    raw_literal: Optional[bytes]
    spaces: bool
    """The pattern uses ``\\s`` or ``\\S``: on text they also match ``\\x1c``-``\\x1f``, on bytes not."""


def compile_counter(counter: Counter) -> CompiledCounter:
    pattern = unanchored(counter.pattern)
    lits = required_literals(pattern.pattern)
    literal = lits[0][0] if lits and len(lits[0]) == 1 and not lits[1] else None
    source = pattern.pattern
    raw: Optional[re.Pattern[bytes]] = None
    if source.isascii() and (literal is None or literal.isascii()):
        raw = re.compile(source.encode("ascii"), pattern.flags & ~re.UNICODE)
    return CompiledCounter(
        counter=counter,
        text=pattern,
        literal=literal,
        raw=raw,
        raw_literal=literal.encode("ascii") if raw is not None and literal is not None else None,
        spaces=bool(_SPACE_CLASSES.search(source)),
    )


def count_stretch(
    run_index: int,
    counts: dict[str, int],
    best_totals: dict[int, int],
    phase: int,
    compiled: CompiledCounter,
    block: AnyStr,
    pattern: re.Pattern[AnyStr],
    literal: Optional[AnyStr],
    newline: AnyStr,
    start: int,
    end: int,
    lines_before: int,
) -> Optional[Progress]:
    """The Progress one counter gives for ``block[start:end]`` (None when no line of it matches).

    ``pattern`` and ``literal`` are the counter's text or byte forms, as ``block`` is. ``counts``
    (values by counter name) and ``best_totals`` (the largest total per phase) are the run's.
    """
    counter = compiled.counter
    hits = 0
    last: Optional[re.Match[AnyStr]] = None
    if counter.kind == "count":
        hits = len(pattern.findall(block, start, end))
        if hits:
            last = _last_match(pattern, block, start, end, literal, newline)
    else:
        last = _last_match(pattern, block, start, end, literal, newline)
        if last is not None:
            last = _largest_total(pattern, block, start, end, last, best_totals.get(phase, 0))
            if last is not None:
                best_totals[phase] = int(last.group("total"))
    if last is None:
        return None
    line_no = lines_before + block.count(newline, start, last.start()) + 1
    groups = last.groupdict()
    total: Optional[int]
    if counter.kind == "ratio":
        done, total = int(groups["done"]), int(groups["total"])
        counts[counter.name] = done
    elif counter.kind == "total":
        total = int(groups["total"])
        counts[counter.name] = total
        done = 0
    else:
        done = counts.get(counter.name, 0) + hits
        counts[counter.name] = done
        total = counter.total
        for name in counter.total_from:
            if counts.get(name):
                total = counts[name]
                break
        if total is not None and done > total:
            total = None
    return Progress(run_index, phase, done, total, counter.unit, line_no)


def _last(matches: Iterator[re.Match[AnyStr]]) -> Optional[re.Match[AnyStr]]:
    """The last of ``matches`` (None when there is none), consumed in C."""
    tail = deque(matches, maxlen=1)
    return tail[0] if tail else None


def _largest_total(
    pattern: re.Pattern[AnyStr], block: AnyStr, start: int, end: int, last: re.Match[AnyStr], best: int
) -> Optional[re.Match[AnyStr]]:
    """The last match of ``block[start:end]`` with the largest total, unless an earlier stretch saw a larger one.

    installp runs several times in phase 6 (install utilities, the migration,
    updates): progress follows the largest run, not the last one.
    """
    found = pattern.findall(block, start, end)
    texts = set(map(itemgetter(pattern.groupindex["total"] - 1), found)) if pattern.groups > 1 else set(found)
    largest = max(map(int, texts))  # (in C: thousands of progress lines per block)
    if largest < best:
        return None
    if int(last.group("total")) == largest:
        return last
    return [m for m in pattern.finditer(block, start, end) if int(m.group("total")) == largest][-1]


def _last_match(
    pattern: re.Pattern[AnyStr], block: AnyStr, start: int, end: int, literal: Optional[AnyStr], newline: AnyStr
) -> Optional[re.Match[AnyStr]]:
    """The last match of ``pattern`` in ``block[start:end]``, searched from the end when a literal allows."""
    if literal is None:
        return _last(pattern.finditer(block, start, end))
    pos = end
    while True:
        at = block.rfind(literal, start, pos)
        if at < 0:
            return None
        line_start = block.rfind(newline, start, at) + 1
        line_end = block.find(newline, at, end)
        if line_end < 0:
            line_end = end
        found = _last(pattern.finditer(block, max(line_start, start), line_end))
        if found is not None:
            return found
        pos = at
