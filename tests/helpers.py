"""Helpers shared by the tests: paths and parsing text through the real engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from nimwatch.alerts.message import alert_body
from nimwatch.alerts.sink import Sink
from nimwatch.core.reader import LogReader
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState
from nimwatch.journal import Journal
from nimwatch.vocabulary import Notice

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LOGS = ROOT / "sample_logs"
REFERENCE = ROOT.parent / "shared" / "reference"
RULE = "+" + "-" * 77 + "+"


def notice_count(journal: Journal) -> int:
    """Rows in the journal's ``notices`` table (the keys of the notices delivered)."""
    return int(journal._query("SELECT COUNT(*) FROM notices")[0][0])


def spool_keys(journal: Journal, sink: str, state: str) -> list[str]:
    """The keys of ``sink``'s spooled alerts in ``state`` (``pending``, ``sent``, ``rejected``), oldest first."""
    rows = journal._query("SELECT key FROM spool WHERE sink = ? AND state = ? ORDER BY id", (sink, state))
    return [row[0] for row in rows]


def banner(phase: int) -> str:
    return f"{RULE}\nExecuting nimadm phase {phase}.\n{RULE}\n"


def parse_bytes(rules: RuleSet, data: bytes, client: str = "lpar1", chunks: Optional[list[int]] = None) -> LogState:
    """Parse ``data`` as one log (optionally cut into chunks of the given sizes) into its state."""
    reader = LogReader(rules, client)
    state = LogState("test.log", client)
    pos = 0
    for size in chunks or []:
        for event in reader.feed(data[pos : pos + size]):
            state.apply(event)
        pos += size
    for event in reader.feed(data[pos:]):
        state.apply(event)
    for event in reader.close():
        state.apply(event)
    return state


def parse_text(rules: RuleSet, text: str, client: str = "lpar1") -> LogState:
    return parse_bytes(rules, text.encode("utf-8"), client)


class KeptSink(Sink):
    """An alert sink that delivers into a list (its choices and payloads are the real ones)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[dict[str, Any]] = []

    def render(self, notice: Notice, key: str) -> dict[str, Any]:
        return alert_body(notice, key)

    def send(self, payload: dict[str, Any]) -> None:
        self.sent.append(payload)
