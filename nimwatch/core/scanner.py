"""Fast candidate-line scanning: which rules could match which lines.

Owns :class:`Scanner`. Every rule pattern (structural lines, facts, variants,
phase markers, counters, signatures) is reduced to a literal that any matching
line must contain (its ``trigger``, or one derived from the regular
expression). The literals are compiled into one prefix-trie regex, so a block
of thousands of lines is scanned by ``re`` in C and only the few lines that
contain a literal are looked at in Python. Patterns with no usable literal
(case-insensitive or pure character classes) go to a second, slower regex.

The scanner changes speed, never results: the parser asks it for the rule
items of one line, and those are the same whether the line came alone or in a
block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

try:  # Python 3.11+
    import re._parser as _sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python 3.9 / 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

_LITERAL = _sre_parse.LITERAL
_SUBPATTERN = _sre_parse.SUBPATTERN
_BRANCH = _sre_parse.BRANCH
_AT = _sre_parse.AT
_IGNORECASE = re.IGNORECASE.value

MIN_LITERAL = 3


@dataclass(frozen=True)
class Item:
    """One rule to try on a line: ``priority`` orders them, ``kind`` says what it is."""

    priority: int
    kind: str
    pattern: re.Pattern[str]
    payload: Any = None
    literal: Optional[str] = None
    """A substring every matching line contains (a signature's trigger); derived when absent."""


def required_literals(pattern: str) -> Optional[list[str]]:
    """Literals of which at least one occurs in every line the pattern matches.

    Returns ``None`` when no such literal of ``MIN_LITERAL`` characters or more
    can be derived (the pattern then needs the slow scan).
    """
    try:
        parsed = _sre_parse.parse(pattern)
    except re.error:
        return None
    state = getattr(parsed, "state", None) or getattr(parsed, "pattern", None)
    if state is not None and getattr(state, "flags", 0) & _IGNORECASE:
        return None
    return _literals_of(list(parsed))


def _literals_of(items: list[Any]) -> Optional[list[str]]:
    """Longest mandatory literal run in a sequence; a top-level branch gives one per alternative."""
    if len(items) == 1 and items[0][0] is _BRANCH:
        out: list[str] = []
        for alt in items[0][1][1]:
            lits = _literals_of(list(alt))
            if lits is None:
                return None
            out.extend(lits)
        return out
    best = ""
    run: list[str] = []

    def close() -> None:
        nonlocal best, run
        text = "".join(run)
        if len(text) > len(best):
            best = text
        run = []

    for op, av in items:
        if op is _LITERAL:
            run.append(chr(av))
        elif op is _SUBPATTERN:
            add_flags = av[1]
            sub = list(av[3])
            if add_flags & _IGNORECASE:
                close()
                continue
            inner_only_literals = all(o is _LITERAL for o, _ in sub)
            if inner_only_literals:
                run.extend(chr(a) for _, a in sub)
            else:
                close()
                lits = _literals_of(sub)
                if lits and len(lits) == 1 and len(lits[0]) > len(best):
                    best = lits[0]
        elif op is _AT:
            continue  # ^, $, \b take no characters
        else:
            close()
    close()
    if len(best) >= MIN_LITERAL:
        return [best]
    return None


def _trie_regex(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, factored as a prefix trie (longest match first)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if end:
            return "(?:" + body + ")?"
        return body

    return build(trie)


class Scanner:
    """Finds candidate lines in a block and the rule items to try on one line."""

    def __init__(self, items: Sequence[Item], code_item: Optional[Item] = None) -> None:
        """``code_item`` is found through message numbers (``NNNN-NNN``), which have no literal."""
        self.items = tuple(items)
        self._code_item = code_item
        by_literal: dict[str, list[Item]] = {}
        slow: list[Item] = []
        for item in self.items:
            lits = [item.literal] if item.literal else required_literals(item.pattern.pattern)
            if lits is None:
                slow.append(item)
                continue
            for lit in lits:
                by_literal.setdefault(lit, []).append(item)
        self._by_literal = {k: tuple(v) for k, v in by_literal.items()}
        self.literals = tuple(sorted(by_literal))
        self.slow_items = tuple(slow)
        trie = _trie_regex(self.literals) if self.literals else "(?!)"
        self._block_re = re.compile(trie + (r"|\d{4}-\d{3}" if code_item is not None else ""))
        self._line_re = re.compile("(?=(" + trie + "))")
        self._prefix_words = {lit: [w for w in self.literals if lit.startswith(w)] for lit in self.literals}
        if slow:
            alternatives = ["(?:" + _unanchor(i.pattern.pattern) + ")" for i in slow]
            self._slow_re: Optional[re.Pattern[str]] = re.compile("|".join(alternatives), re.MULTILINE)
        else:
            self._slow_re = None

    def candidates(self, block: str) -> list[int]:
        """Sorted start offsets of the lines of ``block`` that may match some rule."""
        starts: set[int] = set()
        rfind = block.rfind
        last_line_end = -1
        for m in self._block_re.finditer(block):
            pos = m.start()
            if pos <= last_line_end:
                continue
            start = rfind("\n", 0, pos) + 1
            starts.add(start)
            nl = block.find("\n", pos)
            last_line_end = nl if nl >= 0 else len(block)
        if self._slow_re is not None:
            for m in self._slow_re.finditer(block):
                starts.add(rfind("\n", 0, m.start()) + 1)
        return sorted(starts)

    def items_for(self, line: str) -> list[Item]:
        """The rule items that may match ``line``, in priority order."""
        found: dict[int, Item] = {}
        for m in self._line_re.finditer(line):
            for word in self._prefix_words[m.group(1)]:
                for item in self._by_literal[word]:
                    found[item.priority] = item
        if self._slow_re is not None and self._slow_re.search(line):
            for item in self.slow_items:
                found[item.priority] = item
        if self._code_item is not None and _CODE.search(line):
            found[self._code_item.priority] = self._code_item
        return [found[k] for k in sorted(found)]


_CODE = re.compile(r"\d{4}-\d{3}")


def unanchored(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern without a leading ``^`` (cached), to find line starts inside pasted text."""
    cached = _UNANCHORED.get(pattern)
    if cached is None:
        cached = _UNANCHORED[pattern] = re.compile(_unanchor(pattern.pattern), pattern.flags)
    return cached


_UNANCHORED: dict[re.Pattern[str], re.Pattern[str]] = {}


def _unanchor(pattern: str) -> str:
    """Drop a leading ``^`` and trailing ``$`` so that a line pattern is also found inside pasted text."""
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1]
    return pattern
