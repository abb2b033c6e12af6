"""The state journal of ``nimwatch watch``: one SQLite file (stdlib ``sqlite3``).

Owns the on-disk state that makes a restart exact:

* per log, the identity of the file under its name (device, inode,
  generation, first-line and prefix hashes) and how far it was read;
* the arrival time of what was read (checkpoints: offset, line, time) and of
  every notice delivered (phase changes, findings, stalls, outcomes), each
  under its dedupe key: a restarted watcher re-parses the files from byte 0,
  suppresses the notices the journal already holds and stamps the lines with
  the times they first arrived, so phase durations survive restarts;
* every alert sent or pending (the spool) and the keys used to throttle them;
* ``mark_once`` keys (hooks fire once per event across restarts);
* the stdout *outbox*: each event's JSON line, recorded with the event and
  deleted once written and flushed (:mod:`nimwatch.output`);
* queued hook runs, recorded with their event and deleted once run (or given
  up), so that a stop, a crash or a reload loses none;
* per log, a snapshot of its live state (:mod:`nimwatch.snapshot`) at some
  offset, so that a restart reads on from there instead of from byte 0.

It also keeps the nimadm runs ``nimwatch run`` started (command line, PID,
exit status): :func:`record_launch` writes them from any process, without
the watcher lock.

Written in WAL mode, one transaction per batch, so ``kill -9`` loses at most
the batch being written (and that batch is re-read on restart). A damaged file
raises :class:`~nimwatch.errors.StateError`; :func:`Journal.rebuild` moves it
aside. Only one watcher may use a journal at a time (a lock file beside it).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from nimwatch.core.history import TABLE_SQL as _HISTORY
from nimwatch.errors import StateError
from nimwatch.sources.tail import FileIdentity

SCHEMA_VERSION = 1
SENT_KEEP_SECONDS = 30 * 24 * 3600.0
"""Delivered spool rows are kept this long (history for ``alert_failed`` and debugging)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    log TEXT PRIMARY KEY, dev INTEGER NOT NULL, ino INTEGER NOT NULL, generation INTEGER NOT NULL,
    offset INTEGER NOT NULL, head_len INTEGER NOT NULL, head_hash TEXT NOT NULL, prefix_hash TEXT NOT NULL,
    lines INTEGER NOT NULL, last_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    log TEXT NOT NULL, generation INTEGER NOT NULL, offset INTEGER NOT NULL, line INTEGER NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (log, generation, offset));
CREATE TABLE IF NOT EXISTS notices (
    key TEXT PRIMARY KEY, log TEXT NOT NULL, generation INTEGER NOT NULL, run INTEGER, event TEXT NOT NULL,
    phase INTEGER, line INTEGER, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS notices_by_log ON notices (log, generation);
CREATE TABLE IF NOT EXISTS once (kind TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS alert_keys (sink TEXT NOT NULL, key TEXT NOT NULL, last_at REAL NOT NULL,
    PRIMARY KEY (sink, key));
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT, sink TEXT NOT NULL, key TEXT NOT NULL, created REAL NOT NULL,
    payload TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '', done_at REAL);
CREATE INDEX IF NOT EXISTS spool_due ON spool (sink, state, next_try);
CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (ns, key));
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alert_rate (sink TEXT NOT NULL, client TEXT NOT NULL, window_start REAL NOT NULL,
    sent INTEGER NOT NULL, held INTEGER NOT NULL, PRIMARY KEY (sink, client));
CREATE TABLE IF NOT EXISTS snapshots (log TEXT PRIMARY KEY, generation INTEGER NOT NULL, offset INTEGER NOT NULL,
    fingerprint TEXT NOT NULL, data TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hook_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, hook TEXT NOT NULL, notice TEXT NOT NULL, matched TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1, next_try REAL NOT NULL DEFAULT 0, created REAL NOT NULL);
"""
_LAUNCHES = """
CREATE TABLE IF NOT EXISTS launches (
    record TEXT PRIMARY KEY, client TEXT NOT NULL, pid INTEGER, argv TEXT NOT NULL, started REAL NOT NULL,
    output TEXT NOT NULL, exit_code INTEGER, signal INTEGER, ended REAL);
