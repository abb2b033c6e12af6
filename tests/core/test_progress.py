"""Progress counters give the same values counted on text or on bytes, line by line or with findall."""

from __future__ import annotations

import re
from typing import Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from nimwatch.core.events import Progress
from nimwatch.core.progress import CompiledCounter, compile_counter, count_stretch
from nimwatch.core.rules import Counter

LINES = [
    "    12  Total to be installed",
    "12\tTotal to be installed",
    "  7 Total to be installed (pasted)",
    "Total to be installed",
    "x 9 Total to be installed",
    "12",
    "Total to be installed 3",
    "Filesets processed:  3 of 9  (Total time:  1 secs).",
    "Filesets processed:  12 of 310",
    "Filesets processed:\t4 of 9",
    "caf\xe9 5 Total to be installed",
    "",
]
TOTAL = Counter("filesets_total", re.compile(r"^(?P<total>\d+)[ \t]+Total to be installed"), "filesets", "total")
RATIO = Counter("filesets", re.compile(r"^Filesets processed:\s+(?P<done>\d+) of (?P<total>\d+)"), "filesets", "ratio")
COUNT = Counter("lines", re.compile(r"Total to be installed"), "lines", "count")


def by_findall(compiled: CompiledCounter) -> CompiledCounter:
    return CompiledCounter(compiled.counter, compiled.text, compiled.literal, None, None, compiled.spaces)


def count(
    compiled: CompiledCounter, text: str, best: int
) -> tuple[Optional[tuple[int, Progress]], dict[str, int], dict[int, int]]:
    counts: dict[str, int] = {}
    best_totals = {6: best}
    found = count_stretch(
        1,
        counts,
        best_totals,
        6,
        compiled,
        text,
        compiled.text,
        compiled.literal,
        "\n",
        0,
        len(text),
        10,
        compiled.totals,
    )
    return found, counts, best_totals


def test_a_counter_without_a_literal_start_is_counted_line_by_line() -> None:
    assert compile_counter(TOTAL).per_line
    assert not compile_counter(RATIO).per_line  # "Filesets processed:" starts it: findall is fast


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=30), st.integers(0, 400))
def test_line_by_line_equals_findall(lines: list[str], best: int) -> None:
    text = "".join(line + "\n" for line in lines)
    for counter in (TOTAL, RATIO, COUNT):
        compiled = compile_counter(counter)
        assert count(compiled, text, best) == count(by_findall(compiled), text, best), counter.name
        raw = text.encode("utf-8")
        if compiled.raw is not None and raw.isascii():
            on_bytes = count_stretch(
                1,
                {},
                {6: best},
                6,
                compiled,
                raw,
                compiled.raw,
                compiled.raw_literal,
                b"\n",
                0,
                len(raw),
                10,
                compiled.raw_totals,
            )
            assert on_bytes == count(compiled, text, best)[0]


TOTALS = ["200", "2000", "12000", "02000", "20001", "9"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.sampled_from(TOTALS)), min_size=1, max_size=12),
    st.integers(0, 13000),
)
def test_the_largest_total_wins_whatever_the_digits_of_the_last(runs: list[tuple[int, str]], best: int) -> None:
    """The shortcut that skips reading every total (when none differs from the last one's text) never
    hides a larger total: totals that share digits with the last one (200, 2000, 12000, 02000)."""
    text = "".join(f"Filesets processed:  {done} of {total}  (Total time:  1 secs).\nnoise\n" for done, total in runs)
    compiled = compile_counter(RATIO)
    matches = list(compiled.text.finditer(text))
    largest = max(int(m.group("total")) for m in matches)
    expected: Optional[tuple[int, int, int]] = None
    if largest >= best:
        last = [m for m in matches if int(m.group("total")) == largest][-1]
        expected = (int(last.group("done")), largest, 10 - text.count("\n", last.start()) + 1)
    for found, _, _ in (count(compiled, text, best), count(by_findall(compiled), text, best)):
        got = None if found is None else (found[1].done, found[1].total, found[1].line)
        assert got == expected
