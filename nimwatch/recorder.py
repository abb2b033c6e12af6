"""Exactly-once delivery for ``nimwatch watch``: the journal between the engine and the outputs.

Owns :class:`Recorder`, the tailer's sink when a journal is used. For every
batch the tailer reads it feeds the engine, gives each public notice its
dedupe key (log, file identity and generation, run within that content,
event, phase, line, rule, occurrence), and in ONE journal transaction records
how far the file was read, when it arrived, which notices are new and the
alerts they spool. Only after the commit are the new notices forwarded
(stdout, alert workers, metrics). A notice whose key the journal holds was
delivered by an earlier session and is suppressed.

On restart the tailer re-reads each file from byte 0; bytes an earlier session
already read come flagged ``historic`` and are fed with the arrival times the
journal recorded for them (checkpoints), so the rebuilt state has the original
phase start and end times.
"""

from __future__ import annotations

import bisect
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Optional

from nimwatch.engine import Engine, Notice
from nimwatch.journal import FileRecord, Journal
from nimwatch.sources.tail import Chunk, FileIdentity

CHECKPOINT_EVERY = 1.0
"""Seconds between arrival checkpoints of a log that produces no notices (lines only)."""

UNJOURNALED = frozenset({"hook_result", "alert_failed"})


def outside_key(notice: Notice) -> str:
    """What tells apart two NIM state notices of the same run and phase: the state itself."""
    if notice.event != "nim_state":
        return ""
    return ":".join(str(notice.get(k) or "") for k in ("cstate", "info", "result", "error"))
"""Public notices about delivery itself: live only, never replayed, so never journaled."""

Planner = Callable[[Notice, str], None]
"""Called inside the journal transaction for each new public notice (with its key): spools alerts."""


@dataclass
class _Content:
    """One content (generation) of one log in this session."""

    identity: FileIdentity
    base: int
    """Runs the engine had for this log before this content began (keys use run - base)."""
    counts: dict[str, int] = field(default_factory=dict)
    checkpoints: list[tuple[int, float]] = field(default_factory=list)
    cp_offsets: list[int] = field(default_factory=list)
    last_checkpoint_at: float = 0.0