"""
_SCHEMA += _LAUNCHES
_SCHEMA += _HISTORY + "\n"  # the run history (nimwatch.history_store): one row per finished run
LAUNCH_FIELDS = ("record", "client", "pid", "argv", "started", "output", "exit_code", "signal", "ended")
"""Columns of ``launches``: one row per nimadm started by ``nimwatch run`` (``argv`` is JSON)."""


_BYTES_MARK = "\x00"
"""Starts a text that stands for bytes (hex): a path with bytes the file system encoding cannot decode."""


def to_db(text: str) -> str:
    """A text SQLite can store. A file name with undecodable bytes (lone surrogates from
    ``os.fsdecode``) cannot be UTF-8: it is stored as its bytes in hex after a NUL, which no path
    or key otherwise holds, so the mapping is reversible and distinct values stay distinct."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _BYTES_MARK + text.encode("utf-8", "surrogateescape").hex()
    return text


def from_db(text: str) -> str:
    """The text :func:`to_db` stored."""
    if text.startswith(_BYTES_MARK):
        return bytes.fromhex(text[1:]).decode("utf-8", "surrogateescape")
    return text


def _clean(params: Any) -> Any:
    if isinstance(params, (tuple, list)):
        return tuple(to_db(p) if isinstance(p, str) else p for p in params)
    return params


class _Connection(sqlite3.Connection):
    """Binds every text parameter through :func:`to_db`, so no value can make SQLite refuse a batch."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return super().execute(sql, _clean(parameters))

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:
        return super().executemany(sql, [_clean(p) for p in seq_of_parameters])


@dataclass(frozen=True)
class FileRecord:
    """A log's row: its identity, lines read and the arrival time of the last read."""

    identity: FileIdentity
    lines: int
    last_at: float


@dataclass(frozen=True)
class SpoolItem:
    """One alert waiting for (or done with) delivery through one sink."""

    id: int
    sink: str
    key: str
    created: float
    payload: dict[str, Any]
    attempts: int
    next_try: float
    last_error: str


def _damaged(path: Path, detail: str) -> StateError:
    return StateError(
        f"{path}: the state journal is damaged ({detail}). Run `nimwatch watch --rebuild-state` to move it "
        f"aside and rebuild it from the logs (alerts for what the logs hold may be sent again)."
    )


