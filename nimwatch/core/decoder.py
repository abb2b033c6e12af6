"""Bytes to text lines, robust to whatever an AIX log file holds.

Owns :class:`LineDecoder`: it takes byte chunks of any size (a tail read, a
replay block) and returns blocks of *complete* lines as clean bytes, so a
growing file and a whole file give exactly the same lines:

* lines end at ``\\n``; a partial last line is held until its newline (or
  :meth:`LineDecoder.flush_bytes` at end of input);
* ``\\r`` and NUL bytes are dropped (CRLF logs, NUL-padded files after a crash);
* each line is UTF-8 when it decodes as UTF-8, else ISO-8859-1 (AIX logs often
  are), decided per line (:func:`decode_line`, when the parser reads it) so
  that chunking cannot change the result;
* a line longer than ``max_line`` bytes is cut to its first ``max_line`` bytes
  (the rest is counted and dropped without being buffered) and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LINE_BYTES = 64 * 1024
"""Longest line kept for matching. Longer lines (a megabyte of installp noise,
a binary blob) are cut: every message nimwatch looks for fits in far less."""


@dataclass
class RawBlock:
    """Complete lines as clean bytes (cut to ``max_line``, CR and NUL dropped).

    Each line decodes with :func:`decode_line`. The lines are not counted here:
    the parser counts them as it reads.
    """

    data: bytes
    cut_lines: list[tuple[int, int]] = field(default_factory=list)
    """(line index within this block, original length in bytes) of each line that was cut."""


class LineDecoder:
    """Incremental, chunking-independent decoder from bytes to lines."""

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self._partial = bytearray()
        self._partial_len = 0  # true length of the partial line, including dropped bytes

    def feed_bytes(self, chunk: bytes) -> RawBlock:
        """The complete lines that ``chunk`` finishes, as clean bytes (cut, CR and NUL dropped), not decoded."""
        if not chunk:
            return RawBlock(b"")
        last_nl = chunk.rfind(b"\n")
        if last_nl < 0:
            self._hold(chunk)
            return RawBlock(b"")
        view = memoryview(chunk)
        cut: list[tuple[int, int]] = []
        if self._partial_len:
            # the held line, finished by this chunk's first newline: one copy of the block in all
            first_nl = chunk.find(b"\n")
            self._hold(view[:first_nl])
            if self._partial_len > self.max_line:
                cut.append((0, self._partial_len))
            data = b"".join((self._partial, view[first_nl : last_nl + 1]))
            self.reset()
        else:
            data = chunk if last_nl + 1 == len(chunk) else chunk[: last_nl + 1]
        data = self._cut_long(data, cut)  # the held line is already cut: it is never cut again
        self._hold(view[last_nl + 1 :])
        return RawBlock(clean(data), cut)

    def flush_bytes(self) -> RawBlock:
        """End of input: a last line without newline is returned as a complete line."""
        if not self._partial_len:
            return RawBlock(b"")
        cut = [(0, self._partial_len)] if self._partial_len > self.max_line else []
        data = bytes(self._partial) + b"\n"
        self.reset()
        return RawBlock(clean(data), cut)

    def reset(self) -> None:
        """Forget a held partial line (the file was truncated or replaced)."""
        self._partial = bytearray()
        self._partial_len = 0

    def _hold(self, data: bytes | memoryview) -> None:
        room = self.max_line - len(self._partial)
        if room > 0:
            self._partial += data[:room]
        self._partial_len += len(data)

    def _cut_long(self, data: bytes, cut: list[tuple[int, int]]) -> bytes:
        """Cut lines over max_line (rare: checked cheaply first)."""
        if len(data) <= self.max_line:
            return data
        # A line longer than max_line covers a whole aligned window of max_line // 2
        # bytes: only when some window has no newline is the exact (slow) cut needed.
        step = max(1, self.max_line // 2)
        if all(data.find(b"\n", w, w + step) >= 0 for w in range(0, len(data) - step + 1, step)):
            return data
        n = len(data)
        pieces: list[bytes] = []
        pos = start = line_index = 0
        while pos < n:
            nl = data.find(b"\n", pos)
            if nl < 0:
                nl = n
            length = nl - pos
            if length > self.max_line:
                pieces.append(data[start : pos + self.max_line])
                start = nl
                cut.append((line_index, length))
            pos = nl + 1
            line_index += 1
        if not pieces:
            return data
        pieces.append(data[start:])
        return b"".join(pieces)


def clean(data: bytes) -> bytes:
    """``data`` without CR and NUL bytes (CRLF logs, NUL-padded files after a crash)."""
    if b"\r" in data or b"\x00" in data:
        return data.translate(None, b"\r\x00")
    return data


def decode_line(raw: bytes) -> str:
    """One clean line (no newline): UTF-8 when it decodes as UTF-8, else ISO-8859-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def decode_block(data: bytes) -> str:
    """Clean lines: each UTF-8 when it decodes as UTF-8, else ISO-8859-1 (whole-block fast path first)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "\n".join(decode_line(raw) for raw in data.split(b"\n"))
