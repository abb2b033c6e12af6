"""The byte-level scan gives the lines the text scanner gives, exactly, on any input.

Three levels: (1) against a line-by-line reference of the plan (every literal,
message number and confirm pattern checked on the decoded line), for every
phase of the catalog, on random logs built from the catalog's own examples and
near misses, sample-log lines and noise (case flips, non-ASCII letters in UTF-8
and ISO-8859-1, Unicode digits and case-folding oddities); (2) against today's
text scanner (kept as the oracle in ``tests/textscan.py``): never a line it
would not give, and every line it gives that the parser acts on; (3) end to
end: the parser reading bytes (``LogReader``, the byte scan, only candidate
lines decoded) gives the same events as the parser reading the decoded text
(``TextParser.feed``, the text scanners).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Optional

import pytest
from helpers import SAMPLE_LOGS, banner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textscan import TextDecoder, TextParser, needs_fold
from textscan import text_candidates as scan_text

from nimwatch.core.anchors import DIGITS, AnchorData, choose_anchors
from nimwatch.core.bytescan import ByteScanner, ByteScannerSet
from nimwatch.core.decoder import LineDecoder, decode_line
from nimwatch.core.events import BadLine, Event
from nimwatch.core.literals import ScanPlan, line_local, prefilter_literals
from nimwatch.core.parser import PASTED_MIN_LENGTH, RULE_LINE, LogParser, build_scanner
from nimwatch.core.reader import LogReader
from nimwatch.core.rules import RuleSet, Signature, build_signatures, merge_signatures
from nimwatch.core.scanner import Scanner, fold
from nimwatch.rulefiles import load_rules
from nimwatch.yamlfile import parse_yaml

RULES = load_rules()
SCANNERS = build_scanner(RULES)
KEYS = tuple(range(13))
BYTES = ByteScannerSet(SCANNERS.for_phase)
ESTIMATED = ByteScannerSet(SCANNERS.for_phase, AnchorData())
"""No measured table at all: a built-in estimate picks the anchors (must give the same lines)."""

EXAMPLES = sorted(
    {line for sig in RULES.signatures for line in (*sig.examples, *sig.near_misses)}
    | {
        line.decode("latin-1")
        for p in sorted(SAMPLE_LOGS.glob("*_alt_mig.log"))
        for line in p.read_bytes().splitlines()[:400:7]
    }
)
ODD = [
    "caf\xe9",
    "\xc9CHEC",
    "\u212aelvin",  # KELVIN SIGN: lower-cases to an ASCII k
    "\u0130nstallp:",  # I WITH DOT: lower-case is two characters
    "\u0661\u0662\u0663\u0664-\u0665\u0666\u0667 Unicode digits",
    "\xa0",
    "\x1c",
    "TCB",
    "tcb",
    "Trusted Computing Base is enabled",
    "Trusted   Computing Base",
    "0503-",
    "1234-56",
    "-",
    "\t",
    "FAIL",
    "fAiL",
    "LICENSE Agreement",
    "nimadm:",
    "nimadm: ",
]


def flip_case(text: str, mask: int) -> str:
    return "".join(ch.swapcase() if (mask >> (i % 31)) & 1 else ch for i, ch in enumerate(text))


@st.composite
def log_lines(draw: st.DrawFn, max_lines: int = 30) -> list[str]:
    """Lines built from catalog examples, sample-log lines and noise, cut, joined and case-flipped."""
    out = []
    for _ in range(draw(st.integers(0, max_lines))):
        kind = draw(st.integers(0, 5))
        if kind <= 1:
            line = draw(st.sampled_from(EXAMPLES))
        elif kind == 2:
            line = draw(st.sampled_from(EXAMPLES)) + draw(st.sampled_from(ODD)) + draw(st.sampled_from(EXAMPLES))
        elif kind == 3:
            line = flip_case(draw(st.sampled_from(EXAMPLES)), draw(st.integers(0, 2**31)))
        elif kind == 4:
            line = draw(st.text(alphabet=st.sampled_from("ab-0123456789 :FfIiLl\xe9\u212a\u0661"), max_size=30))
        else:
            base = draw(st.sampled_from(EXAMPLES))
            a = draw(st.integers(0, len(base)))
            line = base[:a] + draw(st.sampled_from(ODD)) + base[a:]
        out.append(line.replace("\n", " ").replace("\r", " ").replace("\x00", " "))
    return out


def encode(line: str, latin: bool) -> bytes:
    """Bytes that the decoder turns back into ``line``: ISO-8859-1 when asked and possible, else UTF-8."""
    if latin:
        try:
            raw = line.encode("latin-1")
        except UnicodeEncodeError:
            pass
        else:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw
    return line.encode("utf-8")


def to_bytes(lines: list[str], latin_mask: int = 0) -> bytes:
    return b"".join(encode(line, bool((latin_mask >> (i % 31)) & 1)) + b"\n" for i, line in enumerate(lines))


_TEXT_CODE = re.compile(r"\d{4}-\d{3}")


def reference(plan: ScanPlan, line: str) -> bool:
    """The plan, checked on one decoded line the slow, obvious way."""
    folded = fold(line)
    if plan.code and _TEXT_CODE.search(line):
        return True
    if any(spec.holds(line, folded) for spec in plan.specs):
        return True
    return any(p.search(line) for p in plan.slow)


def line_indexes(data: bytes, starts: list[int]) -> list[int]:
    return [data.count(b"\n", 0, s) for s in starts]


def text_candidates(scanner: Scanner, text: str) -> set[int]:
    folded = fold(text) if needs_fold(scanner) else None
    return {text.count("\n", 0, s) for s in scan_text(scanner, text, 0, folded)}


SPLIT = LogParser(RULES, "lpar1")


def acts_on(scanner: Scanner, line: str) -> bool:
    """Whether any item of ``scanner`` matches the stripped line or a piece the parser cuts a pasted line into."""
    text = line.strip()
    if not text:
        return False
    pasted = len(text) >= PASTED_MIN_LENGTH or RULE_LINE in text
    pieces = [text, *SPLIT._segments(text)] if pasted else [text]
    return any(item.pattern.search(piece) for piece in pieces for item in scanner.items)


def check(lines: list[str], latin_mask: int, keys: tuple[int, ...] = KEYS, scanners: ByteScannerSet = BYTES) -> None:
    data = to_bytes(lines, latin_mask)
    decoded = [decode_line(raw) for raw in data.split(b"\n")[:-1]]
    assert decoded == lines
    text = "".join(line + "\n" for line in decoded)
    for key in keys:
        byte_scanner = scanners.for_phase(key)
        got = line_indexes(data, byte_scanner.candidates(data))
        assert got == sorted(set(got))
        want = [i for i, line in enumerate(decoded) if reference(byte_scanner.plan, line)]
        assert got == want, (key, [decoded[i] for i in set(got) ^ set(want)])
        old = text_candidates(SCANNERS.for_phase(key), text)
        assert set(got) <= old, (key, [decoded[i] for i in set(got) - old])
        dropped = [decoded[i] for i in sorted(old - set(got)) if acts_on(SCANNERS.for_phase(key), decoded[i])]
        assert not dropped, (key, dropped)


# --------------------------------------------------------------------------- the scan itself


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_lines(), st.integers(0, 2**31))
def test_byte_scan_equals_the_line_reference_and_the_text_scanner(lines: list[str], latin_mask: int) -> None:
    check(lines, latin_mask)


def test_a_common_one_byte_literal_is_found_through_the_literals_its_line_must_also_hold() -> None:
    """``#`` with error/fail: below SINGLES_FIRST ``#`` in a window each is looked at; above, the words first."""
    from nimwatch.core.bytescan import SINGLES_FIRST

    odd = [
        "  bos.x 7.3.0.0   # Install ERROR here",
        "  bos.y 7.3.0.0   # fAiLeD twice: FAIL",
        "no hash, but an error and a failure",
        "  bos.z 7.3.0.0   # caf\xe9 \u212aelvin fail",
        "  bos.w 7.3.0.0   # \xc9RROR (not ASCII: no match)",
        "error # at the end #",
    ]
    for many in (SINGLES_FIRST // 4, SINGLES_FIRST * 3):
        lines = [f"  bos.f{i} 7.3.0.{i}   # Description of fileset {i}" for i in range(many)]
        for index, line in enumerate(odd):
            lines.insert(index * len(lines) // len(odd), line)
        for mask in (0, 2**31 - 1):
            check(lines, mask, keys=(6,))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_lines(), st.integers(0, 2**31))
def test_estimated_anchors_give_the_same_lines(lines: list[str], latin_mask: int) -> None:
    check(lines, latin_mask, keys=(0, 3, 6, 12), scanners=ESTIMATED)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_lines(40), st.integers(0, 2**31), st.lists(st.integers(0, 40), max_size=8), st.sampled_from(KEYS))