class Journal:
    """The SQLite state journal. Thread-safe: one connection behind one lock."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool, lock_fd: Optional[int]) -> None:
        self._conn: Optional[sqlite3.Connection] = conn
        self.path = path
        self.readonly = readonly
        self._lock_fd = lock_fd
        self._lock = threading.RLock()
        self._depth = 0

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: Path, readonly: bool = False) -> Journal:
        """Open (creating it unless ``readonly``) the journal at ``path``. Raises StateError."""
        path = Path(path)
        lock_fd: Optional[int] = None
        if readonly:
            if not path.is_file():
                raise StateError(f"{path}: no state journal here")
            try:
                conn = sqlite3.connect(
                    path.absolute().as_uri() + "?mode=ro", uri=True, check_same_thread=False, factory=_Connection
                )
            except sqlite3.Error as exc:
                raise StateError(f"{path}: cannot open the state journal: {exc}") from None
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StateError(f"{path.parent}: cannot create the state directory: {exc.strerror or exc}") from None
            lock_fd = _take_lock(path)
            try:
                conn = sqlite3.connect(
                    str(path), check_same_thread=False, isolation_level=None, timeout=30, factory=_Connection
                )
            except sqlite3.Error as exc:
                _release_lock(lock_fd)
                raise StateError(f"{path}: cannot open the state journal: {exc}") from None
        journal = cls(conn, path, readonly, lock_fd)
        try:
            journal._prepare()
        except StateError:
            journal.close()
            raise
        except sqlite3.DatabaseError as exc:
            journal.close()
            raise _damaged(path, str(exc)) from None
        return journal

    @classmethod
    def rebuild(cls, path: Path) -> tuple[Journal, Optional[Path]]:
        """Move a (damaged) journal aside and start a new one. Returns it and where the old one went."""
        path = Path(path)
        aside: Optional[Path] = None
        if path.exists():
            stamp = time.strftime("%Y%m%dT%H%M%S")
            aside = path.with_name(f"{path.name}.damaged-{stamp}")
            try:
                for suffix in ("", "-wal", "-shm"):
                    src = Path(str(path) + suffix)
                    if src.exists():
                        os.replace(src, str(aside) + suffix)
            except OSError as exc:
                raise StateError(f"{path}: cannot move the old journal aside: {exc.strerror or exc}") from None
        return cls.open(path), aside

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("the state journal is closed")
        return self._conn

    def _prepare(self) -> None:
        conn = self._live()
        if self.readonly:
            self._check_version()
            return
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        result = conn.execute("PRAGMA quick_check").fetchone()
        if result is None or result[0] != "ok":
            raise _damaged(self.path, f"integrity check: {result[0] if result else 'no answer'}")
        conn.executescript(_SCHEMA)
        self._check_version()
        with self.transaction():
            conn.execute(
                "DELETE FROM spool WHERE state != 'pending' AND done_at IS NOT NULL AND done_at < ?",
                (time.time() - SENT_KEEP_SECONDS,),
            )

    def _check_version(self) -> None:
        try:
            row = self._live().execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.OperationalError as exc:
            raise _damaged(self.path, str(exc)) from None
        if row is None:
            if self.readonly:
                raise _damaged(self.path, "no schema version")
            self._live().execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            return
        if row[0] != str(SCHEMA_VERSION):
            raise StateError(
                f"{self.path}: state journal schema {row[0]}, this nimwatch reads {SCHEMA_VERSION}: "
                "use the matching nimwatch, or --rebuild-state"
            )

    def close(self) -> None:
        """Checkpoint the WAL and close (idempotent)."""
        with self._lock:
            if self._conn is not None:
                try:
                    if not self.readonly:
                        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass  # a checkpoint is housekeeping: closing still flushes the WAL safely
                self._conn.close()
                self._conn = None
            if self._lock_fd is not None:
                _release_lock(self._lock_fd)
                self._lock_fd = None

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic batch (nestable: the outermost one commits)."""
        with self._lock:
            conn = self._live()
            if self._depth == 0:
                conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield conn
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                conn.execute("COMMIT")

    def in_transaction(self) -> bool:
        """Whether this thread is inside :meth:`transaction` (an outer batch is still being recorded)."""
        if not self._lock.acquire(blocking=False):
            return False  # another thread holds it: not ours
        try:
            return self._depth > 0
        finally:
            self._lock.release()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._live().execute(sql, args).fetchall()

    # ------------------------------------------------------------------ files

    def file_records(self) -> dict[str, FileRecord]:
        rows = self._query(
            "SELECT log, dev, ino, generation, offset, head_len, head_hash, prefix_hash, lines, last_at FROM files"
        )
        return {
            from_db(r[0]): FileRecord(FileIdentity(r[1], r[2], r[3], r[4], r[5], r[6], r[7]), r[8], r[9])
            for r in rows
        }

    def file_identities(self) -> dict[str, FileIdentity]:
        """Log -> the identity recorded for it (the tailer's ``offsets``)."""
        return {log: rec.identity for log, rec in self.file_records().items()}

    def record_file(self, log: str, identity: FileIdentity, lines: int, at: float, checkpoint: bool) -> None:
        """How far ``log`` was read; with ``checkpoint``, also when these bytes arrived."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO files (log, dev, ino, generation, offset, head_len, head_hash, prefix_hash,"
                " lines, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    log,
                    identity.dev,
                    identity.ino,
                    identity.generation,
                    identity.offset,
                    identity.head_len,
                    identity.head_hash,
                    identity.prefix_hash,
                    lines,
                    at,
                ),
            )
            if checkpoint:
                conn.execute(
                    "INSERT OR REPLACE INTO checkpoints (log, generation, offset, line, at) VALUES (?, ?, ?, ?, ?)",
                    (log, identity.generation, identity.offset, lines, at),
                )

    def forget_generations(self, log: str, keep: int) -> None:
        """Drop the arrival checkpoints of contents older than generation ``keep``."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM checkpoints WHERE log = ? AND generation < ?", (log, keep))

    def checkpoints(self, log: str, generation: int) -> list[tuple[int, float]]:
        """(end offset, arrival time) of the reads of one content, in file order."""
        rows = self._query(
            "SELECT offset, at FROM checkpoints WHERE log = ? AND generation = ? ORDER BY offset", (log, generation)
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def arrival_times(self, log: str) -> dict[int, float]:
        """Line number -> arrival time for the current content of ``log`` (for replay pacing).

        Lines between two entries arrived no later than the next entry.
        """
        row = self._query("SELECT generation FROM files WHERE log = ?", (log,))
        if not row:
            return {}
        gen = row[0][0]
        out: dict[int, float] = {}
        for line, at in self._query(
            "SELECT line, at FROM checkpoints WHERE log = ? AND generation = ? "
            "UNION ALL SELECT line, at FROM notices WHERE log = ? AND generation = ? AND line IS NOT NULL",
            (log, gen, log, gen),
        ):
            if line is None:
                continue
            if line not in out or at < out[line]:
                out[int(line)] = float(at)
        return dict(sorted(out.items()))

    # ------------------------------------------------------------------ notices

    def claim(
        self,
        key: str,
        log: str,
        generation: int,
        run: Optional[int],
        event: str,
        phase: Optional[int],
        line: Optional[int],
        at: float,
    ) -> bool:
        """Record a notice as delivered; False when its key was delivered before."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO notices (key, log, generation, run, event, phase, line, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, log, generation, run, event, phase, line, at),
            )
            return cur.rowcount == 1

    def notice_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM notices")[0][0])

    # ------------------------------------------------------------------ once

    def mark_once(self, kind: str, key: str) -> bool:
        """True the first time (kind, key) is recorded, False ever after (persistent)."""
        with self.transaction() as conn:
            cur = conn.execute("INSERT OR IGNORE INTO once (kind, key, at) VALUES (?, ?, ?)", (kind, key, time.time()))
            return cur.rowcount == 1

    # ------------------------------------------------------------------ alert spool

    def throttle(self, sink: str, key: str, at: float, seconds: float) -> bool:
        """True (and remembered) when ``sink`` may send ``key`` at ``at``: never sent, or longer ago than ``seconds``.

        ``seconds`` 0 means once ever.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT last_at FROM alert_keys WHERE sink = ? AND key = ?", (sink, key)).fetchone()
            if row is not None and (seconds <= 0 or at - float(row[0]) < seconds):
                return False
            conn.execute("INSERT OR REPLACE INTO alert_keys (sink, key, last_at) VALUES (?, ?, ?)", (sink, key, at))
            return True

    def rate_take(
        self, sink: str, client: str, at: float, limit: int, period: float, exempt: bool
    ) -> tuple[bool, int, float, int]:
        """Count one alert of ``sink`` about ``client`` against its rate limit.

        Returns (may it be sent, alerts held back to report now, since when, held back so far
        in this window). Windows are
        fixed: ``limit`` alerts from the first one, for ``period`` seconds. Held-back alerts
        are reported once, with the first alert of the next window or with an ``exempt`` one
        (a run's end), which is always sent.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT window_start, sent, held FROM alert_rate WHERE sink = ? AND client = ?", (sink, client)
            ).fetchone()
            start, sent, held = (float(row[0]), int(row[1]), int(row[2])) if row else (at, 0, 0)
            report, since = 0, start
            if at - start >= period:
                report, start, sent, held = held, at, 0, 0
            if exempt:
                report, held = report + held, 0
                allowed = True
            elif sent < limit:
                sent += 1
                allowed = True
            else:
                held += 1
                allowed = False
            conn.execute(
                "INSERT OR REPLACE INTO alert_rate (sink, client, window_start, sent, held) VALUES (?, ?, ?, ?, ?)",
                (sink, client, start, sent, held),
            )
            return allowed, report, since, held

    def spool_add(self, sink: str, key: str, payload: dict[str, Any], at: float) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO spool (sink, key, created, payload, state, next_try) VALUES (?, ?, ?, ?, 'pending', ?)",
                (sink, key, at, json.dumps(payload, ensure_ascii=True, sort_keys=True), 0.0),
            )
            return int(cur.lastrowid or 0)

    def spool_due(self, sink: str, now: float, limit: int = 50) -> list[SpoolItem]:
        """Pending items of ``sink`` whose retry time has come, oldest first."""
        rows = self._query(
            "SELECT id, sink, key, created, payload, attempts, next_try, last_error FROM spool"
            " WHERE sink = ? AND state = 'pending' AND next_try <= ? ORDER BY id LIMIT ?",
            (sink, now, limit),
        )
        return [SpoolItem(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7]) for r in rows]

    def spool_next_try(self, sink: str) -> Optional[float]:
        row = self._query("SELECT MIN(next_try) FROM spool WHERE sink = ? AND state = 'pending'", (sink,))
        return None if not row or row[0][0] is None else float(row[0][0])

    def spool_sent(self, item_id: int, at: float) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE spool SET state = 'sent', done_at = ?, last_error = '' WHERE id = ?", (at, item_id))

    def spool_retry(self, item_id: int, attempts: int, next_try: float, error: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE spool SET attempts = ?, next_try = ?, last_error = ? WHERE id = ?",
                (attempts, next_try, error, item_id),
            )

    def spool_drop(self, item_id: int, at: float, error: str) -> None:
        """Give up on an item the receiver rejected for good (kept, marked ``rejected``)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE spool SET state = 'rejected', done_at = ?, last_error = ? WHERE id = ?", (at, error, item_id)
            )

    def spool_pending(self) -> dict[str, int]:
        """Sink -> number of alerts waiting."""
        rows = self._query("SELECT sink, COUNT(*) FROM spool WHERE state = 'pending' GROUP BY sink")
        return {r[0]: int(r[1]) for r in rows}

    def spool_items(self, sink: Optional[str] = None, state: Optional[str] = None) -> list[SpoolItem]:
        """Spool rows (any state), oldest first: for tests and diagnostics."""
        sql = "SELECT id, sink, key, created, payload, attempts, next_try, last_error FROM spool WHERE 1 = 1"
        args: list[Any] = []
        if sink is not None:
            sql += " AND sink = ?"
            args.append(sink)
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        rows = self._query(sql + " ORDER BY id", tuple(args))
        return [SpoolItem(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7]) for r in rows]

    # ------------------------------------------------------------------ stdout outbox

    def outbox_add(self, line: str) -> int:
        """Record a stdout line as due (in the transaction of its event); returns its sequence number."""
        with self.transaction() as conn:
            cur = conn.execute("INSERT INTO outbox (line) VALUES (?)", (line,))
            return int(cur.lastrowid or 0)

    def outbox_done(self, seqs: list[int]) -> None:
        """These lines were written and flushed (or dropped for a reader that stopped reading)."""
        with self.transaction() as conn:
            conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def outbox_pending(self) -> list[tuple[int, str]]:
        """Lines recorded but not known to be written, oldest first."""
        return [(int(r[0]), str(r[1])) for r in self._query("SELECT seq, line FROM outbox ORDER BY seq")]

    # ------------------------------------------------------------------ state snapshots

    def snapshot_put(self, log: str, generation: int, offset: int, fingerprint: str, data: str, at: float) -> None:
        """The state of ``log`` after its first ``offset`` bytes (of content ``generation``)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (log, generation, offset, fingerprint, data, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (log, generation, offset, fingerprint, data, at),
            )

    def snapshot_get(self, log: str) -> Optional[tuple[int, int, str, str]]:
        """(generation, offset, fingerprint, data) of the last snapshot of ``log``, or None."""
        rows = self._query("SELECT generation, offset, fingerprint, data FROM snapshots WHERE log = ?", (log,))
        if not rows:
            return None
        r = rows[0]
        return int(r[0]), int(r[1]), str(r[2]), str(r[3])

    def snapshot_offsets(self) -> dict[str, tuple[int, int, str]]:
        """Log -> (generation, offset, fingerprint) of every snapshot (no data)."""
        rows = self._query("SELECT log, generation, offset, fingerprint FROM snapshots")
        return {from_db(r[0]): (int(r[1]), int(r[2]), str(r[3])) for r in rows}

    # ------------------------------------------------------------------ queued hook runs

    def hook_job_add(self, hook: str, notice: str, matched: str, at: float) -> int:
        """Keep a queued hook run (in the transaction of its event); returns its id."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO hook_jobs (hook, notice, matched, created) VALUES (?, ?, ?, ?)",
                (hook, notice, matched, at),
            )
            return int(cur.lastrowid or 0)

    def hook_job_retry(self, job_id: int, attempt: int, next_try: float) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE hook_jobs SET attempt = ?, next_try = ? WHERE id = ?", (attempt, next_try, job_id))

    def hook_job_done(self, job_id: int) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM hook_jobs WHERE id = ?", (job_id,))

    def hook_jobs(self) -> list[tuple[int, str, str, str, int, float]]:
        """(id, hook, notice JSON, matched, attempt, next_try) of every kept run, oldest first."""
        rows = self._query("SELECT id, hook, notice, matched, attempt, next_try FROM hook_jobs ORDER BY id")
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), float(r[5])) for r in rows]

    # ------------------------------------------------------------------ small key-value store

    def kv_put(self, ns: str, key: str, value: Optional[str]) -> None:
        """Set (or with None delete) a value in namespace ``ns`` (sinks keep their state here)."""
        with self.transaction() as conn:
            if value is None:
                conn.execute("DELETE FROM kv WHERE ns = ? AND key = ?", (ns, key))
            else:
                conn.execute("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)", (ns, key, value))

    def kv_items(self, ns: str) -> dict[str, str]:
        return {r[0]: r[1] for r in self._query("SELECT key, value FROM kv WHERE ns = ?", (ns,))}

    # ------------------------------------------------------------------ nimadm runs started by `nimwatch run`

    def launches(self, client: Optional[str] = None) -> list[dict[str, Any]]:
        """The nimadm runs ``nimwatch run`` started (oldest first), ``argv`` as a list; [] on an older journal."""
        sql = "SELECT " + ", ".join(LAUNCH_FIELDS) + " FROM launches"
        args: tuple[Any, ...] = ()
        if client is not None:
            sql, args = sql + " WHERE client = ?", (client,)
        try:
            rows = self._query(sql + " ORDER BY started", args)
        except sqlite3.OperationalError:  # a journal written before the table existed, opened read-only
            return []
        out = [dict(zip(LAUNCH_FIELDS, row)) for row in rows]
        for row in out:
            row["argv"] = json.loads(row["argv"])
        return out


