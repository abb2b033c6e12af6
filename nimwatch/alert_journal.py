"""The TUI's alerts in the state journal: when each was first seen, and whether it was acknowledged.

Owns :class:`AlertJournal` and its table ``tui_alerts`` (one row per alert:
its key, its log, when it was first seen and whether that time is exact or
only an upper bound, when it was acknowledged). A
restarted TUI re-reads the logs and finds the same alerts again; their keys
(the log file's identity, the run, the kind, the rule and the line) find
their rows, so the alerts keep their first times and their acknowledgements.

The table is added to the journal ``nimwatch watch`` keeps (the same file,
``state:`` in the config), in the way :func:`nimwatch.journal.record_launch`
adds ``launches``: short SQLite transactions of their own, without the
watcher's lock, so the TUI runs while the service holds the journal. A
journal that does not exist yet is created. Headless (no Textual).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Optional

from nimwatch.errors import StateError

TABLE = """
CREATE TABLE IF NOT EXISTS tui_alerts (
    key TEXT PRIMARY KEY, log TEXT NOT NULL, first_at REAL NOT NULL, exact INTEGER NOT NULL, acked_at REAL);
CREATE INDEX IF NOT EXISTS tui_alerts_by_log ON tui_alerts (log);
"""
KEEP_SECONDS = 90 * 24 * 3600.0
"""Rows of alerts first seen longer ago than this are dropped when the journal is opened."""

Known = dict[str, tuple[float, bool, Optional[float]]]
"""Alert key -> (first seen, whether that time is exact, acknowledged at or None)."""


class AlertJournal:
    """The ``tui_alerts`` table of a state journal file."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn: Optional[sqlite3.Connection] = conn
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, now: Optional[float] = None) -> AlertJournal:
        """Open (creating the journal file and the table if needed). Raises StateError."""
        path = Path(path)
        if not path.exists():
            from nimwatch.journal import Journal

            Journal.open(path).close()  # a new journal gets its whole schema and version
        try:
            conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
            conn.executescript(TABLE)
            cutoff = (time.time() if now is None else now) - KEEP_SECONDS
            conn.execute("DELETE FROM tui_alerts WHERE first_at < ?", (cutoff,))
        except sqlite3.Error as exc:
            raise StateError(f"{path}: cannot keep the TUI's alerts in the state journal: {exc}") from None
        return cls(path, conn)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _run(self, sql: str, rows: Iterable[tuple[object, ...]]) -> None:
        with self._lock:
            if self._conn is None:
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(sql, rows)
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StateError(f"{self.path}: cannot record the TUI's alerts: {exc}") from None

    def known(self) -> Known:
        """Every alert the journal holds."""
        with self._lock:
            if self._conn is None:
                return {}
            rows = self._conn.execute("SELECT key, first_at, exact, acked_at FROM tui_alerts").fetchall()
        return {
            str(key): (float(first), bool(exact), None if acked is None else float(acked))
            for key, first, exact, acked in rows
        }

    def record(self, alerts: Iterable[tuple[str, str, float, bool]]) -> None:
        """New alerts: (key, log, first seen, whether that time is exact); a key already there keeps its row."""
        self._run("INSERT OR IGNORE INTO tui_alerts (key, log, first_at, exact) VALUES (?, ?, ?, ?)", alerts)

    def acknowledge(self, keys: Iterable[str], at: Optional[float]) -> None:
        """Mark ``keys`` acknowledged at ``at`` (None: not acknowledged, an undo)."""
        self._run("UPDATE tui_alerts SET acked_at = ? WHERE key = ?", ((at, key) for key in keys))

    def forget_log(self, log: str) -> None:
        """The log's content was replaced: its old alerts are gone."""
        self._run("DELETE FROM tui_alerts WHERE log = ?", [(log,)])
