"""What a live source hands its sink: :class:`FileIdentity`, :class:`Chunk`, :class:`FeedSink`, :class:`EngineSink`.

Owns the types the tailer (:mod:`nimwatch.sources.tail`), the journal and the
recorder share, so that the journal and the recorder never import a source:
which file a log's name pointed to and how far it was read, where the bytes
of one ``feed`` call came from, the sink's interface, and the plain sink that
hands everything straight to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class FileIdentity:
    """What a log's name pointed to and how far it was read.

    ``generation`` counts the contents seen under one name (1 for the first;
    each rotation or truncation adds one), so that a re-run written over the
    same inode is never taken for the content already alerted on.
    ``prefix_hash`` is the SHA-1 of the first ``offset`` bytes.
    """

    dev: int
    ino: int
    generation: int = 1
    offset: int = 0
    head_len: int = 0
    head_hash: str = ""
    prefix_hash: str = ""


@dataclass(frozen=True)
class Chunk:
    """Where the bytes of one ``feed`` call came from."""

    start: int
    """Offset of the first byte."""
    identity: FileIdentity
    """The file after these bytes (``identity.offset`` is the end of the chunk)."""
    historic: bool = False
    """An earlier session already processed these bytes (resume): the sink may re-stamp their arrival."""
    backlog: bool = False
    """History found at first start: the log had no journal entry and was last written long ago
    (``backlog_hours``). Its events are recorded and shown, not alerted or hooked."""


class FeedSink(Protocol):
    """Where the tailer hands what it reads (called in the reader thread, in file order).

    Sinks may also have ``replaced(log, at, fields)`` (the file under a log's name changed while
    nimwatch was down), ``snapshot_offset(log, generation)`` and ``restore(log, identity)``
    (resume a log from a saved state instead of byte 0): the tailer uses them when they exist.
    """

    def feed(self, log: str, data: bytes, at: float, chunk: Chunk) -> None: ...

    def restart(self, log: str, reason: str, at: float, old: FileIdentity, new: FileIdentity) -> None: ...


class EngineSink:
    """The plain sink: straight into the engine (the tailer's default; the TUI's tests)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def feed(self, log: str, data: bytes, at: float, chunk: Chunk) -> None:
        self.engine.feed(log, data, at)

    def restart(self, log: str, reason: str, at: float, old: FileIdentity, new: FileIdentity) -> None:
        self.engine.restart(log, reason, at)

    def replaced(self, log: str, at: float, fields: dict[str, Any]) -> None:
        self.engine.replaced(log, at, fields)