def record_launch(path: Path, row: dict[str, Any]) -> None:
    """Add or complete the journal row of one nimadm run (keyed by its record file).

    Any process may call this while a watcher holds the journal: it takes no
    watcher lock, only SQLite's own (one short transaction). A known exit
    status is never overwritten by an unknown one.
    """
    path = Path(path)
    if not path.exists():
        Journal.open(path).close()  # a new journal gets its whole schema and version
    values = {key: row.get(key) for key in LAUNCH_FIELDS}
    values["argv"] = json.dumps(list(row.get("argv") or []), ensure_ascii=False)
    try:
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot open the state journal: {exc}") from None
    try:
        conn.executescript(_LAUNCHES)
        conn.execute("BEGIN IMMEDIATE")
        known = conn.execute("SELECT 1 FROM launches WHERE record = ?", (values["record"],)).fetchone()
        if known is None:
            conn.execute(
                "INSERT INTO launches (" + ", ".join(LAUNCH_FIELDS) + ") VALUES (" + ", ".join("?" * len(LAUNCH_FIELDS))
                + ")",
                tuple(values[key] for key in LAUNCH_FIELDS),
            )
        else:
            conn.execute(
                "UPDATE launches SET pid = COALESCE(?, pid), exit_code = COALESCE(?, exit_code),"
                " signal = COALESCE(?, signal), ended = COALESCE(?, ended) WHERE record = ?",
                (values["pid"], values["exit_code"], values["signal"], values["ended"], values["record"]),
            )
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot record the nimadm run: {exc}") from None
    finally:
        conn.close()


def _take_lock(path: Path) -> Optional[int]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system
        return None
    lock_path = str(path) + ".lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        raise StateError(f"{lock_path}: cannot create the lock file: {exc.strerror or exc}") from None
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StateError(
            f"{path}: another nimwatch watch is using this state journal (give each watcher its own --state)"
        ) from None
    return fd


def watcher_holds(path: Path) -> bool:
    """Whether a ``nimwatch watch`` holds the journal at ``path`` now (its lock is taken)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system
        return False
    try:
        fd = os.open(str(path) + ".lock", os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False  # no lock file: no watcher ever used this journal
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock this process took
    return False


def _release_lock(fd: Optional[int]) -> None:
    if fd is None:
        return
    with suppress(OSError):
        os.close(fd)
