"""The byte-level candidate scan: which lines of a block of log bytes the parser must look at.

Owns :class:`ByteScanner` (one per phase scanner) and :class:`ByteScannerSet`.
It gives the lines the text scan (the tests' oracle, ``tests/textscan.py``)
gives, minus lines that only hold a literal's anchor and not the literal
(which the parser would skip anyway), without decoding the block:

1. one ``bytes.translate`` per window maps every anchor byte (see
   :mod:`nimwatch.core.anchors`) to NUL and every digit to ``0``;
2. one regex per phase, starting with NUL, runs over the translated window:
   ``re`` skips to each NUL at ``memchr``-like speed and checks in C the bytes
   after it (a look-ahead) or before it (a look-behind for an anchor near the
   literal's end), and, for ``-``, whether it sits in a message number
   ``NNNN-NNN``;
3. at each match, Python checks the literal in the original bytes, the rule's
   trigger or pattern where the plan asks for it, and skips to the next line;
4. a window that holds bytes above 127 has those lines decoded (UTF-8, else
   ISO-8859-1, as the decoder does) and checked as text, so non-ASCII and
   case-insensitive literals are found exactly as in text in either encoding;
   patterns with no literal at all are run on the decoded window (slow, exact).

Input is clean bytes as :meth:`nimwatch.core.decoder.LineDecoder.feed_bytes`
returns them (lines cut, no CR or NUL). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Optional

from nimwatch.core.anchors import DASH, DIGITS, SUFFIX_TOKENS, AnchorData, Anchors, cases, choose_anchors
from nimwatch.core.decoder import decode_block, decode_line
from nimwatch.core.literals import LiteralSpec, ScanPlan, scan_specs
from nimwatch.core.recompile import compile_pattern
from nimwatch.core.scanner import _CODE, Scanner, fold

_HIGH = re.compile(rb"[\x80-\xff]")
_ZERO = ord("0")

_Entry = tuple[int, bytes, bool, tuple[bytes, ...], bool, Optional["re.Pattern[str]"]]
"""(anchor position, literal, ignore case, also, also ignore case, confirm pattern)."""


class ByteScanner:
    """Candidate lines of clean log bytes for one phase scanner."""

    anchors: Anchors
    table: bytes
    regex: re.Pattern[bytes]
    _entries: list[tuple[LiteralSpec, int, _Entry]]
    """Per anchor byte, the literal checks of every spec scanned through it."""

    def __init__(
        self,
        plan: ScanPlan,
        data: Optional[AnchorData] = None,
        phase: Optional[int] = None,
        shared: Optional[ByteScanner] = None,
    ) -> None:
        """``plan``: :func:`~nimwatch.core.literals.scan_specs` of a phase scanner;
        ``phase``: the scanner key (a changed plan starts from that key's stored anchors); ``shared``: a
        scanner built on a plan holding this one's literals, whose compiled scan this one reuses (it keeps
        the lines of its own literals only)."""
        self.plan = plan
        if shared is None:
            self._compile(choose_anchors(self.plan, data, phase))
        else:
            self.anchors, self.table, self.regex = shared.anchors, shared.table, shared.regex
            self._entries = shared._entries
        own = set(self.plan.specs)
        index: dict[int, list[_Entry]] = {}
        for spec, byte, entry in self._entries:
            if spec in own:
                index.setdefault(byte, []).append(entry)
        self._index = {b: tuple(v) for b, v in index.items()}
        self._singles = tuple(_single(spec) for spec in self.anchors.singles if spec in own)

    def _compile(self, anchors: Anchors) -> None:
        """The translation table, the regex and the literal checks of ``anchors``."""
        self.anchors = anchors
        code = self.plan.code
        self.table = bytes(_ZERO if code and b in DIGITS else 0 if b in anchors.bytes else b for b in range(256))
        self._entries = []
        words: list[tuple[tuple[frozenset[int], ...], Optional[bytes]]] = []
        guards: list[bytes] = []
        for spec, k in anchors.positions.items():
            also = tuple(a.encode("ascii") for a in spec.also if a.isascii())
            entry: _Entry = (k, spec.text.encode("ascii"), spec.icase, also, spec.also_icase, spec.confirm)
            self._entries.extend((spec, b, entry) for b in sorted(cases(spec.text[k], spec.icase)))
            before = _seq([self._token(ch, spec.icase) for ch in spec.text[max(0, k - SUFFIX_TOKENS) : k]])
            if k == len(spec.text) - 1:  # anchored on its last byte: the bytes before it are checked
                guards.append(b"(?<=" + before + rb"\x00)")
            else:
                after = tuple(self._token(ch, spec.icase) for ch in spec.text[k + 1 : k + 1 + SUFFIX_TOKENS])
                # once the bytes after the anchor match, the bytes before it are checked too, in C
                # (``bos.alt_disk_install`` is not ``Client alt_disk_install``)
                guard = b"(?<=" + before + rb"\x00" + _seq(after) + b")" if k > 0 else None
                words.append((after, guard))
        if code:
            words.append(((frozenset({_ZERO}),) * 3, rb"(?<=0000\x00000)"))
        parts = ([_alternation(words)] if words else []) + sorted(set(guards))
        body = parts[0] if len(parts) == 1 else b"(?:" + b"|".join(parts) + b")"
        self.regex = compile_pattern(rb"\x00" + body if parts else rb"(?!)")

    def _token(self, ch: str, icase: bool) -> frozenset[int]:
        """The translated bytes that may stand for ``ch`` of a literal."""
        return frozenset(self.table[b] for b in cases(ch, icase))

    # ------------------------------------------------------------------ scanning

    def candidates(
        self,
        data: bytes,
        pos: int = 0,
        end: Optional[int] = None,
        translated: Optional[bytes] = None,
        ascii_block: bool = False,
    ) -> list[int]:
        """Sorted start offsets of the lines of ``data[pos:end]`` that may match a rule.

        ``pos`` and ``end`` are line boundaries (``end`` after a newline, or the end of ``data``).
        ``translated`` is ``data.translate(self.table)`` when the caller keeps it (one translation
        of a block serves all its windows); ``ascii_block``: the caller knows ``data`` is ASCII.
        """
        end = len(data) if end is None else end
        if pos >= end:
            return []
        if translated is None:
            win = data[pos:end] if pos or end != len(data) else data
            return [pos + s for s in self.candidates(win, 0, len(win), win.translate(self.table))]
        starts = self._literal_lines(data, translated, pos, end)
        extra = set(self._single_lines(data, pos, end)) if self._singles else set()
        whole = pos == 0 and end == len(data)
        window_ascii = ascii_block or (translated if whole else translated[pos:end]).isascii()
        if self.plan.slow or not window_ascii:
            win = data if whole else data[pos:end]
            if not window_ascii:
                extra.update(pos + s for s in self._text_lines(win, translated if whole else translated[pos:end]))
            if self.plan.slow:
                extra.update(pos + s for s in self._slow_lines(win, pos > 0))
        return sorted(extra.union(starts)) if extra else starts

    def _literal_lines(self, win: bytes, translated: bytes, lo: int, hi: int) -> list[int]:
        """The lines of ``win[lo:hi]`` holding a literal found through an anchor (offsets in ``win``)."""
        starts: list[int] = []
        index = self._index
        code = self.plan.code
        search = self.regex.search
        rfind = win.rfind
        find = win.find
        at = lo
        while True:
            m = search(translated, at, hi)
            if m is None:
                break
            p = m.start()
            ls = rfind(b"\n", lo, p) + 1 or lo
            le = find(b"\n", p, hi)
            if le < 0:
                le = hi
            byte = win[p]
            ok = (
                byte == DASH
                and code
                and p - 4 >= ls
                and translated[p - 4 : p] == b"0000"
                and translated[p + 1 : p + 4] == b"000"
            )
            if not ok:
                for k, text, icase, also, also_icase, confirm in index.get(byte, ()):
                    s = p - k
                    if s < ls:
                        continue
                    if icase:
                        if win[s : s + len(text)].lower() != text:
                            continue
                    elif not win.startswith(text, s):
                        continue
                    if also:
                        line = win[ls:le].lower() if also_icase else win[ls:le]
                        if not any(a in line for a in also):
                            continue
                    if confirm is not None and confirm.search(decode_line(win[ls:le])) is None:
                        continue
                    ok = True
                    break
            if ok:
                starts.append(ls)
                at = le + 1
            else:
                at = p + 1
        return starts

    def _single_lines(self, data: bytes, lo: int, hi: int) -> list[int]:
        """Lines of ``data[lo:hi]`` holding a one-byte literal, with what else they must hold.

        The byte is found with ``bytes.find``, and each of its lines checked for the other literals it
        must hold. Where the byte is common (``#`` with "error" or "fail": installp lists thousands of
        ``#`` lines) the other literals are looked for first, with ``bytes.find`` too (in the window
        lower-cased when their case does not matter: in ASCII, as ``re.IGNORECASE`` on bytes), and their
        lines checked for the byte."""
        starts: set[int] = set()
        lowered: Optional[bytes] = None
        check: tuple[bytes, ...]
        for targets, also, also_icase, confirm in self._singles:
            if also == ():
                continue  # its other literals are not ASCII: such a line is checked as text (_text_lines)
            if also is None or sum(data.count(t, lo, hi) for t in targets) <= SINGLES_FIRST:
                hay, base, words, check, check_icase = data, 0, targets, also or (), also_icase
            elif also_icase:  # the other literals first, in the window lower-cased once
                lowered = data[lo:hi].lower() if lowered is None else lowered
                hay, base, words, check, check_icase = lowered, lo, also, targets, False
            else:
                hay, base, words, check, check_icase = data, 0, also, targets, False
            find = hay.find
            for word in words:
                at = find(word, lo - base, hi - base)
                while at >= 0:
                    at += base
                    ls = max(lo, data.rfind(b"\n", lo, at) + 1)
                    le = data.find(b"\n", at, hi)
                    if le < 0:
                        le = hi
                    if (
                        ls not in starts
                        and (not check or _holds(data, ls, le, check, check_icase))
                        and (confirm is None or confirm.search(decode_line(data[ls:le])) is not None)
                    ):
                        starts.add(ls)
                    at = find(word, le - base, hi - base)
        return sorted(starts)

    def _text_lines(self, win: bytes, translated: bytes) -> list[int]:
        """Lines holding bytes above 127, checked as decoded text (exact for either encoding)."""
        starts: list[int] = []
        skip = -1
        code = self.plan.code
        specs = self.plan.specs
        for m in _HIGH.finditer(translated):
            p = m.start()
            if p < skip:
                continue
            ls = win.rfind(b"\n", 0, p) + 1
            le = win.find(b"\n", p)
            if le < 0:
                le = len(win)
            skip = le
            line = decode_line(win[ls:le])
            folded = fold(line)
            if (code and _CODE.search(line)) or any(spec.holds(line, folded) for spec in specs):
                starts.append(ls)
        return starts

    def _slow_lines(self, win: bytes, after_newline: bool) -> list[int]:
        """Every line a pattern without literal spans when run over the decoded window (as the text scanner does)."""
        text = ("\n" if after_newline else "") + decode_block(win)
        offset = 1 if after_newline else 0
        line_starts = [0, *(m.end() for m in re.finditer(b"\n", win))]
        found: set[int] = set()
        for pattern in self.plan.slow:
            for m in pattern.finditer(text, offset):
                first = text.count("\n", offset, m.start())
                last = text.count("\n", offset, m.end())
                found.update(start for start in line_starts[first : last + 1] if start < len(win))
        return sorted(found)


SINGLES_FIRST = 64
"""Up to this many of a one-byte literal in a window, its lines are found through it; past it, through
the other literals its line must hold (installp's lists have a ``#`` on every line)."""


def _holds(data: bytes, start: int, end: int, words: tuple[bytes, ...], icase: bool) -> bool:
    """Whether ``data[start:end]`` holds one of ``words`` (lower-case words when ``icase``)."""
    line = data[start:end].lower() if icase else data[start:end]
    return any(word in line for word in words)


_Single = tuple[tuple[bytes, ...], Optional[tuple[bytes, ...]], bool, Optional["re.Pattern[str]"]]
"""(the byte(s), the literals the line must also hold (None: nothing else), their case ignored, confirm)."""


def _single(spec: LiteralSpec) -> _Single:
    """How the scan finds a one-byte literal: the byte(s), and what the line must also hold."""
    targets = tuple(bytes([b]) for b in sorted(cases(spec.text, spec.icase)))
    # a line whose also-literal is not ASCII is checked as text (_text_lines): here, never matches
    also = tuple((a.lower() if spec.also_icase else a).encode("ascii") for a in spec.also if a.isascii())
    return targets, also if spec.also else None, spec.also_icase, spec.confirm


_BYTE = tuple(re.escape(bytes([b])) for b in range(256))
"""Each byte as a regex (itself, escaped where it is special: quicker for ``re`` to parse than ``\\xNN``)."""


@lru_cache(maxsize=4096)
def _class(token: frozenset[int]) -> bytes:
    if len(token) == 1:
        return _BYTE[next(iter(token))]
    return b"[" + b"".join(_BYTE[b] for b in sorted(token)) + b"]"


def _seq(tokens: Sequence[frozenset[int]]) -> bytes:
    return b"".join(_class(t) for t in tokens)


def _alternation(words: Sequence[tuple[tuple[frozenset[int], ...], Optional[bytes]]]) -> bytes:
    """A regex for the bytes after the sentinel: a prefix trie over ``words`` (token sequences, each with an
    optional look-behind guard at its end), whose every branch starts with one literal byte.

    ``re`` tries the branches of an alternation one after the other but rejects a
    branch that starts with a literal byte in a few nanoseconds (not one that starts
    with a character set), so the first token of every word is split into its bytes,
    and a set of every possible first byte is checked before the branches.
    """
    expanded: set[tuple[tuple[frozenset[int], ...], Optional[bytes]]] = set()
    for after, guard in words:
        if after:
            for b in sorted(after[0]):
                expanded.add(((frozenset({b}), *after[1:]), guard))
        else:
            expanded.add((after, guard))
    root: dict[object, Any] = {}
    done = object()
    for after, guard in sorted(expanded, key=lambda w: (len(w[0]), [sorted(t) for t in w[0]], w[1] or b"")):
        node = root
        for tok in after:
            if None in node.get(done, ()):
                break  # a shorter word without guard already matches here
            node = node.setdefault(tok, {})
        else:
            node.setdefault(done, set()).add(guard)

    def build(node: dict[object, Any]) -> bytes:
        guards: set[Optional[bytes]] = node.get(done, set())
        if None in guards:
            return b""
        tokens = sorted((t for t in node if isinstance(t, frozenset)), key=sorted)
        parts = [_class(tok) + build(node[tok]) for tok in tokens]
        parts += sorted(g for g in guards if g is not None)
        return parts[0] if len(parts) == 1 else b"(?:" + b"|".join(parts) + b")"

    body = build(root)
    first = sorted({next(iter(after[0])) for after, _ in expanded if after})
    if all(after for after, _ in expanded) and first:
        return b"(?=" + _class(frozenset(first)) + b")" + body
    return body


SHARED_GROUPS: tuple[tuple[int, ...], ...] = ((0,), (6,), (1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12))
"""Scanner keys whose byte scans share one compiled scan (over all their literals, each keeping its own
lines): before phase 1, phase 6 (the bulk of a log: installp), and the short phases together."""


def shared_group(key: int) -> tuple[int, ...]:
    """The scanner keys that share ``key``'s compiled scan."""
    return next((group for group in SHARED_GROUPS if key in group), (key,))


class ByteScannerSet:
    """One :class:`ByteScanner` per parser situation, built lazily from the text scanners and shared.

    The situations of one :func:`shared_group` share one compiled scan: building
    a scan costs milliseconds, and a run passes through every phase.
    """

    def __init__(self, for_phase: Callable[[int], Scanner], data: Optional[AnchorData] = None) -> None:
        """``for_phase`` is :meth:`nimwatch.core.scanset.ScannerSet.for_phase` (or any key -> Scanner)."""
        self._scanner_for = for_phase
        self.data = data
        self._scanners: dict[int, ByteScanner] = {}
        self._shared: dict[tuple[int, ...], ByteScanner] = {}
        self._plans: dict[int, ScanPlan] = {}

    def plan(self, key: int) -> ScanPlan:
        """The literals ``key``'s scan looks for."""
        if key not in self._plans:
            self._plans[key] = scan_specs(self._scanner_for(key))
        return self._plans[key]

    def anchor_plan(self, key: int) -> ScanPlan:
        """The plan the anchors of ``key``'s scan are chosen for: the literals of its whole group."""
        plans = [self.plan(k) for k in shared_group(key)]
        if len(plans) == 1:
            return plans[0]
        specs = dict.fromkeys(spec for plan in plans for spec in plan.specs)
        slow = dict.fromkeys(pattern for plan in plans for pattern in plan.slow)
        return ScanPlan(tuple(specs), tuple(slow), any(plan.code for plan in plans))

    def for_phase(self, key: int) -> ByteScanner:
        if key not in self._scanners:
            group = shared_group(key)
            if group not in self._shared:
                lead = group[0]
                self._shared[group] = ByteScanner(self.anchor_plan(key), self.data, lead)
            self._scanners[key] = ByteScanner(self.plan(key), shared=self._shared[group])
        return self._scanners[key]
