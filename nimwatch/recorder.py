"""Exactly-once delivery for ``nimwatch watch``: the journal between the engine and the outputs.

Owns :class:`Recorder`, the tailer's sink when a journal is used. For every
batch the tailer reads it feeds the engine, gives each public notice its
dedupe key (log, file identity and generation, run within that content,
event, phase, line, rule, occurrence), and in ONE journal transaction records
how far the file was read, when it arrived, which notices are new and the
alerts they spool, and the stdout line of each new notice (the outbox). Only
after the commit are the new notices forwarded (stdout writer, hooks). A
notice whose key the journal holds was delivered by an earlier session and is
suppressed.

On restart the tailer resumes each file where the log's last snapshot was
taken (:mod:`nimwatch.snapshot`; the recorder writes one per log every
:data:`SNAPSHOT_EVERY` seconds while it grows and at a clean stop), or from
byte 0 without a usable one; bytes an earlier session already read come
flagged ``historic`` and are fed with the arrival times the journal recorded
for them (checkpoints), so the rebuilt state has the original phase start and
end times.
"""

from __future__ import annotations

import bisect
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

from nimwatch.engine import Engine, Notice
from nimwatch.feed import Chunk, FileIdentity
from nimwatch.journal import FileRecord, Journal
from nimwatch.notices import outside_key
from nimwatch.snapshot import SnapshotError, counts_to_keep, pack_log, unpack_log
from nimwatch.vocabulary import BAD_LINE, LOG_REPLACED, LOG_RESTARTED, RUN_FINISHED, RUN_STARTED, EventKey

CHECKPOINT_EVERY = 1.0
"""Seconds between arrival checkpoints of a log that produces no notices (lines only)."""
SNAPSHOT_EVERY = 60.0
"""Seconds between two snapshots of a log that keeps growing (a clean stop writes one anyway)."""

Planner = Callable[[Notice, str], None]
"""Called inside the journal transaction for each new public notice (with its key): spools alerts."""


class Printer(Protocol):
    """stdout as the recorder sees it (:class:`~nimwatch.output.StdoutWriter`)."""

    def line(self, notice: Notice, key: str) -> str:
        """The line to print for a new notice (stored in the journal's outbox with it)."""
        ...

    def put(self, seq: Optional[int], line: str, wait: bool = True) -> None:
        """After the commit: print it; ``seq`` is its outbox row (None when the journal failed).

        ``wait=False``: an enclosing transaction is still open (do not wait for a slow reader).
        """
        ...