class Recorder:
    """The journal-backed :class:`~nimwatch.sources.tail.FeedSink`.

    Args:
        engine: the engine to feed; the recorder also subscribes to it for notices
            published outside a read (stalls, hook results, alert failures).
        journal: the state journal.
        forward: receives every new public notice, after it is committed.
        on_new: also receives every new public notice after the commit, with its dedupe key
            (stable across restarts and file generations: the hooks' once-key).
        planner: spools alerts for a new notice inside the same transaction.
        on_error: diagnostics (journal write errors, bad lines).
    """

    def __init__(
        self,
        engine: Engine,
        journal: Journal,
        *,
        forward: Callable[[Notice], None],
        planner: Optional[Planner] = None,
        on_error: Optional[Callable[[str], None]] = None,
        on_new: Optional[Planner] = None,
    ) -> None:
        self.engine = engine
        self.journal = journal
        self.forward = forward
        self.on_new = on_new
        self.planner = planner
        self.on_error = on_error or (lambda message: None)
        self._records: dict[str, FileRecord] = journal.file_records()
        self._contents: dict[str, _Content] = {}
        self._local = threading.local()
        self._lock = threading.RLock()
        self.suppressed = 0
        """Notices found already delivered (replayed from the start of a file)."""
        self._unsubscribe = engine.subscribe(self._on_notice)

    def close(self) -> None:
        self._unsubscribe()

    # ------------------------------------------------------------------ FeedSink

    def feed(self, log: str, data: bytes, at: float, chunk: Chunk) -> None:
        content = self._content_for(log, chunk.identity)
        if not chunk.historic:
            with self._batch() as notices:
                self.engine.feed(log, data, at)
            self._commit(log, notices, chunk.identity, at, historic=False)
            return
        for piece, piece_at in self._restamp(content, chunk.start, data, at):
            with self._batch() as notices:
                self.engine.feed(log, piece, piece_at)
            self._commit(log, notices, chunk.identity, piece_at, historic=True)

    def restart(self, log: str, reason: str, at: float, old: FileIdentity, new: FileIdentity) -> None:
        self._content_for(log, old)
        with self._batch() as notices:
            self.engine.restart(log, reason, at)
        self._commit(log, notices, old, at, historic=False, record=False)
        with self._lock:
            self._contents[log] = _Content(new, self._runs(log))
        try:
            with self.journal.transaction():
                self.journal.forget_generations(log, new.generation)
                self.journal.record_file(log, new, 0, at, checkpoint=False)
        except sqlite3.Error as exc:
            self.on_error(f"state journal: cannot record {log}: {exc}")

    # ------------------------------------------------------------------ notices

    @contextmanager
    def _batch(self) -> Iterator[list[Notice]]:
        """Collect the notices of one engine call made in this thread (including nested publishes)."""
        outer = getattr(self._local, "batch", None)
        batch: list[Notice] = []
        self._local.batch = batch
        try:
            yield batch
        finally:
            self._local.batch = outer

    def _on_notice(self, notice: Notice) -> None:
        batch = getattr(self._local, "batch", None)
        if batch is not None:
            batch.append(notice)
            return
        if notice.public:
            self._commit(notice.log, [notice], None, notice.ts, historic=False, record=False)

    def _runs(self, log: str) -> int:
        with self.engine.locked():
            state = self.engine.logs.get(log)
            return len(state.runs) if state is not None else 0

    def _content_for(self, log: str, identity: FileIdentity) -> _Content:
        with self._lock:
            content = self._contents.get(log)
            if content is not None and content.identity.generation == identity.generation:
                return content
            content = _Content(identity, self._runs(log))
            record = self._records.get(log)
            if record is not None and record.identity.generation == identity.generation:
                cps = self.journal.checkpoints(log, identity.generation)
                if not cps or cps[-1][0] < record.identity.offset:
                    cps.append((record.identity.offset, record.last_at))
                content.checkpoints = cps
                content.cp_offsets = [c[0] for c in cps]
                content.last_checkpoint_at = cps[-1][1] if cps else 0.0
            elif record is not None and record.identity.generation < identity.generation:
                try:
                    self.journal.forget_generations(log, identity.generation)
                except sqlite3.Error as exc:
                    self.on_error(f"state journal: {exc}")
            self._contents[log] = content
            return content

    def _restamp(self, content: _Content, start: int, data: bytes, default_at: float) -> list[tuple[bytes, float]]:
        """Cut historic bytes where their recorded arrival time changes."""
        out: list[tuple[bytes, float]] = []
        end = start + len(data)
        pos = start
        i = bisect.bisect_right(content.cp_offsets, pos)
        while pos < end:
            if i < len(content.checkpoints):
                cut = min(end, content.checkpoints[i][0])
                at = content.checkpoints[i][1]
            else:
                cut, at = end, default_at
            out.append((data[pos - start : cut - start], at))
            pos = cut
            i += 1
        return out

    def key_of(self, content: _Content, notice: Notice) -> str:
        rel = notice.run - content.base if notice.run is not None else 0
        ident = content.identity
        rule = notice.get("rule") or notice.get("code") or notice.get("record") or outside_key(notice)
        base = (
            f"{notice.log}|{ident.dev}:{ident.ino}:{ident.generation}|{rel}|{notice.event}|"
            f"{notice.phase or 0}|{notice.get('line') or 0}|{rule}"
        )
        n = content.counts.get(base, 0) + 1
        content.counts[base] = n
        return f"{base}|{n}"

    def _commit(
        self,
        log: str,
        notices: list[Notice],
        identity: Optional[FileIdentity],
        at: float,
        *,
        historic: bool,
        record: bool = True,
    ) -> None:
        new: list[tuple[Notice, str]] = []
        with self._lock:
            content = self._contents.get(log)
            try:
                with self.journal.transaction():
                    public = False
                    for notice in notices:
                        if notice.event == "bad_line" and not historic:
                            self.on_error(f"{log}:{notice.get('line')}: {notice.get('reason')}")
                        elif notice.event == "log_restarted":
                            self.on_error(f"{log}: {notice.get('reason')}: reading the new content from its start")
                        if not notice.public:
                            continue
                        public = True
                        if notice.event in UNJOURNALED or content is None:
                            key = f"{notice.event}|{notice.log}|{notice.ts!r}|{id(notice)}"
                        else:
                            key = self.key_of(content, notice)
                            line = notice.get("line")
                            if not self.journal.claim(
                                key,
                                log,
                                content.identity.generation,
                                notice.run,
                                notice.event,
                                notice.phase,
                                line if isinstance(line, int) else None,
                                notice.ts,
                            ):
                                self.suppressed += 1
                                continue
                        if self.planner is not None:
                            self.planner(notice, key)
                        new.append((notice, key))
                    if record and identity is not None and not historic and content is not None:
                        checkpoint = public or at - content.last_checkpoint_at >= CHECKPOINT_EVERY
                        if checkpoint:
                            content.last_checkpoint_at = at
                        self.journal.record_file(log, identity, self._lines(log), at, checkpoint)
            except sqlite3.Error as exc:
                self.on_error(f"state journal: cannot record a batch of {log}: {exc}")
                new = [(n, f"{n.event}|{n.log}|{n.ts!r}|{id(n)}") for n in notices if n.public]
        for notice, key in new:
            self.forward(notice)
            if self.on_new is not None:
                self.on_new(notice, key)

    def _lines(self, log: str) -> int:
        with self.engine.locked():
            state = self.engine.logs.get(log)
            return state.lines if state is not None else 0
