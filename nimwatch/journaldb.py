"""The state journal's SQLite file: its schema, how it is opened, locked, checked and written.

Owns :class:`JournalDB`, the base of :class:`~nimwatch.journal.Journal`: one
SQLite file (stdlib ``sqlite3``) in WAL mode, one connection behind one lock,
nestable transactions (:meth:`JournalDB.transaction`), the schema and its
version, a lock file so that one watcher at a time writes it, and the text
codec that stores any file name (:func:`to_db`). A damaged file raises
:class:`~nimwatch.errors.StateError`; :meth:`JournalDB.rebuild` moves it aside.
What is kept in the tables is :mod:`nimwatch.journal`'s.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Optional, TypeVar

from nimwatch.core.history import TABLE_SQL as _HISTORY
from nimwatch.errors import StateError

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
LAUNCHES_SQL = """
CREATE TABLE IF NOT EXISTS launches (
    record TEXT PRIMARY KEY, client TEXT NOT NULL, pid INTEGER, argv TEXT NOT NULL, started REAL NOT NULL,
    output TEXT NOT NULL, exit_code INTEGER, signal INTEGER, ended REAL);
"""
_SCHEMA += LAUNCHES_SQL
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


def _damaged(path: Path, detail: str) -> StateError:
    return StateError(
        f"{path}: the state journal is damaged ({detail}). Run `nimwatch watch --rebuild-state` to move it "
        f"aside and rebuild it from the logs (alerts for what the logs hold may be sent again)."
    )


_J = TypeVar("_J", bound="JournalDB")


class JournalDB:
    """The journal's SQLite file: opened with its lock, checked, one connection behind one lock (thread-safe)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool, lock_fd: Optional[int]) -> None:
        self._conn: Optional[sqlite3.Connection] = conn
        self.path = path
        self.readonly = readonly
        self._lock_fd = lock_fd
        self._lock = threading.RLock()
        self._depth = 0

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls: type[_J], path: Path, readonly: bool = False) -> _J:
        """Open (creating it unless ``readonly``) the journal at ``path``. Raises StateError."""
        path = Path(path)
        lock_fd: Optional[int] = None
        options: dict[str, Any]
        if readonly:
            if not path.is_file():
                raise StateError(f"{path}: no state journal here")
            target, options = path.absolute().as_uri() + "?mode=ro", {"uri": True}
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StateError(f"{path.parent}: cannot create the state directory: {exc.strerror or exc}") from None
            lock_fd = _take_lock(path)
            target, options = str(path), {"isolation_level": None, "timeout": 30}
        try:
            conn = sqlite3.connect(target, check_same_thread=False, factory=_Connection, **options)
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
    def rebuild(cls: type[_J], path: Path) -> tuple[_J, Optional[Path]]:
        """Move a (damaged) journal aside and start a new one. Returns it and where the old one went."""
        path = Path(path)
        aside: Optional[Path] = None
        if path.exists():
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
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
                if not self.readonly:
                    with suppress(sqlite3.Error):  # a checkpoint is housekeeping: closing still flushes the WAL safely
                        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._conn.close()
                self._conn = None
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
            done = False
            try:
                yield conn
                done = True
            finally:
                self._depth -= 1
                if self._depth == 0:
                    conn.execute("COMMIT" if done else "ROLLBACK")

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

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """One statement in its own transaction (or the caller's batch); its cursor (``rowcount``, ``lastrowid``)."""
        with self.transaction() as conn:
            return conn.execute(sql, args)


def write_beside(path: Path, schema: str, what: str, write: Callable[[sqlite3.Connection], object]) -> None:
    """``write`` in one short transaction on the journal at ``path`` (created when missing), after ``schema``.

    Any process may call this while a watcher holds the journal: it takes no
    watcher lock, only SQLite's own. Raises StateError (``cannot record`` ``what``).
    """
    path = Path(path)
    if not path.exists():
        JournalDB.open(path).close()  # a new journal gets its whole schema and version
    try:
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot open the state journal: {exc}") from None
    try:
        conn.executescript(schema)
        conn.execute("BEGIN IMMEDIATE")
        write(conn)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot record {what}: {exc}") from None
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
    if fd is not None:
        with suppress(OSError):
            os.close(fd)