def test_windows_give_the_lines_of_the_whole(lines: list[str], mask: int, cuts: list[int], key: int) -> None:
    data = to_bytes(lines, mask)
    starts = [0]
    at = data.find(b"\n")
    while at >= 0:
        starts.append(at + 1)
        at = data.find(b"\n", at + 1)
    bounds = sorted({starts[min(c, len(starts) - 1)] for c in cuts} | {0, len(data)})
    scanner = BYTES.for_phase(key)
    pieces = [s for a, b in zip(bounds, bounds[1:]) for s in scanner.candidates(data, a, b)]
    assert pieces == scanner.candidates(data)


def test_every_sample_log_in_every_phase() -> None:
    for path in sorted(SAMPLE_LOGS.glob("*_alt_mig.log")):
        raw = LineDecoder().feed_bytes(path.read_bytes() + b"\n").data
        check([decode_line(x) for x in raw.split(b"\n")[:-1]], 0)


def user_rules(patterns: list[tuple[str, str]]) -> list[Signature]:
    text = "signatures:\n" + "".join(
        f"  - id: {rid}\n    pattern: {json.dumps(pattern)}\n    severity: warning\n    explanation: x\n    advice: y\n"
        for rid, pattern in patterns
    )
    return build_signatures(parse_yaml(text, "mine.yaml"), "mine.yaml")


