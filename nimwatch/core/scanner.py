"""Which rules could match a line: the rule items of one phase and the literals they need.

Owns :class:`Scanner`. Every rule pattern (structural lines, facts, variants,
phase markers, counters, signatures) is reduced to a literal that any matching
line must contain (its ``trigger``, or one derived from the regular
expression, :func:`required_literals`). The byte scan
(:mod:`nimwatch.core.literals`, :mod:`nimwatch.core.bytescan`) finds the lines
of a block that hold one; for each such line the parser asks the scanner which
items to try (:meth:`Scanner.items_for`: the literals it holds, found through
one prefix-trie regex of their anchors, in C). Patterns with no usable literal
(case-insensitive or pure character classes) are tried on every line.

The scanner changes speed, never results: the items of a line are the same
whether the line came alone or in a block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

from nimwatch.core.recompile import _parser as _sre_parse  # re's private parser: the only way to read literals
from nimwatch.core.recompile import compile_pattern, derive

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


_COMMON_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz 0123456789.,")
"""Characters that start most positions of a log: a block scan anchored on them is slow."""


def required_literals(pattern: str) -> Optional[tuple[tuple[str, ...], bool]]:
    """Literals of which at least one occurs in every line the pattern matches.

    Returns ``(literals, ignore_case)`` (lowercased literals when the pattern
    ignores case anywhere), or ``None`` when no literal of ``MIN_LITERAL``
    characters or more can be derived.
    """
    try:
        parsed = _sre_parse.parse(pattern)
    except re.error:
        return None
    state = getattr(parsed, "state", None) or getattr(parsed, "pattern", None)
    icase = bool(getattr(state, "flags", 0) & _IGNORECASE) or "(?i" in pattern
    option = _best_option(list(parsed))
    if option is None or min(len(x) for x in option) < MIN_LITERAL or _score(option) <= 0:
        return None
    return tuple(x.lower() for x in option) if icase else tuple(option), icase


def _score(option: Optional[list[str]]) -> int:
    """Longer literals filter better; every extra alternative costs a scan branch; a
    literal that holds a rare character makes the block scan fast (see :func:`_anchor`)."""
    if not option:
        return 0
    rare = all(any(_rarity(ch) < 5 for ch in x[: len(x) - MIN_LITERAL + 1]) for x in option)
    return 10 * min(len(x) for x in option) - 15 * (len(option) - 1) + (60 if rare else 0)


def _best_option(items: list[Any]) -> Optional[list[str]]:
    """The best set of literals (any one of them occurs) for a sequence of parsed items."""
    best: Optional[list[str]] = None
    run: list[str] = []

    def consider(option: Optional[list[str]]) -> None:
        nonlocal best
        if option and _score(option) > _score(best):
            best = option

    def close() -> None:
        nonlocal run
        if run:
            consider(["".join(run)])
        run = []

    for op, av in items:
        if op is _LITERAL:
            run.append(chr(av))
        elif op is _SUBPATTERN:
            sub = list(av[3])
            if all(o is _LITERAL for o, _ in sub):
                run.extend(chr(a) for _, a in sub)
            else:
                close()
                consider(_best_option(sub))
        elif op is _BRANCH:
            close()
            alternatives = [_best_option(list(alt)) for alt in av[1]]
            if all(alternatives):
                consider([lit for alt in alternatives for lit in alt])  # type: ignore[union-attr]
        elif op is _AT:
            continue  # ^, $, \b take no characters
        else:
            close()
    close()
    return best


def _trie_regex(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, factored as a prefix trie (longest match first)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return build(trie)


_FREQUENT_CAPITALS = frozenset("ABCDGILMPRSU")
"""Capitals that start the words of installp's copyright notices (thousands per MB)."""


def _rarity(ch: str) -> int:
    """How common ``ch`` is in nimadm logs: 0 rare ... 5 on almost every line."""
    if ch in _COMMON_CHARS:
        return 5
    if ch.isdigit():
        return 4
    if ch in _FREQUENT_CAPITALS or ch in ":-<>":
        return 3
    if ch in "()":
        return 2
    if ch.isupper():
        return 1
    return 0


def _anchor(literal: str) -> str:
    """The part of ``literal`` to scan blocks for: it starts at its rarest character.

    ``re`` skips quickly to positions whose character can start the pattern, so
    a scan for "_disk_migration" is much faster than one for
    "Cleaning up alt_disk_migration" over installp's capital-heavy output.
    """
    best = min(range(len(literal) - MIN_LITERAL + 1), key=lambda i: _rarity(literal[i]), default=0)
    return literal[best : best + 16]


def fold(text: str) -> str:
    """Lower-case ``text`` keeping every offset (a rare character whose lower case is longer stays)."""
    folded = text.lower()
    if len(folded) != len(text):
        folded = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    return folded


class LiteralIndex:
    """Which of a set of literals a line holds, found through their anchors (one trie regex, in C).

    One index over every literal of a rule set serves all of its scanners (each
    keeps the words it knows), so it is compiled once per process.
    """

    def __init__(self, literals: Iterable[str], folded: Iterable[str]) -> None:
        self._re, self._literals = _anchor_index(tuple(sorted(set(literals))))
        self._folded_re, self._folded = _anchor_index(tuple(sorted(set(folded))))

    def hits(self, line: str) -> set[str]:
        """The literals ``line`` holds; case-insensitive ones (found in the folded line) prefixed with NUL."""
        words = _hits(self._re, self._literals, line)
        if self._folded:
            words.update("\0" + w for w in _hits(self._folded_re, self._folded, fold(line)))
        return words


