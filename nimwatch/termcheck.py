"""Can this terminal show the TUI? Asked before Textual is even imported.

Owns :func:`tui_problem` and :func:`needs_ascii`. The TUI needs its standard
input, output and error to be a terminal (Textual draws on standard error and
reads keys from standard input; a redirected output means a script, not a
person) and a ``TERM`` that can do what a full-screen Textual app does
(cursor addressing, colours, the alternate screen, mouse reports: an
xterm-compatible terminal, aixterm included). A VT100/VT220 (or ``dumb``, or
no ``TERM``) cannot: the TUI refuses and points to ``nimwatch status``, which
needs nothing but line output (and ``--watch``: clear screen and cursor home,
which a VT100 has).

The character set is the locale's (AIX's default ``en_US`` is ISO8859-1):
when the output's encoding cannot show the symbols and box drawing, the TUI
runs with the ASCII driver (:mod:`nimwatch.tui.ascii_driver`) instead of
refusing. Headless: no Textual.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Optional, TextIO

NOT_XTERM = ("vt52", "vt100", "vt102", "vt220", "vt320", "vt420", "dumb", "unknown", "network", "dialup")
"""TERM values (and their variants, ``vt100-am``...) of terminals that cannot show a full-screen Textual app."""
UNICODE_SAMPLE = "▶✔✖‖·█░━│┌▲▼…"
"""Symbols and box drawing the TUI shows: an output that cannot encode them gets the ASCII driver."""
FALLBACK = "`nimwatch status` prints the same dashboard as plain text (`nimwatch status --watch 10` redraws it)"


def _is_terminal(stream: Optional[TextIO]) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # a closed stream
        return False


def tui_problem(
    environ: Optional[Mapping[str, str]] = None,
    streams: Optional[tuple[Optional[TextIO], Optional[TextIO], Optional[TextIO]]] = None,
) -> Optional[str]:
    """Why the TUI cannot draw here (a sentence ending with what to do instead), or None."""
    env = os.environ if environ is None else environ
    stdin, stdout, stderr = streams if streams is not None else (sys.stdin, sys.stdout, sys.stderr)
    for name, stream in (("standard input", stdin), ("standard output", stdout), ("standard error", stderr)):
        if not _is_terminal(stream):
            return f"the TUI needs a terminal, and {name} is not one: {FALLBACK}"
    term = env.get("TERM", "").strip().lower()
    base = term.split("-")[0]
    if not term or base in NOT_XTERM:
        shown = f"TERM={term}" if term else "TERM is not set, and"
        return (
            f"{shown} cannot show the TUI (it needs an xterm-compatible terminal: colours, the alternate screen, "
            f"the mouse): {FALLBACK}. If your terminal emulator is xterm-compatible, run nimwatch with TERM=xterm"
        )
    return None


def needs_ascii(stream: Optional[TextIO] = None) -> bool:
    """The output's encoding (the locale's) cannot show the TUI's symbols: draw with ASCII instead."""
    stream = stream if stream is not None else sys.__stderr__
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        UNICODE_SAMPLE.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return True
    return False
