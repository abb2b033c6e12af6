"""What every AIX output parser shares: lines without CR or trailing blanks, and found-line evidence."""

from __future__ import annotations

import re

_SPACES = re.compile(r"\s+")


def lines(text: str) -> list[str]:
    """The lines of ``text`` with CR and trailing blanks removed (copies pasted from Windows keep CRs)."""
    return [line.replace("\r", "").rstrip() for line in text.splitlines()]


def squeeze(line: str) -> str:
    """One line with runs of blanks collapsed to one space (copies collapse spaces, so columns cannot be trusted)."""
    return _SPACES.sub(" ", line).strip()


def first_int(text: str) -> int | None:
    """The first whole number in ``text`` (None when there is none)."""
    match = re.search(r"-?\d+", text)
    return int(match.group(0)) if match else None
