"""Drawing the TUI on a terminal whose character set is not Unicode (AIX's ISO8859-1 ``en_US``).

Owns :func:`ascii_driver` and :func:`to_charset` (:func:`nimwatch.terminal.for_encoding`
with stand-ins that keep every width). The app lays out its screen
as usual; the driver, the last step before the terminal, replaces every
character the output's encoding cannot show by a stand-in of the same width:
nimwatch's symbols by their ASCII forms (``▶`` ``>``, ``✔`` ``+``, ``✖`` ``X``,
``‖`` ``!``, ``█`` ``#``, ``░`` ``-``), Textual's box drawing by ``- | +``,
its partial blocks (scrollbars, tab underlines) by ``#`` or a blank, anything
else by ``?`` (``??`` for a double-width character). Characters the encoding
has (``é`` in ISO8859-1) stay. Nothing moves: every stand-in is as wide as
what it replaces.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rich.cells import cell_len

from nimwatch.terminal import for_encoding

SYMBOLS = {
    "▶": ">",
    "✔": "+",
    "✓": "+",
    "✖": "X",
    "✗": "X",
    "‖": "!",
    "·": ".",
    "…": ".",
    "—": "-",
    "\u2013": "-",  # en dash
    "▲": "^",
    "▼": "v",
    "►": ">",
    "◄": "<",
    "→": ">",
    "←": "<",
    "↑": "^",
    "↓": "v",
    "•": "*",
    "█": "#",
    "▓": "#",
    "▒": "#",
    "░": "-",
    "■": "#",
    "▌": "|",
    "▐": "|",
    "“": '"',
    "”": '"',
    "\u2018": "'",
    "\u2019": "'",
    "≤": "<",
    "≥": ">",
}
"""Stand-ins of exactly one cell for the symbols nimwatch and Textual draw."""


def _stand_in(char: str) -> str:
    known = SYMBOLS.get(char)
    if known is not None:
        return known
    code = ord(char)
    if 0x2500 <= code <= 0x257F:  # box drawing: by the directions in its name
        name = unicodedata.name(char, "")
        across = any(word in name for word in ("HORIZONTAL", "LEFT", "RIGHT"))
        down = any(word in name for word in ("VERTICAL", " UP", "DOWN"))
        return "+" if across and down else "|" if down else "-"
    if 0x2580 <= code <= 0x259F:  # block elements: scrollbar thumbs, tab underlines
        return " "
    return "?" * max(1, cell_len(char))


def to_charset(text: str, encoding: str, cache: dict[str, str]) -> str:
    """``text`` with every character ``encoding`` lacks replaced by a stand-in of the same width."""
    return for_encoding(text, encoding, _stand_in, cache)


def ascii_driver(base: type[Any], encoding: str) -> type[Any]:
    """A subclass of Textual's driver ``base`` that writes only what ``encoding`` can show."""
    cache: dict[str, str] = {}

    class CharsetDriver(base):
        def write(self, data: str) -> None:
            super().write(to_charset(data, encoding, cache))

    CharsetDriver.__name__ = f"Charset{base.__name__}"
    return CharsetDriver
