"""The text scan path, kept as the oracle the byte path is compared against (and the bench's reference).

nimwatch reads logs as bytes (:class:`~nimwatch.core.reader.LogReader`: the
decoder's clean bytes, the byte scan of :mod:`nimwatch.core.bytescan`, only
candidate lines decoded). Before the byte scan it decoded every block and
scanned the text; that path lives on here, unchanged, so that tests can check
that both give the same candidate lines and the same events on any input:

* :func:`text_candidates`: the candidate lines of a text block for one phase
  :class:`~nimwatch.core.scanner.Scanner` (its literals' anchors as one prefix
  trie regex, message numbers, the folded block for case-insensitive literals,
  patterns without a literal run over the block);
* :class:`TextLines`: a block of text as the parser's loop reads it (the
  interface of :class:`~nimwatch.core.blocks.ByteLines`);
* :class:`TextParser`: a :class:`~nimwatch.core.parser.LogParser` that is fed
  text (``feed(str)``);
* :class:`TextDecoder`: a :class:`~nimwatch.core.decoder.LineDecoder` that
  gives decoded text blocks (``feed``/``flush``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Optional

from nimwatch.core.blocks import _count_text
from nimwatch.core.decoder import LineDecoder, RawBlock, decode_block
from nimwatch.core.events import Event, Progress
from nimwatch.core.parser import LogParser
from nimwatch.core.progress import CompiledCounter
from nimwatch.core.recompile import compile_pattern
from nimwatch.core.runtrack import ParsedRun
from nimwatch.core.scanner import _HAS_CODE, Item, Scanner, _anchor, _trie_regex, fold
from nimwatch.core.scanset import ScannerSet

_Regex = re.Pattern[str]
_BlockScans = tuple[_Regex, Optional[_Regex], Optional[_Regex], list[tuple[Item, _Regex]]]
_SCANS: dict[Scanner, _BlockScans] = {}
"""Each phase scanner's block scans: the trie regex of its literals' anchors, the message number scan,
the trie regex of its case-insensitive literals' anchors (run on the folded block), patterns without
a literal (multi-line)."""


def needs_fold(scanner: Scanner) -> bool:
    """Whether :func:`text_candidates` scans the lower-cased block too."""
    return bool(scanner.folded_literals)


def _block_scans(scanner: Scanner) -> _BlockScans:
    """The regexes that scan a text block for ``scanner`` (compiled on first use)."""
    found = _SCANS.get(scanner)
    if found is None:
        code = scanner.code_item is not None
        # Block scans look for anchors; literals holding a message number are left to the code scan.
        words = {_anchor(w) for w in scanner.literals if not (code and _HAS_CODE.search(w))}
        block_re = compile_pattern(_trie_regex(words) if words else "(?!)")
        code_re = re.compile(r"-(?<=\d{4}-)\d{3}") if code else None
        folded_re = None
        if scanner.folded_literals:
            folded = {_anchor(w) for w in scanner.folded_literals if not (code and _HAS_CODE.search(w))}
            folded_re = compile_pattern(_trie_regex(folded) if folded else "(?!)")
        slow_block = [
            (item, compile_pattern(item.pattern.pattern, item.pattern.flags | re.MULTILINE))
            for item in scanner.slow_items
        ]
        found = _SCANS[scanner] = (block_re, code_re, folded_re, slow_block)
    return found


def _scan_lines(
    pattern: re.Pattern[str], text: str, block: str, starts: set[int], pos: int = 0, end: Optional[int] = None
) -> None:
    """Add the start of every line of ``block[pos:end]`` in which ``pattern`` occurs in ``text`` (same offsets)."""
    rfind = block.rfind
    find = block.find
    line_end = -1
    for m in pattern.finditer(text, pos, len(text) if end is None else end):
        at = m.start()
        if at <= line_end:
            continue
        starts.add(rfind("\n", 0, at) + 1)
        line_end = find("\n", at)
        if line_end < 0:
            line_end = len(block)


def text_candidates(
    scanner: Scanner, block: str, pos: int = 0, folded: Optional[str] = None, end: Optional[int] = None
) -> list[int]:
    """Sorted start offsets of the lines of ``block[pos:end]`` that may match some rule of ``scanner``.

    ``pos`` and ``end`` are line boundaries; ``folded`` is ``fold(block)``, passed when the
    caller scans the same block again.
    """
    end = len(block) if end is None else end
    block_re, code_re, folded_re, slow_block = _block_scans(scanner)
    starts: set[int] = set()
    _scan_lines(block_re, block, block, starts, pos, end)
    if code_re is not None:
        _scan_lines(code_re, block, block, starts, pos, end)
    if folded_re is not None:
        _scan_lines(folded_re, folded if folded is not None else fold(block), block, starts, pos, end)
    for _item, pattern in slow_block:
        for m in pattern.finditer(block, pos, end):
            # a match may start on an earlier line (\s* crosses newlines): take every line it spans
            at = max(pos, block.rfind("\n", 0, m.start()) + 1)
            while at <= m.end() and at < len(block):
                starts.add(at)
                nxt = block.find("\n", at)
                if nxt < 0:
                    break
                at = nxt + 1
    return sorted(x for x in starts if pos <= x < end)


class TextLines:
    """Lines of text: candidates from the text scanners (what the parser's loop reads, as ``ByteLines``)."""

    def __init__(self, data: str, scanners: ScannerSet) -> None:
        self.data = data
        self.count_lines: Callable[[int, int], int] = partial(data.count, "\n")
        """How many lines end in ``data[a:b]``."""
        self.line_end: Callable[[int], int] = partial(data.find, "\n")
        """Where the line starting at ``start`` ends (its newline)."""
        self._scanners = scanners
        self._folded: Optional[str] = None

    def candidates(self, key: int, pos: int, end: int) -> list[int]:
        scanner = self._scanners.for_phase(key)
        if needs_fold(scanner) and self._folded is None:
            self._folded = fold(self.data)
        return text_candidates(scanner, self.data, pos, self._folded, end)

    def window_end(self, pos: int, size: int) -> int:
        """The end of the scan window starting at ``pos``: the end of the line ``size`` characters on."""
        data = self.data
        if pos + size >= len(data):
            return len(data)
        nl = data.find("\n", pos + size)
        return len(data) if nl < 0 else nl + 1

    def text(self, start: int, end: int) -> str:
        return self.data[start:end]

    def ascii_text(self, start: int, end: int) -> Optional[str]:
        """``text(start, end)`` of several lines when it is ASCII (its offsets are the block's), else None."""
        text = self.data[start:end]
        return text if text.isascii() else None

    def line_start(self, end: int) -> int:
        """The start of the line that ends at ``end``."""
        return self.data.rfind("\n", 0, end) + 1

    def progress(
        self, run: ParsedRun, phase: int, compiled: CompiledCounter, start: int, end: int, lines_to_end: int
    ) -> Optional[tuple[int, Progress]]:
        return _count_text(run, phase, compiled, self.data, start, end, lines_to_end)


class TextParser(LogParser):
    """The parser fed text: the text scanners find the candidate lines."""

    def feed(self, block: str) -> list[Event]:
        """Feed complete lines: ``block`` is lines each ending in ``\\n`` (a missing final newline is tolerated)."""
        if not block:
            return []
        if not block.endswith("\n"):
            block += "\n"
        return self._feed(TextLines(block, self.scanners))  # type: ignore[arg-type]


@dataclass
class DecodedBlock:
    """Complete lines decoded from some bytes: ``text`` holds ``count`` lines, each ending in ``\\n``."""

    text: str
    count: int
    cut_lines: list[tuple[int, int]] = field(default_factory=list)
    """(line index within this block, original length in bytes) of each line that was cut."""


def decoded(block: RawBlock) -> DecodedBlock:
    return DecodedBlock(decode_block(block.data), block.data.count(b"\n"), block.cut_lines)


class TextDecoder(LineDecoder):
    """The decoder giving text: the lines of :meth:`feed_bytes`, decoded line by line."""

    def feed(self, chunk: bytes) -> DecodedBlock:
        """Decode the complete lines that ``chunk`` finishes; keep the rest."""
        return decoded(self.feed_bytes(chunk))

    def flush(self) -> DecodedBlock:
        """End of input: a last line without newline is returned as a complete line."""
        return decoded(self.flush_bytes())