def test_non_ascii_and_case_insensitive_literals_in_either_encoding() -> None:
    sigs = user_rules(
        [
            ("fr-echec", "(?i)échec de l'installation"),
            ("fr-exact", "Opération réussie"),
            ("kelvin", "(?i)kelvin scale"),
        ]
    )
    rules = RuleSet(RULES.model, merge_signatures(RULES.signatures, [sigs]))
    scanners = build_scanner(rules)
    byte_scanners = ByteScannerSet(scanners.for_phase)
    lines = [
        "ÉCHEC DE L'INSTALLATION du fileset",
        "échec de l'installation",
        "Echec de l'installation",  # no accent: no match
        "Opération réussie",
        "OPÉRATION RÉUSSIE",  # case-sensitive rule: no match
        "\u212aELVIN SCALE",  # folds to "kelvin scale"
        "plain line",
    ]
    for mask in (0, 2**31 - 1):
        data = to_bytes(lines, mask)
        got = line_indexes(data, byte_scanners.for_phase(6).candidates(data))
        assert got == [0, 1, 3, 5], mask
        text = "".join(x + "\n" for x in lines)
        assert set(got) <= text_candidates(scanners.for_phase(6), text)


def test_a_pattern_without_literal_is_scanned_as_the_text_scanner_does() -> None:
    sigs = user_rules([("no-literal", r"[xq]{3}\s+z")])
    rules = RuleSet(RULES.model, merge_signatures(RULES.signatures, [sigs]))
    scanners = build_scanner(rules)
    byte_scanner = ByteScannerSet(scanners.for_phase).for_phase(6)
    assert byte_scanner.plan.slow
    lines = ["a xqx z", "b xxx", "   z c", "qqq\tz", "caf\xe9 xxx z", "nothing"]
    data = to_bytes(lines, 2**31 - 1)
    text = "".join(x + "\n" for x in lines)
    for a, b in ((0, len(data)), (8, len(data))):
        got = set(line_indexes(data, byte_scanner.candidates(data, a, b)))
        folded = fold(text)
        sa = len(decode_line(data[:a]))
        want = {text.count("\n", 0, s) for s in scan_text(scanners.for_phase(6), text, sa, folded)}
        assert got == want
    assert 2 in got  # the match "xxx\n   z" spans two lines: both are candidates


# --------------------------------------------------------------------------- literals and anchors


