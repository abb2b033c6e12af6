"""Bytes of one log in, events out: the byte decoder and the parser together.

Owns :class:`LogReader`, what every source (tail, replay, report) feeds with
whatever bytes it read. The decoder keeps lines as clean bytes (cut to the
longest line kept, CR and NUL dropped) and the parser decodes only the lines
that can matter; lines that were cut come out as :class:`BadLine` events.
"""

from __future__ import annotations

from typing import Optional

from nimwatch.core.decoder import MAX_LINE_BYTES, LineDecoder, RawBlock
from nimwatch.core.events import BadLine, Event
from nimwatch.core.parser import LogParser, ScannerSet
from nimwatch.core.rules import RuleSet


class LogReader:
    """The decoder and the parser of one log.

    Args:
        rules: the compiled rules.
        client: the client name from the file name ('' to take it from the log).
        scanner: the scanners shared by every log of the process (built when not given:
            pass one when reading many logs, building costs milliseconds per phase).
        max_line: longest line kept, in bytes (longer lines are cut and reported).
        first_run: numbers the first run (a truncated log parsed anew continues the numbering).
    """

    def __init__(
        self,
        rules: RuleSet,
        client: str = "",
        scanner: Optional[ScannerSet] = None,
        max_line: int = MAX_LINE_BYTES,
        first_run: int = 1,
    ) -> None:
        self.decoder = LineDecoder(max_line)
        self.parser = LogParser(rules, client, scanner, first_run)

    def feed(self, chunk: bytes) -> list[Event]:
        return self._parse(self.decoder.feed_bytes(chunk))

    def close(self) -> list[Event]:
        events = self._parse(self.decoder.flush_bytes())
        events.extend(self.parser.close())
        return events

    def reset(self) -> None:
        """The file was truncated or replaced: drop any held partial line."""
        self.decoder.reset()

    def _parse(self, block: RawBlock) -> list[Event]:
        if not block.data:
            return []
        base = self.parser.line_no
        events: list[Event] = [
            BadLine(base + index + 1, f"line of {length} bytes cut to {self.decoder.max_line}")
            for index, length in block.cut_lines
        ]
        events.extend(self.parser.feed_bytes(block.data))
        return events
