"""Text from commands made safe to print: no control characters, and ASCII when asked.

Command output is decoded as UTF-8 with ``surrogateescape`` (no byte is lost
and nothing fails on ISO8859-1 output); :func:`clean` turns control
characters and undecodable bytes into visible ``\\xNN`` escapes so that a
terminal never receives an escape sequence from a remote command, and
:func:`ascii_only` further escapes everything outside ASCII for output whose
encoding is unknown (the AIX default locale is ISO8859-1).
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the bidirectional marks and overrides (they reorder what a terminal shows after them),
# and undecodable bytes.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\udc80-\udcff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        code -= 0xDC00
    elif code > 0xFF:  # a bidirectional control
        return f"\\u{code:04x}"
    return f"\\x{code:02x}"


def decode(data: bytes) -> str:
    """Bytes from a command as text; undecodable bytes survive as escapes for :func:`clean`."""
    return data.decode("utf-8", errors="surrogateescape")


def clean(text: str) -> str:
    """``text`` without control characters (tab and newline kept) or undecodable bytes: they become ``\\xNN``."""
    return _UNSAFE.sub(_escape, text)


def clean_line(text: str) -> str:
    """One line for display: tabs and newlines escaped too."""
    return clean(text).replace("\t", "\\t").replace("\n", "\\n")


def ascii_only(text: str) -> str:
    """``text`` (already :func:`clean`) with every non-ASCII character as a backslash escape."""
    return text.encode("ascii", errors="backslashreplace").decode("ascii")