def test_tcb_signature_gets_a_literal_prefilter() -> None:
    sig = RULES.signature("tcb-enabled-nfs-mode")
    assert sig is not None
    assert prefilter_literals(sig.pattern) == (["tcb", "trusted computing base"], True)
    assert line_local(sig.pattern)
    plan = BYTES.for_phase(0).plan
    assert not plan.slow
    assert {s.text for s in plan.specs if s.confirm is not None} == {"tcb", "trusted computing base"}


@pytest.mark.parametrize(
    ("pattern", "local"),
    [
        (r"abc def", True),
        (r"abc.{0,20}def", True),
        (r"(?s)abc.def", False),
        (r"abc\s+def", False),
        (r"abc[^x]def", False),
        (r"(?<=x)abc", False),
        (r"abc(?=\s)", False),
        (r"\Aabc", False),
        (r"^abc\b$", True),
        (r"abc[a-z ]+", True),
        (r"abc[\t-\r]", False),
    ],
)
def test_line_local_patterns(pattern: str, local: bool) -> None:
    assert line_local(re.compile(pattern)) is local


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"foo(?:bar|baz)qux", (["foobarqux", "foobazqux"], False)),
        (r"(?i)\bNIM(?:sh|adm)\b", (["nimadm", "nimsh"], True)),
        (r"ab", None),
        (r"x[yz]{2}w", None),
        (r"\d{4}-\d{3} Installp", ([" Installp"], False)),
    ],
)
def test_prefilter_literals(pattern: str, expected: Optional[tuple[list[str], bool]]) -> None:
    assert prefilter_literals(re.compile(pattern)) == expected


def test_anchors_cover_every_literal_and_leave_digits_to_the_code_scan() -> None:
    for key in KEYS:
        for scanners in (BYTES, ESTIMATED):
            scanner = scanners.for_phase(key)
            anchors = scanner.anchors.bytes
            assert not anchors & DIGITS and ord("-") in anchors
            for spec, k in scanner.anchors.positions.items():
                assert ord(spec.text[k]) in anchors or ord(spec.text[k].swapcase()) in anchors


def test_stored_anchors_that_do_not_fit_are_recomputed() -> None:
    plan = BYTES.for_phase(6).plan
    wrong = AnchorData(frequencies={ord("e"): 1}, stored={plan.key: frozenset(b"-Q")})
    chosen = choose_anchors(plan, wrong)
    assert chosen.source == "measured" and chosen.bytes != frozenset(b"-Q")


def test_missing_anchor_data_is_estimated() -> None:
    assert ESTIMATED.for_phase(6).anchors.source == "estimated"
    assert BYTES.for_phase(6).anchors.source in ("estimated", "measured")


# --------------------------------------------------------------------------- end to end through the parser


class TextReader:
    """:class:`LogReader` as it was before the byte scan: the decoder's text, the parser's text scanners."""

    def __init__(self) -> None:
        self.decoder = TextDecoder()
        self.parser = TextParser(RULES, "lpar1")

    def feed(self, chunk: bytes) -> list[Event]:
        return self._parse(self.decoder.feed(chunk))

    def close(self) -> list[Event]:
        events = self._parse(self.decoder.flush())
        events.extend(self.parser.close())
        return events

    def _parse(self, block: Any) -> list[Event]:
        if not block.count:
            return []
        base = self.parser.line_no
        events: list[Event] = [
            BadLine(base + index + 1, f"line of {length} bytes cut to {self.decoder.max_line}")
            for index, length in block.cut_lines
        ]
        events.extend(self.parser.feed(block.text))
        return events


def parse(data: bytes, cuts: list[int], reader: Any = None) -> list[Event]:
    reader = reader or LogReader(RULES, "lpar1")
    events: list[Event] = []
    pos = 0
    for cut in sorted(set(cuts)):
        events.extend(reader.feed(data[pos:cut]))
        pos = cut
    events.extend(reader.feed(data[pos:]))
    events.extend(reader.close())
    return events


def both(monkeypatch: pytest.MonkeyPatch, data: bytes, cuts: list[int], mask: int) -> Iterator[list[Event]]:
    """The events of the text path (``TextParser.feed``) and of the byte path (``LogReader``, ``feed_bytes``)."""
    calls = []
    candidates = ByteScanner.candidates
    with monkeypatch.context() as m:
        m.setattr(ByteScanner, "candidates", lambda self, *args: calls.append(1) or candidates(self, *args))
        yield parse(data, cuts, TextReader())
        assert not calls
        yield parse(data, cuts)
    assert calls or not data.strip()


