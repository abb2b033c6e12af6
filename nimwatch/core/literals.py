"""Which literal each rule of a scanner needs on a line: the byte scan's plan.

Owns :func:`scan_specs`, which turns one phase's
:class:`~nimwatch.core.scanner.Scanner` into :class:`LiteralSpec` entries: a
literal that every line the rule can match holds (the rule's trigger, or a
literal derived from its pattern) and what else the line must hold. A pattern
the text scanner cannot reduce (the TCB signature: the regex parser factors
out its leading ``T``) gets a literal from :func:`prefilter_literals`, which
multiplies literal prefixes into alternations, and is then confirmed on the
line by its own pattern (when :func:`line_local` says a line alone decides it).
A trigger too short to scan for well (``#``) is kept, and the line must also
hold one of the pattern's own literals. Pure; results are cached per pattern.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

from nimwatch.core.recompile import _parser as _sre  # re's private parser (its constants too)
from nimwatch.core.recompile import compile_pattern, derive
from nimwatch.core.scanner import _HAS_CODE, MIN_LITERAL, Item, Scanner, item_literals

MAX_ALTERNATIVES = 16
"""Most strings a derived literal set may hold (``TCB|Trusted Computing Base`` is 2)."""
FORMAT_VERSION = 1
"""The anchors file's format (``version:`` in ``phases/anchors.yaml``)."""
PLAN_VERSION = 2
"""Bumped when the plan or the anchor choice changes in a way that makes stored anchors meaningless: it
is part of every plan's hash, so a file computed before no longer matches (and is reported stale)."""


@dataclass(frozen=True)
class LiteralSpec:
    """A literal the scan looks for, and what else a line needs to be a candidate.

    ``text`` is lower-cased when ``icase`` (then compared with the line folded).
    ``also``: the line must also hold one of these (the rule's own trigger, when
    ``text`` was derived from its pattern instead). ``confirm``: the line must
    match this pattern (a rule that had no literal of its own).
    """

    text: str
    icase: bool
    also: tuple[str, ...] = ()
    also_icase: bool = False
    confirm: Optional[re.Pattern[str]] = None

    def holds(self, line: str, folded: str) -> bool:
        """Whether decoded ``line`` (``folded`` = its :func:`~nimwatch.core.scanner.fold`) makes a candidate."""
        if self.text not in (folded if self.icase else line):
            return False
        if self.also and not any(a in (folded if self.also_icase else line) for a in self.also):
            return False
        return self.confirm is None or self.confirm.search(line) is not None