class Scanner:
    """Finds candidate lines in a block and the rule items to try on one line."""

    def __init__(
        self, items: Sequence[Item], code_item: Optional[Item] = None, index: Optional[LiteralIndex] = None
    ) -> None:
        """``code_item`` is found through message numbers (``NNNN-NNN``), which have no literal; ``index``
        finds literals in a line (shared by the scanners of a rule set; one of its own when not given)."""
        self.items = tuple(items)
        self.code_item = code_item
        """The item found through message numbers (``NNNN-NNN``) rather than a literal, if any."""
        by_word: dict[str, list[Item]] = {}  # case-insensitive literals prefixed with NUL, as hits() gives them
        slow: list[Item] = []
        for item in self.items:
            if item is code_item:
                continue
            found = item_literals(item)
            if found is None:
                slow.append(item)
                continue
            lits, icase = found
            for lit in lits:
                by_word.setdefault("\0" + lit if icase else lit, []).append(item)
        self._by_word = {k: tuple(v) for k, v in by_word.items()}
        if code_item is not None:
            self._by_word["\0code"] = (code_item,)  # the word of a message number (never a folded "code")
        self.literals = tuple(sorted(w for w in by_word if not w.startswith("\0")))
        self.folded_literals = tuple(sorted(w[1:] for w in by_word if w.startswith("\0")))
        self.slow_items = tuple(slow)
        self.index = index or LiteralIndex(self.literals, self.folded_literals)
        """What finds literals in a line (give it to the other scanners of the same rule set)."""
        self._items_cache: dict[frozenset[str], list[Item]] = {}
        self._by_line: dict[str, list[Item]] = {}
        """Recent short lines and their items: structural lines repeat (every run, every client's log)."""

    def items_for(self, line: str) -> list[Item]:
        """The rule items that may match ``line``, in priority order."""
        cached = self._by_line.get(line)
        if cached is not None:
            return cached
        result = self._items_for(line)
        if len(line) <= LINE_CACHE_CHARS:
            if len(self._by_line) >= LINE_CACHE_SIZE:
                self._by_line.clear()
            self._by_line[line] = result
        return result

    def _items_for(self, line: str) -> list[Item]:
        words = self.index.hits(line)
        if self.code_item is not None and _CODE.search(line):
            words.add("\0code")
        slow_hits = [item for item in self.slow_items if item.pattern.search(line)]
        key = frozenset(words)
        if not slow_hits:
            cached = self._items_cache.get(key)
            if cached is not None:
                return cached
        found: dict[int, Item] = {item.priority: item for item in slow_hits}
        for word in words:
            for item in self._by_word.get(word, ()):
                found[item.priority] = item
        result = [found[k] for k in sorted(found)]
        if not slow_hits and len(self._items_cache) < 4096:
            self._items_cache[key] = result
        return result


def item_literals(item: Item) -> Optional[tuple[Sequence[str], bool]]:
    """The literals a scanner indexes ``item`` under: its trigger (lower-cased when its pattern ignores case),
    else :func:`cached_required_literals` of its pattern."""
    if item.literal:
        icase = bool(item.pattern.flags & re.IGNORECASE)
        return (item.literal.lower() if icase else item.literal,), icase
    return cached_required_literals(item.pattern.pattern)


@lru_cache(maxsize=4096)
def cached_required_literals(pattern: str) -> Optional[tuple[tuple[str, ...], bool]]:
    """:func:`required_literals`, parsed once per pattern and process (every phase's scanner asks)."""
    return derive("required_literals", pattern, 0, lambda: required_literals(pattern))


def _hits(anchor_re: re.Pattern[str], anchor_literals: dict[str, tuple[str, ...]], line: str) -> set[str]:
    """Every literal present in ``line``, found through its anchor (overlapping anchors included)."""
    found: set[str] = set()
    search = anchor_re.search
    m = search(line)
    while m is not None:
        for literal in anchor_literals[m.group()]:
            if literal in line:
                found.add(literal)
        m = search(line, m.start() + 1)
    return found


def _anchor_index(literals: Sequence[str]) -> tuple[re.Pattern[str], dict[str, tuple[str, ...]]]:
    """A trie regex of the literals' anchors, and for each anchor the literals it may stand for.

    The trie returns the longest anchor at a position, so an anchor also stands
    for the literals of every anchor that is a prefix of it.
    """
    by_anchor: dict[str, list[str]] = {}
    for lit in literals:
        by_anchor.setdefault(_anchor(lit), []).append(lit)
    anchors = sorted(by_anchor)
    index = {a: tuple(lit for n in range(1, len(a) + 1) for lit in by_anchor.get(a[:n], ())) for a in anchors}
    return compile_pattern(_trie_regex(anchors) if anchors else "(?!)"), index


LINE_CACHE_SIZE = 2048
LINE_CACHE_CHARS = 200
"""Lines kept (and how long one may be) in each scanner's cache of the items a line may match."""

_CODE = re.compile(r"\d{4}-\d{3}")
_HAS_CODE = re.compile(r"\d{4}-\d|^\d{4}-$")
"""Literals holding a message number (or its prefix): lines with them are found by the code scan."""


def unanchored(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern without a leading ``^`` and trailing ``$`` (cached), so that a line pattern is also found
    inside pasted text."""
    cached = _UNANCHORED.get(pattern)
    if cached is None:
        text = pattern.pattern[1:] if pattern.pattern.startswith("^") else pattern.pattern
        if text.endswith("$") and not text.endswith("\\$"):
            text = text[:-1]
        cached = _UNANCHORED[pattern] = compile_pattern(text, pattern.flags)
    return cached


_UNANCHORED: dict[re.Pattern[str], re.Pattern[str]] = {}