def test_parser_on_byte_candidates_gives_the_same_events_on_sample_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    for path in sorted(SAMPLE_LOGS.glob("*_alt_mig.log")):
        data = path.read_bytes()
        old, new = both(monkeypatch, data, [len(data) // 3], 0)
        assert old == new, path.name


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(log_lines(25), st.integers(0, 2**31), st.lists(st.integers(0, 4000), max_size=5), st.data())
def test_parser_on_byte_candidates_gives_the_same_events(
    monkeypatch: pytest.MonkeyPatch, lines: list[str], mask: int, cuts: list[int], draw: Any
) -> None:
    structure = [
        "Initializing the NIM master.",
        *banner(draw.draw(st.integers(1, 12))).splitlines(),
    ]
    pick = draw.draw(st.lists(st.integers(0, len(lines)), max_size=3))
    merged = list(lines)
    for at in sorted(pick, reverse=True):
        merged[at:at] = structure
    data = to_bytes(merged, mask)
    old, new = both(monkeypatch, data, cuts, mask)
    assert old == new


# --------------------------------------------------------------------------- the decoder's byte output


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"abc\n", b"caf\xe9\n", "é\n".encode(), b"\r\n", b"\x00", b"x" * 90, b"\n"])
        | st.binary(max_size=40),
        max_size=30,
    ),
    st.lists(st.integers(0, 3000), max_size=10),
)
def test_feed_bytes_decodes_to_what_feed_gives(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    text_decoder, byte_decoder = TextDecoder(64), LineDecoder(64)
    texts, raws = [], []
    pos = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        chunk = data[pos:cut] if cut >= pos else b""
        pos = max(pos, cut)
        block = text_decoder.feed(chunk)
        raw = byte_decoder.feed_bytes(chunk)
        assert (block.count, block.cut_lines) == (raw.data.count(b"\n"), raw.cut_lines)
        assert b"\r" not in raw.data and b"\x00" not in raw.data
        texts.append(block.text)
        raws.append(raw.data)
    texts.append(text_decoder.flush().text)
    raws.append(byte_decoder.flush_bytes().data)
    joined = b"".join(raws)
    assert "".join(texts) == "".join(decode_line(x) + "\n" for x in joined.split(b"\n")[:-1])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    log_lines(60),
    st.integers(0, 2**31),
    st.lists(st.tuples(st.sampled_from(KEYS), st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=10),
)
def test_a_blocks_windows_give_the_same_lines_translated_alone_or_with_the_block(
    lines: list[str], mask: int, windows: list[tuple[int, int, int]]
) -> None:
    """``ByteLines`` translates a small window alone and a large one with its whole block (kept for the
    block's next windows): in any order, each window gives the lines of the block's own translation."""
    from nimwatch.core.blocks import SMALL_WINDOW, ByteLines

    data = to_bytes(lines, mask)
    starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == 10]
    block = ByteLines(data, SCANNERS)
    for key, a, b in windows:
        lo, hi = sorted((starts[min(a, len(starts) - 1)], starts[min(b, len(starts) - 1)]))
        scanner = SCANNERS.bytes.for_phase(key)
        cached = id(scanner.table) in block._translated
        expected = scanner.candidates(data, lo, hi, data.translate(scanner.table), data.isascii())
        assert block.candidates(key, lo, hi) == expected
        if not cached and lo < hi:
            small = (hi - lo) * SMALL_WINDOW < len(data)
            assert (id(scanner.table) in block._translated) is not small


def test_a_small_window_is_translated_alone_and_a_large_one_with_its_block() -> None:
    from nimwatch.core.blocks import ByteLines

    data = (SAMPLE_LOGS / "web73_alt_mig.log").read_bytes()
    data = data[: data.rindex(b"\n") + 1]
    first = data.index(b"\n") + 1
    block = ByteLines(data, SCANNERS)
    table = SCANNERS.bytes.for_phase(6).table
    block.candidates(6, 0, first)  # one line of a large block: no translation of the block for it
    assert id(table) not in block._translated
    block.candidates(6, 0, len(data))
    assert block._translated[id(table)] == data.translate(table)
