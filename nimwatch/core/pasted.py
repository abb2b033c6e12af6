"""Pasted lines: a log copied into a ticket or a web page often loses its line breaks.

Owns :func:`is_pasted` (a physical line that may hold several log lines) and
:func:`split_pasted`, which cuts such a line back into log lines before every
text that starts a line of the log: an anchored rule pattern (``^...``), the
``+---+`` rule around phase banners, or a bare message number that does not
follow a word (a number quoted in prose stays where it is). Which patterns
start a line is the phase model's data; the scanner holding every rule
(:data:`nimwatch.core.scanset.SPLITTER`) finds which of them a line holds.
"""

from __future__ import annotations

import re

from nimwatch.core.scanner import Scanner, unanchored

PASTED_MIN_LENGTH = 160
"""A physical line at least this long that holds several log lines was pasted
with its line breaks lost (a ticket, a web page): it is split back."""
RULE_LINE = "+" + "-" * 77 + "+"
"""The rule nimadm prints above and below each phase banner."""

_BARE_CODE = re.compile(r"(?<![\w-])\d{4}-\d{3}(?=\s)")
_PROSE_BEFORE_CODE = re.compile(r"[a-z,(/]\s*$")
"""A pasted line is not cut before a message number that follows a word or a comma: it is quoted in prose."""


def is_pasted(text: str) -> bool:
    """Whether the stripped physical line ``text`` may hold several log lines."""
    return len(text) >= PASTED_MIN_LENGTH or (len(text) > len(RULE_LINE) and RULE_LINE in text)


def split_pasted(text: str, splitter: Scanner) -> list[str]:
    """Split a pasted line back into log lines, before each text that starts a log line.

    ``splitter`` is the scanner holding every rule (its items say which rules the line holds).
    """
    cuts: set[int] = set()
    for item in splitter.items_for(text):
        if item.kind == "code":
            # "cmd: NNNN-NNN text" keeps its command; a bare "NNNN-NNN text" starts a line.
            for m in _BARE_CODE.finditer(text):
                before = text[max(0, m.start() - 2) : m.start()]
                if before != ": " and not _PROSE_BEFORE_CODE.search(text[max(0, m.start() - 3) : m.start()]):
                    cuts.add(m.start())
        elif item.pattern.pattern.startswith("^"):
            cuts.update(m.start() for m in unanchored(item.pattern).finditer(text))
    rule_at = text.find(RULE_LINE)
    while rule_at >= 0:
        cuts.add(rule_at)
        cuts.add(rule_at + len(RULE_LINE))
        rule_at = text.find(RULE_LINE, rule_at + 1)
    cuts.discard(0)
    if not cuts:
        return [text]
    points = [0, *sorted(cuts), len(text)]
    pieces = (text[a:b].strip() for a, b in zip(points, points[1:]))
    return [piece for piece in pieces if piece and piece != RULE_LINE] or [text]
