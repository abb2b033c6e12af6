"""The one way nimwatch's commands write text for people: any terminal, any locale, no raw control bytes.

Owns :func:`escape_controls`, :func:`for_encoding`, :func:`write` and
:func:`say`. Commands print through these instead of writing to
``sys.stdout`` / ``sys.stderr`` themselves:

* **Control characters are shown, never sent.** Text from a log or a file name
  may hold ESC, CR, BEL, backspace, DEL or the C1 controls (U+0080-U+009F,
  which some terminals obey as well), and Unicode direction overrides. Each one
  is written as a visible escape: ``\\x1b``, ``\\r``, ``\\x7f``, ``\\x9b``,
  ``\\u202e``. Newline and tab stay as they are. A byte a file name could not
  decode (Python keeps it as a lone surrogate) is shown as ``\\xNN`` too. The
  escapes nimwatch itself means (the colours and screen clearing of ``status``)
  are written with ``raw=True``, after the text inside them was escaped.
* **Any encoding.** The stream's encoding decides (ISO8859-1 on AIX's
  ``en_US``, ASCII under ``LANG=C`` with ``PYTHONIOENCODING``): nimwatch's
  symbols that it cannot encode become their ASCII stand-ins (:data:`ASCII`,
  e.g. ``✔`` -> ``+``, ``—`` -> ``-``), anything else it cannot encode becomes
  ``?``. Nothing is ever lost to a ``UnicodeEncodeError``, and such an error is
  never mistaken for a closed pipe: only ``BrokenPipeError`` (and writing to a
  closed stream) means the reader is gone.

JSON output does not come through here: it is written with
``ensure_ascii=True``, which is valid in every encoding and escapes control
characters itself.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from typing import Callable, Optional, TextIO

ASCII = {
    "✔": "+",
    "✓": "+",
    "✖": "X",
    "✗": "X",
    "▲": "!",
    "·": ".",
    "…": "...",
    "—": "-",
    "\u2013": "-",  # en dash
    "→": "->",
    "←": "<-",
    "▶": ">",
    "‖": "||",
    "█": "#",
    "░": "-",
    "■": "#",
    "•": "*",
    "§": "S",
    "\u00d7": "x",  # multiplication sign
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u00a0": " ",
}
"""ASCII stand-ins for the symbols nimwatch prints, used where the output encoding lacks them."""

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\udc80-\udcff]")
_NAMED = {"\r": "\\r", "\x08": "\\b", "\x0b": "\\v", "\x0c": "\\f", "\x00": "\\0"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code > 0xFF:
        return f"\\u{code:04x}"
    return f"\\x{code:02x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character except newline and tab made visible (``\\x1b``, ``\\r``...)."""
    return _CONTROLS.sub(_escape, text)


def stream_encoding(stream: Optional[TextIO]) -> str:
    """The encoding a text stream writes in (UTF-8 when it does not say)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".encode(encoding)
    except LookupError:
        return "ascii"
    return str(encoding)


def for_encoding(
    text: str,
    encoding: str,
    stand_in: Callable[[str], str] = lambda ch: ASCII.get(ch, "?"),
    cache: Optional[dict[str, str]] = None,
) -> str:
    """``text`` made encodable in ``encoding``: nimwatch's symbols to ASCII, anything else to ``?``.

    ``stand_in`` picks what replaces a character the encoding lacks (default: its :data:`ASCII` form, else
    ``?``; the TUI's ASCII driver keeps every cell width); ``cache`` remembers each character's
    answer for a caller that writes the same few symbols again and again.
    """
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    cache = {} if cache is None else cache  # each non-ASCII character -> what is written for it
    out = []
    for ch in text:
        if ch >= "\x80" and ch not in cache:
            try:
                ch.encode(encoding)
                cache[ch] = ch
            except UnicodeEncodeError:
                cache[ch] = stand_in(ch)
        out.append(cache.get(ch, ch))
    return "".join(out)


def printable(text: str, stream: Optional[TextIO] = None) -> str:
    """What :func:`write` would write for ``text`` on ``stream`` (default stdout)."""
    return for_encoding(escape_controls(text), stream_encoding(stream if stream is not None else sys.stdout))


def can_encode(text: str, stream: Optional[TextIO] = None) -> bool:
    """Whether ``stream`` (default stdout) can show ``text`` as it is (e.g. a UTF-8 progress bar)."""
    try:
        text.encode(stream_encoding(stream if stream is not None else sys.stdout))
    except UnicodeEncodeError:
        return False
    return True


def write(text: str, stream: Optional[TextIO] = None, *, raw: bool = False, flush: bool = True) -> None:
    """Write ``text`` to ``stream`` (default stdout), escaped and encodable.

    ``raw``: control characters are nimwatch's own (colours, clear screen) and
    pass; the text inside them must have been escaped already. Raises
    ``BrokenPipeError`` when the reader is gone (callers decide what that means).
    """
    stream = stream if stream is not None else sys.stdout
    safe = for_encoding(text if raw else escape_controls(text), stream_encoding(stream))
    stream.write(safe)
    if flush:
        stream.flush()


def say(message: str, stream: Optional[TextIO] = None) -> None:
    """One diagnostic; never raises.

    Without ``stream`` it goes through the ``nimwatch`` logger (:mod:`nimwatch.logsetup`: timestamped and
    levelled, to stderr or ``--log-file``, control characters escaped). With a stream (a usage error the CLI
    prints before anything else) it is one line, ``nimwatch: message``, escaped for that stream. stderr may be
    a closed terminal or a service without a log: then there is nowhere left to say it, and nothing else
    should fail because of that.
    """
    if stream is None:
        logging.getLogger("nimwatch").warning("%s", message)
        return
    with contextlib.suppress(OSError, ValueError):
        write(f"nimwatch: {message}\n", stream)
