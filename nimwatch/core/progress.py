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
from functools import lru_cache
from operator import itemgetter
from typing import AnyStr, Optional

from nimwatch.core.events import Progress
from nimwatch.core.literals import line_local
from nimwatch.core.recompile import compile_pattern
from nimwatch.core.rules import Counter
from nimwatch.core.scanner import cached_required_literals, unanchored

_SPACE_CLASSES = re.compile(r"\\[sS]")
_OTHER_GROUP = re.compile(r"\(\?P<(?!total>)\w+>")
_BACKREFERENCE = re.compile(r"\(\?P=|\\[1-9]")
_LITERAL_START = re.compile(r"[\w :/-]")
"""A pattern that starts with a literal character: ``re`` finds its matches fast by itself (``findall``)."""
_LINE_ANCHORS = re.compile(r"(?<!\\)[$^]")
"""``^`` or ``$`` (or a negated class) in a pattern: matched on a line alone it would mean something else."""


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
    totals: Optional[re.Pattern[str]] = None
    """The pattern with ``total`` its only group (finding the largest total then builds no tuples)."""
    raw_totals: Optional[re.Pattern[bytes]] = None
    per_line: bool = False
    """The pattern starts with no literal (``(?P<total>\\d+)...``: ``re`` would try it at every byte), no
    match can cross a line or look outside it, and every match holds ``literal``: the matches of a stretch
    are found line by line where the literal occurs."""


def compile_counter(counter: Counter) -> CompiledCounter:
    pattern = unanchored(counter.pattern)
    lits = cached_required_literals(pattern.pattern)
    literal = lits[0][0] if lits and len(lits[0]) == 1 and not lits[1] else None
    source = pattern.pattern
    raw: Optional[re.Pattern[bytes]] = None
    if source.isascii() and (literal is None or literal.isascii()):
        raw = compile_pattern(source.encode("ascii"), pattern.flags & ~re.UNICODE)
    totals = raw_totals = None
    if "total" in pattern.groupindex and not _BACKREFERENCE.search(source):
        only_total = _OTHER_GROUP.sub("(?:", source)
        totals = compile_pattern(only_total, pattern.flags)
        if raw is not None:
            raw_totals = compile_pattern(only_total.encode("ascii"), pattern.flags & ~re.UNICODE)
    return CompiledCounter(
        counter=counter,
        totals=totals,
        raw_totals=raw_totals,
        text=pattern,
        literal=literal,
        raw=raw,
        raw_literal=literal.encode("ascii") if raw is not None and literal is not None else None,
        spaces=bool(_SPACE_CLASSES.search(source)),
        per_line=literal is not None
        and not _LITERAL_START.match(source)
        and line_local(pattern)
        and not _LINE_ANCHORS.search(source),
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
    lines_to_end: int,
    totals: Optional[re.Pattern[AnyStr]] = None,
) -> Optional[tuple[int, Progress]]:
    """The Progress one counter gives for ``block[start:end]``, with where in ``block`` its last counted
    match starts (None when no line of it matches).

    ``pattern`` and ``literal`` are the counter's text or byte forms, as ``block`` is. ``counts``
    (values by counter name) and ``best_totals`` (the largest total per phase) are the run's.
    """
    counter = compiled.counter
    hits = 0
    last: Optional[re.Match[AnyStr]] = None
    if compiled.per_line and literal is not None:
        found = _line_matches(pattern, block, start, end, literal, newline)
        hits = len(found)
        if found:
            last = found[-1] if counter.kind == "count" else _largest(found, best_totals.get(phase, 0))
    elif counter.kind == "count":
        hits = len(pattern.findall(block, start, end))
        if hits:
            last = _last_match(pattern, block, start, end, literal, newline)
    else:
        last = _last_match(pattern, block, start, end, literal, newline)
        if last is not None:
            last = _largest_total(pattern, totals or pattern, block, start, end, last, best_totals.get(phase, 0))
    if last is None:
        return None
    if counter.kind != "count":
        best_totals[phase] = int(last.group("total"))
    line_no = lines_to_end - block.count(newline, last.start(), end) + 1  # (the last match is near the end)
    groups = last.groupdict()
    total: Optional[int]
    if counter.kind == "ratio":
        done, total = int(groups["done"]), int(groups["total"])
        counts[counter.name] = done
    elif counter.kind == "total":
        done, total = 0, int(groups["total"])
        counts[counter.name] = total
    else:
        done = counts[counter.name] = counts.get(counter.name, 0) + hits
        total = next((counts[name] for name in counter.total_from if counts.get(name)), counter.total)
        if total is not None and done > total:
            total = None
    return last.start(), Progress(run_index, phase, done, total, counter.unit, line_no)


