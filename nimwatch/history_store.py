"""The run history in the state journal: one row per finished nimadm run, written and read here.

Owns :func:`put` (upsert a :class:`~nimwatch.core.history.HistoryRecord` on an
open SQLite connection, inside the caller's transaction), :func:`records`
(rows filtered by client and finish time, oldest first),
:func:`store_records` (write rows into a journal file **without** the
watcher's lock: one short SQLite transaction, so ``nimwatch history import`` and
the TUI can add runs while ``nimwatch watch`` holds the journal), and
:func:`master_of` (which NIM master a run belongs to: the log's own ``master``
fact, else this host's name).

The table is :data:`nimwatch.core.history.TABLE_SQL` (created with the rest of
the journal's schema, ``CREATE TABLE IF NOT EXISTS``: older journals gain it on
their next writable open; a read-only open of an older journal reads as an
empty history). The row key is master, log, run index and start time, so the
same run written twice (a watcher and an import) is one row.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional

from nimwatch.core.history import ROW_COLUMNS, TABLE_SQL, HistoryRecord, RecordError
from nimwatch.core.state import RunState
from nimwatch.errors import StateError

_COLUMNS = ", ".join(name for name, _ in ROW_COLUMNS)
_INSERT = f"INSERT OR REPLACE INTO history ({_COLUMNS}) VALUES ({', '.join('?' * len(ROW_COLUMNS))})"


def master_of(run: RunState) -> str:
    """The NIM master of ``run``: the master the log names, else this host's name."""
    return run.facts.get("master", "") or socket.gethostname()


def put(conn: Any, record: HistoryRecord) -> None:
    """Insert or replace ``record``'s row (inside the caller's transaction)."""
    conn.execute(_INSERT, record.to_row())


def records(
    journal: Any, client: Optional[str] = None, since: Optional[float] = None, problems: Optional[list[str]] = None
) -> list[HistoryRecord]:
    """The history rows of an open :class:`~nimwatch.journal.Journal`, oldest first.

    A row that no longer reads as a record (edited by hand) is skipped and, when
    ``problems`` is given, named there. A journal without the table (written by
    an older nimwatch, opened read-only) has no history: [].
    """
    sql = f"SELECT {_COLUMNS} FROM history WHERE 1 = 1"
    args: list[Any] = []
    if client is not None:
        sql += " AND client = ?"
        args.append(client)
    if since is not None:
        sql += " AND COALESCE(finished_at, started_at) >= ?"
        args.append(since)
    sql += " ORDER BY COALESCE(finished_at, started_at), client, key"
    try:
        rows = journal._query(sql, tuple(args))  # (under the lock of the journal's one connection)
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise StateError(f"{journal.path}: cannot read the run history: {exc}") from None
    out: list[HistoryRecord] = []
    for row in rows:
        try:
            out.append(HistoryRecord.from_row(row))
        except RecordError as exc:
            if problems is not None:
                problems.append(f"{journal.path}: history row {row[0]!r} skipped: {exc}")
    return out


def store_records(path: Path, new: Iterable[HistoryRecord]) -> int:
    """Write rows into the journal at ``path`` (created when missing) in one short transaction.

    Takes no watcher lock: SQLite's own locking lets this run beside a
    ``nimwatch watch`` that holds the journal. Returns the rows written.
    """
    from nimwatch.journaldb import write_beside

    rows = [record.to_row() for record in new]
    write_beside(path, TABLE_SQL, "the run history", lambda conn: conn.executemany(_INSERT, rows))
    return len(rows)
