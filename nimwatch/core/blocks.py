"""A block of complete lines as the parser reads it: clean bytes, decoded only where needed.

Owns :class:`ByteLines`, the view the parser's loop runs on
(:meth:`nimwatch.core.parser.LogParser.feed_bytes`). It says which lines of a
window can matter (the byte scan of :mod:`nimwatch.core.bytescan`), gives a
line's text, walks back to a line's start for context, and counts a phase's
progress lines over a stretch. It decodes a line (UTF-8, else ISO-8859-1, as
the decoder does) only when the parser reads it, and counts progress on the
bytes where that gives the same answer as on the text (ASCII stretches), so
the parser gets exactly the lines and values the decoded text would give (the
tests' text view, ``tests/textscan.py``, checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Optional

from nimwatch.core.decoder import decode_block, decode_line
from nimwatch.core.events import Progress
from nimwatch.core.progress import CompiledCounter, count_stretch
from nimwatch.core.runtrack import ParsedRun
from nimwatch.core.scanset import ScannerSet

MIN_WINDOW = 256
MAX_WINDOW = 256 * 1024
"""Characters (or bytes) of a block scanned for candidates at a time (the window doubles up to this)."""

_CONTROL_SPACES = (b"\x1c", b"\x1d", b"\x1e", b"\x1f")
"""Bytes that ``\\s`` matches in text but not in bytes."""


SMALL_WINDOW = 4
"""A window under 1/SMALL_WINDOW of its block is translated alone, not the block for it."""


class ByteLines:
    """Lines of clean bytes: candidates from the byte scan, a line decoded only when read."""

    def __init__(self, data: bytes, scanners: ScannerSet) -> None:
        self.data = data
        self.count_lines: Callable[[int, int], int] = partial(data.count, b"\n")
        """How many lines end in ``data[a:b]``."""
        self.line_end: Callable[[int], int] = partial(data.find, b"\n")
        """Where the line starting at ``start`` ends (its newline)."""
        self._scanners = scanners
        self._ascii = data.isascii()
        self._control: Optional[bool] = None
        self._translated: dict[int, bytes] = {}
        self._tables: list[bytes] = []
        """The tables translated with (kept alive while their ids key ``_translated``)."""

    def candidates(self, key: int, pos: int, end: int) -> list[int]:
        scanner = self._scanners.bytes.for_phase(key)
        table = scanner.table
        translated = self._translated.get(id(table))
        if translated is None:
            if (end - pos) * SMALL_WINDOW < len(self.data):
                # a few lines of this scan's phases (a run's first phases, the block where a log ends):
                # translating the whole block for them would cost more than the window's scan
                return scanner.candidates(self.data, pos, end)
            # one translation of the block serves every window of every phase sharing the scan
            translated = self._translated[id(table)] = self.data.translate(table)
            self._tables.append(table)
        return scanner.candidates(self.data, pos, end, translated, self._ascii)

    def window_end(self, pos: int, size: int) -> int:
        """The end of the scan window starting at ``pos``: the end of the line ``size`` bytes on."""
        data = self.data
        if pos + size >= len(data):
            return len(data)
        nl = data.find(b"\n", pos + size)
        return len(data) if nl < 0 else nl + 1

    def text(self, start: int, end: int) -> str:
        return decode_line(self.data[start:end])

    def ascii_text(self, start: int, end: int) -> Optional[str]:
        """Several lines as text when they are ASCII (its offsets are the block's), else None."""
        raw = self.data[start:end]
        return raw.decode("ascii") if self._ascii or raw.isascii() else None

    def line_start(self, end: int) -> int:
        """The start of the line that ends at ``end``."""
        return self.data.rfind(b"\n", 0, end) + 1

    def progress(
        self, run: ParsedRun, phase: int, compiled: CompiledCounter, start: int, end: int, lines_to_end: int
    ) -> Optional[tuple[int, Progress]]:
        data = self.data
        if compiled.raw is not None and self._bytes_agree(compiled, start, end):
            return count_stretch(
                run.index, run.counts, run.best_totals, phase, compiled, data, compiled.raw, compiled.raw_literal,
                b"\n", start, end, lines_to_end, compiled.raw_totals,
            )  # fmt: skip
        text = decode_block(data[start:end])
        found = _count_text(run, phase, compiled, text, 0, len(text), lines_to_end)
        # A position in the decoded stretch, made absolute: exact when the stretch is ASCII (the only
        # case where the other counters may count on the bytes), and in one coordinate for all otherwise.
        return None if found is None else (start + found[0], found[1])

    def _bytes_agree(self, compiled: CompiledCounter, start: int, end: int) -> bool:
        """Whether the counter's byte pattern matches ``data[start:end]`` exactly where its text pattern
        matches the decoded text: the stretch is ASCII, and holds no ``\\x1c``-``\\x1f`` if the pattern
        uses ``\\s``."""
        data = self.data
        if not self._ascii and not data[start:end].isascii():
            return False
        if compiled.spaces:
            if self._control is None:
                self._control = any(c in data for c in _CONTROL_SPACES)
            if self._control:
                return not any(data.find(c, start, end) >= 0 for c in _CONTROL_SPACES)
        return True


def _count_text(
    run: ParsedRun, phase: int, compiled: CompiledCounter, text: str, start: int, end: int, lines_to_end: int
) -> Optional[tuple[int, Progress]]:
    """What a counter's text pattern counts in ``text[start:end]``."""
    return count_stretch(
        run.index, run.counts, run.best_totals, phase, compiled, text, compiled.text, compiled.literal, "\n", start,
        end, lines_to_end, compiled.totals,
    )  # fmt: skip
