"""No two of nimwatch's control-character escapers are the same: on which characters they differ, proved.

``terminal.escape_controls`` (text a command prints: tab and newline kept, ``\\r``/``\\b``/``\\0`` by
name, bidi overrides escaped, a file name's undecodable byte as ``\\xNN``; ``terminal.printable`` then
fits it to the stream's encoding with ``?`` and ASCII stand-ins), ``aix.text.clean`` (a remote
command's output: every control as ``\\xNN``, its undecodable bytes too, bidi overrides as ``\\uNNNN``; ``ascii_only``
after it for a report of unknown encoding), ``views.fleet_text.printable`` (a Prometheus label in a
table cell: tab and newline as ``\\x09``/``\\x0a``, bidi overrides as ``\\uNNNN``, a lone surrogate as ``\\uNNNN``, non-ASCII escaped
when asked; the TUI's fleet screen uses ``escape_controls`` with tab and newline escaped by name,
``tui.fleet_lines.one_line``) and ``commands.anchors.printable`` (Python's own escapes, ASCII only).
Each maps one character at a time, so the characters on which two differ say everything: pinned here.
"""

from __future__ import annotations

import io
from typing import Callable

from hypothesis import given
from hypothesis import strategies as st

from nimwatch.aix.text import ascii_only, clean, clean_line
from nimwatch.commands.anchors import printable as anchors_printable
from nimwatch.terminal import escape_controls, printable
from nimwatch.tui.fleet_lines import one_line
from nimwatch.views.fleet_text import printable as fleet_printable


def _on(encoding: str) -> Callable[[str], str]:
    stream = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    return lambda text: printable(text, stream)


ESCAPERS: dict[str, Callable[[str], str]] = {
    "terminal": escape_controls,
    "terminal_utf8": _on("utf-8"),
    "terminal_latin1": _on("iso8859-1"),
    "terminal_ascii": _on("ascii"),
    "aix": clean,
    "aix_line": clean_line,
    "aix_ascii": lambda t: ascii_only(clean(t)),
    "aix_ascii_line": lambda t: ascii_only(clean_line(t)),
    "fleet": fleet_printable,
    "fleet_ascii": lambda t: fleet_printable(t, ascii_only=True),
    "tui_line": one_line,
    "anchors": anchors_printable,
}
BIDI = {chr(c) for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}
BYTES = {chr(c) for c in range(0xDC80, 0xDD00)}  # undecodable bytes, as surrogateescape keeps them
SURROGATES = {chr(c) for c in range(0xD800, 0xE000)}
DIFFER = {
    ("terminal", "aix"): set("\0\b\v\f\r"),
    ("tui_line", "aix_line"): set("\0\b\v\f\r"),
    ("aix", "aix_line"): set("\t\n"),
    ("aix", "fleet"): set("\t\n") | SURROGATES,
    ("aix_ascii", "fleet_ascii"): set("\t\n") | BYTES,
    ("aix_ascii_line", "anchors"): {"\r"} | BYTES,
    ("fleet_ascii", "anchors"): set("\t\n\r"),
}
"""The characters on which two escapers differ (the closest pairs; no two are the same)."""

DOMAIN = {chr(c) for c in (*range(0x3000), *range(0xD700, 0xE100), 0xFEFF, 0xFFFD, 0x10000, 0x1F600, 0x10FFFF)}
TEXT = st.lists(
    st.one_of(
        st.characters(blacklist_categories=()),  # any code point, lone surrogates included
        st.sampled_from(sorted(BIDI | set("\0\a\b\t\n\v\f\r\x1b\x7f\x85\x9b\xa0\xe9\xff\ud800\udc80\udc9b\udcff"))),
        st.sampled_from(["\x1b[31m", "\x1b]2;PWNED\x07", "\x9b2J", "\r\n", "caf\u00e9", "\u2603", "\U0001f600"]),
    )
).map("".join)


def test_two_escapers_differ_on_exactly_these_characters() -> None:
    for (a, b), expected in DIFFER.items():
        assert {c for c in DOMAIN if ESCAPERS[a](c) != ESCAPERS[b](c)} == expected & DOMAIN, (a, b)
    for a in ESCAPERS:
        for b in ESCAPERS:
            if a < b and (a, b) not in DIFFER and (b, a) not in DIFFER:
                assert any(ESCAPERS[a](c) != ESCAPERS[b](c) for c in DOMAIN), (a, b)  # no two are the same


@given(TEXT)
def test_each_escaper_maps_one_character_at_a_time(value: str) -> None:
    for name, escape in ESCAPERS.items():
        assert escape(value) == "".join(escape(c) for c in value), name


@given(TEXT)
def test_two_escapers_agree_on_any_text_without_those_characters(value: str) -> None:
    for (a, b), differ in DIFFER.items():
        assert (ESCAPERS[a](value) == ESCAPERS[b](value)) == differ.isdisjoint(value), (a, b)


def test_no_escaper_lets_a_bidirectional_override_through() -> None:
    # U+202E and its kin reorder what a terminal shows after them (a "Trojan Source" line in a log, a command's
    # output or a Prometheus label): every escaper writes them as visible escapes.
    for name, escape in ESCAPERS.items():
        for char in sorted(BIDI):
            assert escape(f"a{char}b") == f"a\\u{ord(char):04x}b", (name, hex(ord(char)))
