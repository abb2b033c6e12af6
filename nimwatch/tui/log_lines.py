"""The text of one log for the log view: read once, then only what was appended.

Owns :class:`LogLines` and :func:`line_kind`. The engine keeps no log text,
so the log view reads the file itself, but never further than the engine
has read (``limit``): a replay shows only the lines fed so far, a live view
only what the parser has seen. Lines decode like the core does (UTF-8, else
ISO-8859-1; CR and NUL dropped); any other control character is shown
escaped (``\x1b``), never sent to the terminal. Pure Python.
"""

from __future__ import annotations

import re
from typing import Optional

from nimwatch.terminal import escape_controls

MAX_LINE_CHARS = 4096
"""Characters of a line kept for display (the parser cuts at 64 KiB; nobody reads more on screen)."""
BANNER = re.compile(r"^(?:Executing nimadm phase \d+\.|\+-{20,}\+$)")
"""nimadm's phase banner and the rules around it."""
ERRORISH = re.compile(r"\b(?:error|failed|failure|cannot|unable to)\b", re.IGNORECASE)
WARNINGISH = re.compile(r"\bwarning\b", re.IGNORECASE)


def _decode(raw: bytes) -> str:
    raw = raw.replace(b"\r", b"").replace(b"\x00", b"")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return escape_controls(text[:MAX_LINE_CHARS].expandtabs(8))


def line_kind(text: str, finding_severity: Optional[str] = None) -> str:
    """How a line is highlighted: banner, error, warning or plain.

    A finding on the line decides; otherwise nimadm's banners and the words
    error/failed/warning do.
    """
    if finding_severity in ("error", "warning"):
        return finding_severity
    if BANNER.match(text):
        return "banner"
    if ERRORISH.search(text):
        return "error"
    if WARNINGISH.search(text):
        return "warning"
    return "plain"


class LogLines:
    """The decoded lines of a log file, growing as the file grows."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: list[str] = []
        self._offset = 0
        self._partial = b""
        self.error: Optional[str] = None

    def load(self, limit: int) -> bool:
        """Make at least ``limit`` lines available when the file has them; True when lines were added."""
        if len(self.lines) >= limit:
            return False
        try:
            with open(self.path, "rb") as handle:
                handle.seek(0, 2)
                size = handle.tell()
                if size < self._offset:
                    self.lines, self._offset, self._partial = [], 0, b""
                handle.seek(self._offset)
                data = handle.read(size - self._offset)
        except OSError as exc:
            self.error = f"{self.path}: {exc.strerror or exc}"
            return False
        self.error = None
        self._offset += len(data)
        data = self._partial + data
        parts = data.split(b"\n")
        self._partial = parts.pop()
        before = len(self.lines)
        self.lines.extend(_decode(part) for part in parts)
        if self._partial and len(self.lines) < limit:
            self.lines.append(_decode(self._partial))
            self._partial = b""
        return len(self.lines) > before
