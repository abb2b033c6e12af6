"""Text from logs and file names, made safe to show on a terminal.

Owns :func:`escape_controls`. A log line or a file name may
hold ESC, CR, BEL, backspace, DEL, the C1 controls (U+0080-U+009F, which some
terminals obey as well) or Unicode direction overrides: shown raw they could
retitle the terminal, move the cursor or hide text. Every view that shows such
text (the TUI, ``status``, reports) passes it through :func:`escape_controls`,
which writes each control as a visible escape (``\\x1b``, ``\\r``, ``\\x9b``,
``\\u202e``); newline and tab stay. Pure; no Textual.

(The hardening work, issue 9, writes a fuller module of the same name, with
output encoding and stream writers; this one holds the part the views need,
with the same names and the same escapes.)
"""

from __future__ import annotations

import re

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\udc80-\udcff]")
_NAMED = {"\x00": "\\0", "\x08": "\\b", "\x0b": "\\v", "\x0c": "\\f", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte a file name could not decode (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character but newline and tab shown as an escape (``\\x1b``, ``\\r``...)."""
    return _CONTROLS.sub(_visible, text) if _CONTROLS.search(text) else text