@dataclass
class Backlog:
    """What the first start found in logs it had never seen and that were last written long ago."""

    logs: set[str] = field(default_factory=set)
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    incomplete: int = 0


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
    """The journal-backed :class:`~nimwatch.feed.FeedSink`.

    Args:
        engine: the engine to feed; the recorder also subscribes to it for notices
            published outside a read (stalls, hook results, alert failures).
        journal: the state journal.
        forward: receives every new public notice, after it is committed (default: nothing does).
        planner: spools alerts for a new notice inside the same transaction.
        keeper: also called inside the transaction for each new public notice, backlog
            included (the run history: a finished run is recorded with its notice).
        on_error: diagnostics (journal write errors, bad lines).
        printer: stdout: each new public notice's line goes into the journal's outbox in the
            same transaction, and to the printer after the commit (written, then recorded).
        fingerprint: what snapshots must match (:func:`nimwatch.snapshot.fingerprint`);
            None: no snapshots are written or read.
    """

    def __init__(
        self,
        engine: Engine,
        journal: Journal,
        *,
        forward: Callable[[Notice], None] = lambda notice: None,
        planner: Optional[Planner] = None,
        on_error: Optional[Callable[[str], None]] = None,
        keeper: Optional[Planner] = None,
        printer: Optional[Printer] = None,
        fingerprint: Optional[str] = None,
    ) -> None:
        self.engine = engine
        self.printer = printer
        self.fingerprint = fingerprint
        self._fed: dict[str, FileIdentity] = {}
        """Log -> the identity after the last bytes fed (the state the engine holds is of that point)."""
        self._snapped: dict[str, tuple[int, int]] = {}
        """Log -> (generation, offset) of its last snapshot written or read."""
        self._snap_at: dict[str, float] = {}
        self._snap_failed: set[str] = set()
        self._snapshot_index: Optional[dict[str, tuple[int, int, str]]] = None
        self.restored: dict[str, int] = {}
        """Log -> the offset it was resumed from a snapshot at (this session)."""
        self.journal = journal
        self.forward = forward
        self.planner = planner
        self.keeper = keeper
        self.on_error = on_error or (lambda message: None)
        self._records: dict[str, FileRecord] = journal.file_records()
        self._contents: dict[str, _Content] = {}
        self._local = threading.local()
        self._lock = threading.RLock()
        self.suppressed = 0
        """Notices found already delivered (replayed from the start of a file)."""
        self.backlog = Backlog()
        """History read at first start: recorded and printed, never alerted or hooked."""
        self._unsubscribe = engine.subscribe(self._on_notice)

    def close(self) -> None:
        self._unsubscribe()

    # ------------------------------------------------------------------ FeedSink

    def feed(self, log: str, data: bytes, at: float, chunk: Chunk) -> None:
        content = self._content_for(log, chunk.identity)
        quiet = chunk.backlog and not chunk.historic
        pieces = self._restamp(content, chunk.start, data, at) if chunk.historic else [(data, at)]
        for piece, piece_at in pieces:
            with self._batch() as notices:
                self.engine.feed(log, piece, piece_at)
            if quiet:
                self._count_backlog(log, notices)
            self._commit(log, notices, chunk.identity, piece_at, historic=chunk.historic, quiet=quiet)
        self._fed[log] = chunk.identity
        if self.fingerprint is not None and time.monotonic() - self._snap_at.get(log, 0.0) >= SNAPSHOT_EVERY:
            self.snapshot(log)

    # ------------------------------------------------------------------ snapshots

    def snapshot(self, log: str, force: bool = False) -> bool:
        """Write the log's state as of the last bytes fed (call from the feeding thread, or once it stopped).

        Without ``force`` a log not read further since its last snapshot is skipped (what the
        stall monitor changed meanwhile waits for the next one, or for the stop's).
        """
        ident = self._fed.get(log)
        if self.fingerprint is None or ident is None or log in self._snap_failed:
            return False
        self._snap_at[log] = time.monotonic()
        if not force and self._snapped.get(log) == (ident.generation, ident.offset):
            return True
        with self._lock, self.engine.locked():
            parts = self.engine.export_log(log)
            content = self._contents.get(log)
            if parts is None or content is None:
                return False
            try:
                counts = counts_to_keep(content.counts, parts["state"].lines)
                data = pack_log(parts, self.engine.wiring(), content.base, counts)
            except (SnapshotError, TypeError, ValueError) as exc:
                self._snap_failed.add(log)  # said once; the log is re-read from its start at the next start
                self.on_error(f"{log}: cannot snapshot its state ({exc}); a restart will read it from its start")
                return False
        try:
            self.journal.snapshot_put(log, ident.generation, ident.offset, self.fingerprint, data, time.time())
        except sqlite3.Error as exc:
            self.on_error(f"state journal: cannot record the snapshot of {log}: {exc}")
            return False
        self._snapped[log] = (ident.generation, ident.offset)
        return True

    def snapshot_all(self) -> int:
        """A snapshot of every log fed this session (at a clean stop); returns how many were written."""
        return sum(1 for log in list(self._fed) if self.snapshot(log, force=True))

    def snapshot_offset(self, log: str, generation: int) -> Optional[int]:
        """Where the log's usable snapshot was taken (its content ``generation``), or None."""
        if self.fingerprint is None:
            return None
        if self._snapshot_index is None:
            try:
                self._snapshot_index = self.journal.snapshot_offsets()
            except sqlite3.Error:
                self._snapshot_index = {}
        found = self._snapshot_index.get(log)
        return found[1] if found is not None and found[0] == generation and found[2] == self.fingerprint else None

    def restore(self, log: str, identity: FileIdentity) -> bool:
        """Install the log's snapshot, taken at ``identity.offset`` of that file; False when it is unusable."""
        generation, offset = identity.generation, identity.offset
        try:
            row = self.journal.snapshot_get(log)
            if row is None or row[0] != generation or row[1] != offset or row[2] != self.fingerprint:
                return False
            parts, base, counts = unpack_log(row[3], self.engine.wiring())
        except (sqlite3.Error, ValueError, KeyError, TypeError, AttributeError, SnapshotError) as exc:
            self.on_error(f"{log}: its snapshot cannot be used ({exc}): reading it from its start")
            return False
        self.engine.restore_log(log, parts)
        with self._lock:
            content = _Content(identity, base, counts)  # the keys of this content's notices go on
            self._load_checkpoints(log, content, generation)
            self._contents[log] = content
        self._fed[log] = identity
        self._snapped[log] = (generation, offset)
        self._snap_at[log] = time.monotonic()
        self.restored[log] = offset
        return True

    def replaced(self, log: str, at: float, fields: dict[str, Any]) -> None:
        """The file under ``log``'s name changed while nimwatch was down (the tailer found out at start)."""
        self.engine.replaced(log, at, fields)

    def restart(self, log: str, reason: str, at: float, old: FileIdentity, new: FileIdentity) -> None:
        self._content_for(log, old)
        with self._batch() as notices:
            self.engine.restart(log, reason, at)
        self._commit(log, notices, old, at, historic=False, record=False)
        with self._lock:
            self._contents[log] = _Content(new, self._tally(log)[0])
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
        elif notice.public:
            self._commit(notice.log, [notice], None, notice.ts, historic=False, record=False)

    def _count_backlog(self, log: str, notices: list[Notice]) -> None:
        self.backlog.logs.add(log)
        for notice in notices:
            if notice.kind is RUN_STARTED:
                self.backlog.runs += 1
            elif notice.kind is RUN_FINISHED:
                outcome = notice.get("outcome")
                counter = outcome if outcome in ("succeeded", "failed") else "incomplete"
                setattr(self.backlog, counter, getattr(self.backlog, counter) + 1)

    def _tally(self, log: str) -> tuple[int, int]:
        """(runs, lines) the engine has seen for ``log`` now (runs past the state's bound included)."""
        with self.engine.locked():
            state = self.engine.logs.get(log)
            return (len(state.runs) + state.runs_dropped, state.lines) if state is not None else (0, 0)

    def _content_for(self, log: str, identity: FileIdentity) -> _Content:
        with self._lock:
            content = self._contents.get(log)
            if content is not None and content.identity.generation == identity.generation:
                return content
            content = _Content(identity, self._tally(log)[0])
            self._load_checkpoints(log, content, identity.generation)  # (when the journal has this content)
            record = self._records.get(log)
            if record is not None and record.identity.generation < identity.generation:
                try:
                    self.journal.forget_generations(log, identity.generation)
                except sqlite3.Error as exc:
                    self.on_error(f"state journal: {exc}")
            self._contents[log] = content
            return content

    def _load_checkpoints(self, log: str, content: _Content, generation: int) -> None:
        """When the bytes an earlier session read (of this content) arrived: from the journal."""
        record = self._records.get(log)
        if record is None or record.identity.generation != generation:
            return
        cps = self.journal.checkpoints(log, generation)
        if not cps or cps[-1][0] < record.identity.offset:
            cps.append((record.identity.offset, record.last_at))
        content.checkpoints = cps
        content.cp_offsets = [c[0] for c in cps]
        content.last_checkpoint_at = cps[-1][1]

    def _restamp(self, content: _Content, start: int, data: bytes, default_at: float) -> list[tuple[bytes, float]]:
        """Cut historic bytes where their recorded arrival time changes."""
        out: list[tuple[bytes, float]] = []
        end, pos = start + len(data), start
        for offset, at in content.checkpoints[bisect.bisect_right(content.cp_offsets, start) :]:
            if pos >= end:
                break
            cut = min(end, offset)
            out.append((data[pos - start : cut - start], at))
            pos = cut
        if pos < end:
            out.append((data[pos - start :], default_at))
        return out

    def key_of(self, content: _Content, notice: Notice) -> EventKey:
        rel = notice.run - content.base if notice.run is not None else 0
        ident = content.identity
        run_part = (notice.log, f"{ident.dev}:{ident.ino}:{ident.generation}", str(rel))
        rule = notice.get("rule") or notice.get("code") or notice.get("record") or outside_key(notice)
        base = f"{'|'.join(run_part)}|{notice.event}|{notice.phase or 0}|{notice.get('line') or 0}|{rule}"
        n = content.counts.get(base, 0) + 1
        content.counts[base] = n
        return EventKey(f"{base}|{n}", run_part, (ident.generation, rel) if rel > 0 else None)

    def _commit(
        self,
        log: str,
        notices: list[Notice],
        identity: Optional[FileIdentity],
        at: float,
        *,
        historic: bool,
        record: bool = True,
        quiet: bool = False,
    ) -> None:
        """Record ``notices`` in one transaction; ``quiet``: history (backlog), recorded and printed only."""
        new: list[tuple[Notice, Optional[int], str]] = []
        printer = self.printer
        with self._lock:
            content = self._contents.get(log)
            try:
                with self.journal.transaction():
                    public = any(notice.public for notice in notices)
                    for notice in notices:
                        if notice.kind is LOG_REPLACED:
                            self.on_error(f"{log}: {notice.get('reason')}")
                        if notice.kind is BAD_LINE and not historic:
                            self.on_error(f"{log}:{notice.get('line')}: {notice.get('reason')}")
                        elif notice.kind is LOG_RESTARTED:
                            self.on_error(f"{log}: {notice.get('reason')}: reading the new content from its start")
                        if not notice.public:
                            continue
                        if not notice.kind.journaled or content is None:
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
                        if self.keeper is not None:
                            self.keeper(notice, key)
                        if self.planner is not None and not quiet:
                            self.planner(notice, key)
                        line, seq = "", None
                        if printer is not None:
                            line = printer.line(notice, key)
                            seq = self.journal.outbox_add(line)
                        new.append((notice, seq, line))
                    if record and identity is not None and not historic and content is not None:
                        checkpoint = public or at - content.last_checkpoint_at >= CHECKPOINT_EVERY
                        if checkpoint:
                            content.last_checkpoint_at = at
                        self.journal.record_file(log, identity, self._tally(log)[1], at, checkpoint)
            except sqlite3.Error as exc:
                self.on_error(f"state journal: cannot record a batch of {log}: {exc}")
                new = []
                for n in notices:
                    if n.public:
                        key = f"{n.event}|{n.log}|{n.ts!r}|{id(n)}"
                        new.append((n, None, printer.line(n, key) if printer is not None else ""))
        nested = self.journal.in_transaction()  # a notice published while another batch is being recorded
        for notice, seq, line in new:
            self.forward(notice)
            if printer is not None:
                printer.put(seq, line, wait=not nested)