def _line_matches(
    pattern: re.Pattern[AnyStr], block: AnyStr, start: int, end: int, literal: AnyStr, newline: AnyStr
) -> list[re.Match[AnyStr]]:
    """Every match in ``block[start:end]`` of a line-local pattern whose matches hold ``literal``."""
    found: list[re.Match[AnyStr]] = []
    find = block.find
    at = find(literal, start, end)
    while at >= 0:
        line_start = max(start, block.rfind(newline, start, at) + 1)
        line_end = find(newline, at, end)
        if line_end < 0:
            line_end = end
        found.extend(pattern.finditer(block, line_start, line_end))
        at = find(literal, line_end, end)
    return found


def _largest(found: list[re.Match[AnyStr]], best: int) -> Optional[re.Match[AnyStr]]:
    """The last of ``found`` with the largest total, unless an earlier stretch saw a larger one."""
    largest = max(int(m.group("total")) for m in found)
    if largest < best:
        return None
    return [m for m in found if int(m.group("total")) == largest][-1]


def _last(matches: Iterator[re.Match[AnyStr]]) -> Optional[re.Match[AnyStr]]:
    """The last of ``matches`` (None when there is none), consumed in C."""
    tail = deque(matches, maxlen=1)
    return tail[0] if tail else None


def _largest_total(
    pattern: re.Pattern[AnyStr],
    totals: re.Pattern[AnyStr],
    block: AnyStr,
    start: int,
    end: int,
    last: re.Match[AnyStr],
    best: int,
) -> Optional[re.Match[AnyStr]]:
    """The last match of ``block[start:end]`` with the largest total, unless an earlier stretch saw a larger one.

    installp runs several times in phase 6 (install utilities, the migration,
    updates): progress follows the largest run, not the last one. ``totals`` is
    the pattern with ``total`` as its only group, when there is one.
    """
    other = _other_total(totals, last.group("total"))
    if other is not None and other.search(block, start, end) is None:
        # (the common case: one installp run, one total; ``search`` makes no match objects)
        return last if int(last.group("total")) >= best else None
    found = totals.findall(block, start, end)
    texts = set(map(itemgetter(totals.groupindex["total"] - 1), found)) if totals.groups > 1 else set(found)
    largest = max(map(int, texts))  # (in C: thousands of progress lines per block)
    if largest < best:
        return None
    if int(last.group("total")) == largest:
        return last
    return [m for m in pattern.finditer(block, start, end) if int(m.group("total")) == largest][-1]


@lru_cache(maxsize=64)
def _other_total(totals: re.Pattern[AnyStr], total: AnyStr) -> Optional[re.Pattern[AnyStr]]:
    """``totals`` matching only where its total is not ``total``'s text (a total of more digits,
    fewer or others): when it finds nothing in a stretch, every total there is ``total``."""
    source = totals.pattern
    group = "(?P<total>" if isinstance(source, str) else b"(?P<total>"
    if source.count(group) != 1:
        return None
    guard = ("(?!%s(?!\\d))" if isinstance(source, str) else b"(?!%s(?!\\d))") % re.escape(total)
    return compile_pattern(source.replace(group, group + guard), totals.flags)


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
