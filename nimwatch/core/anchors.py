"""Which bytes the byte-level scan stops at: anchor bytes, the bytes allowed after them, and their choice.

Owns the anchor choice behind :mod:`nimwatch.core.bytescan`. The scan maps
every *anchor byte* to NUL and runs one regex that starts with NUL: ``re``
skips to each NUL at ``memchr``-like speed, and at each one checks in C, with
one table lookup, that the next byte is one a literal can continue with (the
*follow* bytes), before it walks a trie of the literals' next bytes. A scan
costs about 7 ns per anchor byte in the log and 60 ns per anchor followed by a
follow byte, so :func:`optimize_anchors` places every literal (one position:
its anchor byte and the byte after it) to minimise

    sum over anchors a of 7 * freq(a) + 60 * sum over follow bytes b of freq(a, b)

with byte and byte-pair frequencies measured on real logs (:class:`AnchorData`,
from ``phases/anchors.yaml``, computed by ``nimwatch anchors --update``): a
greedy placement, then local search. The result is stored per scanner key
(anchor bytes and follow bytes); a stored choice that no longer fits the
literals is extended cheaply for the literals that changed, and with no
measured data at all a built-in estimate picks anchors by byte frequency alone
(exact, slower). A case-insensitive letter needs both of its cases; digits are
never anchors and ``-`` always is when message numbers are scanned (the
message-number scan owns them). A one-byte literal has no byte after it: it is
found by ``bytes.find`` (:attr:`Anchors.singles`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from nimwatch.core.literals import LiteralSpec, ScanPlan

SUFFIX_TOKENS = 8
"""Bytes after the anchor checked in C (the regex's trie) before a hit reaches Python."""
DIGITS = frozenset(b"0123456789")
"""Bytes the message-number scan needs as they are: never anchors when a scanner scans message numbers."""
DASH = ord("-")
"""The message-number scan's own anchor: always one when a scanner scans message numbers."""
_NEVER = frozenset(b"\n\x00") | frozenset(range(128, 256))

COST_ANCHOR = 7.0
"""ns per anchor byte in the log: the regex stops, the follow byte is looked up."""
COST_FOLLOW = 60.0
"""ns per anchor followed by a follow byte: the trie of literal continuations is walked."""
COST_GUARD = 5.0
"""ns per anchor byte and per literal anchored on its last byte (checked by a look-behind at every stop)."""


# --------------------------------------------------------------------------- measured data


def measure_frequencies(chunks: Iterable[bytes]) -> dict[int, int]:
    """Occurrences per million bytes of every byte value seen in ``chunks`` (at least 1 for a seen byte)."""
    counts = [0] * 256
    total = 0
    for chunk in chunks:
        total += len(chunk)
        for value in set(chunk):
            counts[value] += chunk.count(value)
    if not total:
        return {}
    return {b: max(1, round(n * 1_000_000 / total)) for b, n in enumerate(counts) if n}


def measure_digrams(chunks: Iterable[bytes], floor: float = 1.0) -> dict[tuple[int, int], float]:
    """Occurrences per million bytes of every ASCII byte pair seen at least ``floor`` times per million."""
    counts: Counter[tuple[int, int]] = Counter()
    total = 0
    for chunk in chunks:
        total += len(chunk)
        counts.update(zip(chunk, chunk[1:]))
    if not total:
        return {}
    scale = 1_000_000 / total
    return {
        pair: round(n * scale, 1)
        for pair, n in sorted(counts.items())
        if n * scale >= floor and pair[0] < 128 and pair[1] < 128
    }


def _default_frequencies() -> dict[int, int]:
    """A rough estimate for when no measured table is available (per million bytes)."""
    table: dict[int, int] = {}
    for b in range(256):
        ch = chr(b)
        if ch == " ":
            table[b] = 200_000
        elif ch in "etaoinsrlcd.\n":
            table[b] = 30_000
        elif ch.islower() or ch.isdigit() or ch in "-,":
            table[b] = 12_000
        elif ch in "ABCDEGILMPRSU:<>":
            table[b] = 5_000
        elif ch.isupper() or ch in "()/_#":
            table[b] = 1_500
        elif 33 <= b < 127:
            table[b] = 100
        else:
            table[b] = 10
    return table


DEFAULT_FREQUENCIES: Mapping[int, int] = _default_frequencies()


@dataclass(frozen=True)
class AnchorData:
    """Byte and byte-pair frequencies measured on real logs, and the choices stored for the built-in rules."""

    frequencies: Mapping[int, int] = field(default_factory=dict)
    stored: Mapping[str, frozenset[int]] = field(default_factory=dict)
    """Anchor bytes by :attr:`ScanPlan.key`."""
    catalog_hash: str = ""
    corpus: str = ""
    follows: Mapping[str, frozenset[int]] = field(default_factory=dict)
    """Follow bytes by :attr:`ScanPlan.key` (with :attr:`stored`)."""
    by_phase: Mapping[int, tuple[frozenset[int], frozenset[int]]] = field(default_factory=dict)
    """(anchors, follows) stored for each scanner key: where a changed plan's choice starts from."""
    digrams: Mapping[tuple[int, int], float] = field(default_factory=dict)
    """Byte pairs per million bytes (only ``nimwatch anchors --update`` needs them)."""

    def frequency(self, byte: int) -> int:
        return self.frequencies.get(byte, 1) if self.frequencies else DEFAULT_FREQUENCIES[byte]


# --------------------------------------------------------------------------- the choice


@dataclass(frozen=True)
class Anchors:
    """The chosen anchor and follow bytes, and where each byte-scanned literal is anchored."""

    bytes: frozenset[int]
    positions: Mapping[LiteralSpec, int]
    """For each literal scanned through an anchor, the position of its anchor byte."""
    source: str
    """"stored" (from anchors.yaml), "extended" (stored, plus bytes for changed literals), "measured" (chosen
    now from the measured table) or "estimated" (no table)."""
    follow: Optional[frozenset[int]] = None
    """Bytes that may follow an anchor (None: whatever the literals' next bytes are)."""
    singles: tuple[LiteralSpec, ...] = ()
    """One-byte literals, found by ``bytes.find`` rather than the regex."""


def byte_specs(plan: ScanPlan) -> list[LiteralSpec]:
    """The specs the byte scan looks for (ASCII text with a usable anchor); the others go the text way."""
    code = plan.code
    return [
        s
        for s in plan.specs
        if s.text.isascii()
        and (len(s.text) == 1 or any(_usable(cases(ch, s.icase), code) for ch in s.text))
    ]


def cases(ch: str, icase: bool) -> frozenset[int]:
    """The bytes that stand for ASCII ``ch`` of a literal (both cases of a letter when ``icase``)."""
    if icase and ch.isalpha():
        return frozenset({ord(ch.lower()), ord(ch.upper())})
    return frozenset({ord(ch)})


def _usable(need: frozenset[int], code: bool) -> bool:
    return not (need & _NEVER) and not (code and need & DIGITS)


_Option = tuple[int, frozenset[int], Optional[frozenset[int]]]
"""(anchor position, anchor byte(s), following byte(s) or None for a literal anchored on its last byte)."""


@lru_cache(maxsize=8192)
def _options(spec: LiteralSpec, code: bool) -> tuple[_Option, ...]:
    """Where ``spec`` (two bytes or more) can be anchored, left to right; its last byte (checked by a
    look-behind) last."""
    text, icase = spec.text, spec.icase
    last = len(text) - 1
    options = ((k, cases(text[k], icase), cases(text[k + 1], icase) if k < last else None) for k in range(last + 1))
    return tuple(option for option in options if _usable(option[1], code))


def choose_anchors(plan: ScanPlan, data: Optional[AnchorData] = None, phase: Optional[int] = None) -> Anchors:
    """Anchors for ``plan``: the stored ones when they fit its literals, else chosen now.

    ``phase`` is the scanner key: a changed plan starts from that key's stored choice.
    """
    data = data or AnchorData()
    specs = byte_specs(plan)
    singles = tuple(s for s in specs if len(s.text) == 1)
    specs = [s for s in specs if len(s.text) > 1]
    stored = data.stored.get(plan.key)
    if stored is not None and (DASH in stored or not plan.code):
        follow = data.follows.get(plan.key)
        positions = _place(specs, stored, follow, plan.code)
        if positions is not None:
            return Anchors(stored, positions, "stored", follow, singles)
    if phase is not None and phase in data.by_phase:
        anchors, follow = data.by_phase[phase]
        anchors, follow = _extend(specs, set(anchors), set(follow), plan.code, data.frequency)
        source = "extended"
    else:
        anchors, follow = _hitting_set(specs, plan.code, data.frequency), None
        source = "measured" if data.frequencies else "estimated"
    positions = _place(specs, anchors, follow, plan.code)
    assert positions is not None
    return Anchors(anchors, positions, source, follow, singles)


def _place(
    specs: Sequence[LiteralSpec], anchors: frozenset[int], follow: Optional[frozenset[int]], code: bool
) -> Optional[dict[LiteralSpec, int]]:
    """Each spec's first position covered by ``anchors`` (and ``follow``); None if one has none."""
    positions: dict[LiteralSpec, int] = {}
    for spec in specs:
        text, icase = spec.text, spec.icase
        last = len(text) - 1
        for k in range(last):  # as _options orders them, computed only as far as needed
            need = cases(text[k], icase)
            if need <= anchors and _usable(need, code) and (follow is None or cases(text[k + 1], icase) <= follow):
                positions[spec] = k
                break
        else:
            need = cases(text[last], icase)
            if not (last > 0 and need <= anchors and _usable(need, code)):
                return None
            positions[spec] = last
    return positions


def _extend(
    specs: Sequence[LiteralSpec], anchors: set[int], follow: set[int], code: bool, frequency: Callable[[int], int]
) -> tuple[frozenset[int], frozenset[int]]:
    """Stored sets plus, for each literal they do not place, its cheapest position's bytes (by byte frequency)."""
    if code:
        anchors.add(DASH)
        follow |= DIGITS
    for spec in specs:
        options = _options(spec, code)
        if any(need <= anchors and (nxt is None or nxt <= follow) for _k, need, nxt in options):
            continue
        _k, need, nxt = min(
            options,
            key=lambda o: (
                sum(frequency(b) for b in o[1] - anchors) * 4
                + sum(frequency(b) for b in (o[2] or ()) if b not in follow)
            ),
        )
        anchors |= need
        follow |= nxt or set()
    return frozenset(anchors), frozenset(follow)


def _hitting_set(specs: Sequence[LiteralSpec], code: bool, frequency: Callable[[int], int]) -> frozenset[int]:
    """A cheap set of bytes such that every spec has a usable position made of them (greedy, then pruned)."""
    options = {spec: [need for _k, need, _n in _options(spec, code)] for spec in specs}
    forced = {DASH} if code else set()
    chosen: set[int] = set(forced)
    uncovered = set(specs)

    def ratio(need: Set[int]) -> float:
        """The uncovered literals ``need`` would cover, per unit of frequency it adds."""
        gain = sum(1 for spec in uncovered if any(n <= chosen | need for n in options[spec]))
        return gain / max(sum(frequency(b) for b in need - chosen), 1)

    while uncovered:
        candidates = {need for spec in uncovered for need in options[spec]}
        chosen |= max(sorted(candidates, key=sorted), key=ratio)  # the first best, in a fixed order
        uncovered = {spec for spec in uncovered if not any(n <= chosen for n in options[spec])}
    for b in sorted(chosen - forced, key=lambda x: (-frequency(x), x)):
        rest = chosen - {b}
        if all(any(n <= rest for n in options[spec]) for spec in specs):
            chosen = rest
    return frozenset(chosen)


# --------------------------------------------------------------------------- the optimizer (offline)


class _Cost:
    """The scan's cost model over measured byte and byte-pair frequencies (per million bytes)."""

    def __init__(self, data: AnchorData, code: bool) -> None:
        self.code = code
        self.freq = data.frequency
        self.pairs: dict[int, dict[int, float]] = {}
        for (a, b), n in data.digrams.items():
            self.pairs.setdefault(a, {})[b] = n
        if not data.digrams:  # no pairs measured: bytes taken as independent
            seen = [b for b in range(128) if self.freq(b) > 1]
            for a in seen:
                self.pairs[a] = {b: self.freq(a) * self.freq(b) / 1e6 for b in seen}

    def __call__(self, anchors: set[int], follow: set[int], guards: int) -> float:
        passing = set(follow)
        if passing & anchors:
            passing |= anchors  # an anchor after an anchor is a NUL after a NUL
        if self.code and passing & DIGITS:
            passing |= DIGITS  # digits are one byte ('0') after translation
        total = 0.0
        for a in anchors:
            row = self.pairs.get(a, {})
            total += (COST_ANCHOR + COST_GUARD * guards) * self.freq(a)
            total += COST_FOLLOW * sum(row.get(b, 0.0) for b in passing)
        return total


def optimize_anchors(plan: ScanPlan, data: AnchorData, rounds: int = 8) -> tuple[frozenset[int], frozenset[int]]:
    """Anchor and follow bytes for ``plan`` at the lowest estimated scan cost (``nimwatch anchors --update``).

    Every literal is placed greedily (the literals with the dearest best position
    first), then improved: single literals move to their best position given the
    others, and whole bytes are banned (every literal using a byte moves away at
    once) while that lowers the cost. Takes seconds: it runs offline.
    """
    specs = [s for s in byte_specs(plan) if len(s.text) > 1]
    code = plan.code
    cost = _Cost(data, code)
    base_anchors = {DASH} if code else set()
    base_follow = set(DIGITS) if code else set()
    options = {spec: _options(spec, code) for spec in specs}
    chosen: dict[LiteralSpec, _Option] = {}
    banned: set[tuple[str, int]] = set()

    def allowed(option: _Option) -> bool:
        _k, need, nxt = option
        return not any(("a", b) in banned for b in need) and not any(("f", b) in banned for b in nxt or ())

    def sets(skip: Optional[LiteralSpec] = None) -> tuple[set[int], set[int], int]:
        anchors, follow, guards = set(base_anchors), set(base_follow), 0
        for spec, (_k, need, nxt) in chosen.items():
            if spec is not skip:
                anchors |= need
                if nxt is None:
                    guards += 1
                else:
                    follow |= nxt
        return anchors, follow, guards

    def best(spec: LiteralSpec) -> Optional[_Option]:
        anchors, follow, guards = sets(spec)

        def price(option: _Option) -> float:
            _k, need, nxt = option
            if nxt is None:
                return cost(anchors | need, follow, guards + 1)
            return cost(anchors | need, follow | nxt, guards)

        return min((o for o in options[spec] if allowed(o)), key=price, default=None)

    def sweep(targets: Sequence[LiteralSpec]) -> bool:
        changed = False
        for spec in targets:
            option = best(spec)
            if option is not None and option != chosen[spec]:
                chosen[spec] = option
                changed = True
        return changed

    empty_anchors, empty_follow, _ = sets()
    order = sorted(
        specs,
        key=lambda s: (-min(cost(empty_anchors | o[1], empty_follow | (o[2] or set()), 0) for o in options[s]), s.text),
    )
    for spec in order:
        option = best(spec)
        assert option is not None
        chosen[spec] = option
    for _ in range(4):
        if not sweep(order):
            break
    for _ in range(rounds):
        improved = False
        anchors, follow, _guards = sets()
        moves = [("a", b) for b in sorted(anchors - base_anchors)] + [("f", b) for b in sorted(follow - base_follow)]
        for move in moves:
            current = cost(*sets())
            saved = dict(chosen)
            banned.add(move)
            affected = [s for s, o in chosen.items() if not allowed(o)]
            placed = [(s, best(s)) for s in affected]
            if all(o is not None for _s, o in placed):
                for spec, option in placed:
                    assert option is not None
                    chosen[spec] = option
                sweep(affected)
                if cost(*sets()) < current * 0.999:
                    improved = True
                    continue
            banned.discard(move)
            chosen = saved
        if not improved:
            break
    anchors, follow, _guards = sets()
    return frozenset(anchors), frozenset(follow)