@dataclass(frozen=True)
class ScanPlan:
    """One phase scanner's literals, the patterns left to the slow path, and whether it scans message numbers."""

    specs: tuple[LiteralSpec, ...]
    slow: tuple[re.Pattern[str], ...]
    code: bool

    @property
    def key(self) -> str:
        """A hash of what anchor choice depends on: the literals (with case) and the code scan."""
        words = sorted({(s.text, s.icase) for s in self.specs})
        return hashlib.sha256(repr((PLAN_VERSION, self.code, words)).encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- literals


def prefilter_literals(pattern: re.Pattern[str]) -> Optional[tuple[list[str], bool]]:
    """Strings of which one occurs in every match of ``pattern`` (lower-cased when it ignores case).

    Unlike :func:`~nimwatch.core.scanner.required_literals` this multiplies a
    literal prefix into the alternation that follows (``T(?:CB|rusted ...)`` gives
    ``TCB`` and ``Trusted ...``). ``None`` when no set of strings of
    ``MIN_LITERAL`` characters or more can be derived.
    """
    found = _prefilter(pattern)
    return None if found is None else (list(found[0]), found[1])


@lru_cache(maxsize=4096)
def _prefilter(pattern: re.Pattern[str]) -> Optional[tuple[tuple[str, ...], bool]]:
    return derive("prefilter_literals", pattern.pattern, pattern.flags, lambda: _derive_prefilter(pattern))


def _derive_prefilter(pattern: re.Pattern[str]) -> Optional[tuple[tuple[str, ...], bool]]:
    try:
        parsed = _sre.parse(pattern.pattern, pattern.flags & ~re.UNICODE)
    except (re.error, TypeError):
        return None
    state = getattr(parsed, "state", None) or getattr(parsed, "pattern", None)
    icase = bool((getattr(state, "flags", 0) | pattern.flags) & re.IGNORECASE) or "(?i" in pattern.pattern
    best = _best(list(parsed))
    if best is None:
        return None
    words = sorted(best)
    return tuple(w.lower() for w in words) if icase else tuple(words), icase


def _score(option: Optional[set[str]]) -> int:
    if not option or "" in option or min(len(x) for x in option) < MIN_LITERAL:
        return -(10**9)
    return 10 * min(len(x) for x in option) - 15 * (len(option) - 1)


def _exact(items: Sequence[Any]) -> Optional[set[str]]:
    """The strings a sequence matches, when it is a small finite set of literals."""
    acc = {""}
    for op, av in items:
        x = _exact_item(op, av)
        if x is None:
            return None
        acc = {a + b for a in acc for b in x}
        if len(acc) > MAX_ALTERNATIVES:
            return None
    return acc


def _exact_item(op: Any, av: Any) -> Optional[set[str]]:
    if op is _sre.LITERAL:
        return {chr(av)}
    if op is _sre.AT:
        return {""}
    if op is _sre.SUBPATTERN:
        return _exact(list(av[-1]))
    if op is _sre.BRANCH:
        return _union(_exact, av[1])
    if op is _sre.IN and all(sub_op is _sre.LITERAL for sub_op, _ in av):
        chars = {chr(sub_av) for _, sub_av in av}
        return chars if len(chars) <= 4 else None
    return None


def _best(items: Sequence[Any]) -> Optional[set[str]]:
    """The best set of strings (one of them occurs in every match) for a sequence of parsed items."""
    best: Optional[set[str]] = None
    acc: set[str] = {""}

    def consider(option: Optional[set[str]]) -> None:
        nonlocal best
        if option and _score(option) > _score(best):
            best = set(option)

    for op, av in items:
        x = _exact_item(op, av)
        if x is not None:
            product = {a + b for a in acc for b in x}
            if len(product) <= MAX_ALTERNATIVES:
                acc = product
                continue
            consider(acc)
            acc = x
            continue
        consider(acc)
        acc = {""}
        consider(_inner_best(op, av))
    consider(acc)
    return best if _score(best) > -(10**9) else None


def _union(of: Any, alternatives: Sequence[Any]) -> Optional[set[str]]:
    """The strings of every alternative of a branch (``of``: :func:`_exact` or :func:`_best`), when all have some."""
    out: set[str] = set()
    for alt in alternatives:
        x = of(list(alt))
        if x is None:
            return None
        out |= x
    return out if len(out) <= MAX_ALTERNATIVES else None


def _inner_best(op: Any, av: Any) -> Optional[set[str]]:
    if op is _sre.SUBPATTERN:
        return _best(list(av[-1]))
    if op is _sre.BRANCH:
        return _union(_best, av[1])
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[0] >= 1:
        return _best(list(av[2]))
    return None


@lru_cache(maxsize=4096)
def line_local(pattern: re.Pattern[str]) -> bool:
    """Whether a match of ``pattern`` in a block of lines never depends on other lines.

    True when no match can hold a newline and nothing looks outside the match
    (no look-around, no ``\\A``/``\\Z``): then "some match of the block lies in
    line L" is the same as "the pattern matches line L alone", and the rule can
    be confirmed line by line.
    """
    return derive("line_local", pattern.pattern, pattern.flags, lambda: _derive_line_local(pattern))


def _derive_line_local(pattern: re.Pattern[str]) -> bool:
    try:
        parsed = _sre.parse(pattern.pattern, pattern.flags & ~re.UNICODE)
    except (re.error, TypeError):
        return False
    return _local(list(parsed), bool(pattern.flags & re.DOTALL))


_NEWLINE_CATEGORIES = frozenset(
    getattr(_sre, name) for name in ("CATEGORY_SPACE", "CATEGORY_NOT_DIGIT", "CATEGORY_NOT_WORD", "CATEGORY_LINEBREAK")
)
_OUTSIDE_AT = frozenset(getattr(_sre, name) for name in ("AT_BEGINNING_STRING", "AT_END_STRING"))


def _local(items: Sequence[Any], dotall: bool) -> bool:
    for op, av in items:
        if op is _sre.LITERAL:
            local = av != 10
        elif op is _sre.NOT_LITERAL:
            local = av == 10
        elif op is _sre.ANY:
            local = not dotall
        elif op is _sre.AT:
            local = av not in _OUTSIDE_AT
        elif op is _sre.IN:
            local = _set_local(av)
        elif op is _sre.SUBPATTERN:
            local = _local(list(av[-1]), dotall or bool((av[1] or 0) & re.DOTALL))
        elif op is _sre.BRANCH:
            local = all(_local(list(alt), dotall) for alt in av[1])
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or op is getattr(_sre, "POSSESSIVE_REPEAT", None):
            local = _local(list(av[2]), dotall)
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            local = _local(list(av), dotall)
        else:  # look-around, group references, conditionals: not line-local
            local = False
        if not local:
            return False
    return True


def _set_local(entries: Sequence[Any]) -> bool:
    """Whether a character set cannot match a newline."""
    return not any(
        op is _sre.NEGATE
        or (op is _sre.LITERAL and av == 10)
        or (op is _sre.RANGE and av[0] <= 10 <= av[1])
        or (op is _sre.CATEGORY and av in _NEWLINE_CATEGORIES)
        for op, av in entries
    )


@lru_cache(maxsize=1024)
def _multiline(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return compile_pattern(pattern.pattern, pattern.flags | re.MULTILINE)


def scan_specs(scanner: Scanner) -> ScanPlan:
    """The byte scan's plan for one phase scanner: a spec per literal, slow patterns, the code scan.

    A line is a candidate when the text scanner would find one of the item's own
    literals in it (and, for an item with a very short trigger, also one of the
    literals every match of its pattern holds), so the byte scan never yields a
    line the text scanner would not, and never misses one the parser acts on.
    Literals holding a message number are left to the code scan, as the text
    scanner does.
    """
    code_item = scanner.code_item
    has_code = code_item is not None
    specs: dict[LiteralSpec, None] = {}
    slow: list[re.Pattern[str]] = []
    for item in scanner.items:
        if item is code_item:
            continue
        own = item_literals(item)
        confirm = None
        if own is None:  # no literal of its own: one derived from its pattern, confirmed on the line
            own, confirm = _prefilter(item.pattern), _multiline(item.pattern)
            if own is None or not line_local(item.pattern):
                slow.append(confirm)
                continue
        words = [w for w in own[0] if "\n" not in w and not (has_code and _HAS_CODE.search(w))]
        also, also_icase = _also(item) if words else ((), False)
        for word in words:
            specs[LiteralSpec(word, own[1], also, also_icase, confirm)] = None
    return ScanPlan(tuple(specs), tuple(slow), has_code)


def _also(item: Item) -> tuple[tuple[str, ...], bool]:
    """For a trigger shorter than :data:`MIN_LITERAL` (``#``): literals of the pattern a line must also hold."""
    if not item.literal or len(item.literal) >= MIN_LITERAL:
        return (), False
    return _prefilter(item.pattern) or ((), False)
