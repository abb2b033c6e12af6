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
  offset, so that a restart reads on from there instead of from byte 0;
* per log and run, each hook's last result (for ``status`` and the TUI
  beside the watcher), forgotten with the log's content it is about.

It also keeps the nimadm runs ``nimwatch run`` started (command line, PID,
exit status): :func:`record_launch` writes them from any process, without
the watcher lock.

Written in WAL mode, one transaction per batch, so ``kill -9`` loses at most
the batch being written (and that batch is re-read on restart). The file
itself (schema, opening, locking, damage, transactions) is
:mod:`nimwatch.journaldb`'s; only one watcher may use a journal at a time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Optional

from nimwatch.feed import FileIdentity
from nimwatch.journaldb import LAUNCH_FIELDS, LAUNCHES_SQL, JournalDB, from_db, write_beside

HOOK_RESULTS = "hook_results"
"""The key-value namespace of the hooks' last results (:mod:`nimwatch.sources.hook_results`): key ``[the log's
real path, nth run of the log's content, hook]``, value a JSON object with the ``generation`` of that content."""
FORGOTTEN = "forgotten_below"
"""The generation below which a log's contents were forgotten (key: the log's real path): no result of one is kept."""
_INSERT_LAUNCH = f"INSERT INTO launches ({', '.join(LAUNCH_FIELDS)}) VALUES ({', '.join('?' * len(LAUNCH_FIELDS))})"


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


class Journal(JournalDB):
    """The SQLite state journal. Thread-safe: one connection behind one lock."""

    # ------------------------------------------------------------------ files

    def file_records(self) -> dict[str, FileRecord]:
        rows = self._query(
            "SELECT log, dev, ino, generation, offset, head_len, head_hash, prefix_hash, lines, last_at FROM files"
        )
        return {from_db(r[0]): FileRecord(FileIdentity(*r[1:8]), r[8], r[9]) for r in rows}

    def file_identities(self) -> dict[str, FileIdentity]:
        """Log -> the identity recorded for it (the tailer's ``offsets``)."""
        return {log: rec.identity for log, rec in self.file_records().items()}

    def record_file(self, log: str, identity: FileIdentity, lines: int, at: float, checkpoint: bool) -> None:
        """How far ``log`` was read; with ``checkpoint``, also when these bytes arrived."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO files (log, dev, ino, generation, offset, head_len, head_hash, prefix_hash,"
                " lines, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (log, *astuple(identity), lines, at),
            )
            if checkpoint:
                conn.execute(
                    "INSERT OR REPLACE INTO checkpoints (log, generation, offset, line, at) VALUES (?, ?, ?, ?, ?)",
                    (log, identity.generation, identity.offset, lines, at),
                )

    def forget_generations(self, log: str, keep: int) -> None:
        """Drop the arrival checkpoints and the hook results of contents older than generation ``keep``."""
        names = {log, os.path.realpath(log)}
        with self.transaction() as conn:
            if keep > self._forgotten_below(log):  # a late result about a content forgotten here is refused
                self.kv_put(FORGOTTEN, os.path.realpath(log), str(keep))
            conn.execute("DELETE FROM checkpoints WHERE log = ? AND generation < ?", (log, keep))
            rows = conn.execute("SELECT key, value FROM kv WHERE ns = ?", (HOOK_RESULTS,)).fetchall()
            old = [(HOOK_RESULTS, key) for key, value in rows if _result_before(key, value, names, keep)]
            conn.executemany("DELETE FROM kv WHERE ns = ? AND key = ?", old)

    def checkpoints(self, log: str, generation: int) -> list[tuple[int, float]]:
        """(end offset, arrival time) of the reads of one content, in file order."""
        rows = self._query(
            "SELECT offset, at FROM checkpoints WHERE log = ? AND generation = ? ORDER BY offset", (log, generation)
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def generation(self, log: str) -> Optional[int]:
        """The generation of the content of ``log`` recorded last (None: the log is not recorded)."""
        row = self._query("SELECT generation FROM files WHERE log = ?", (log,))
        return int(row[0][0]) if row else None

    def arrival_times(self, log: str) -> dict[int, float]:
        """Line number -> arrival time for the current content of ``log`` (for replay pacing).

        Lines between two entries arrived no later than the next entry.
        """
        gen = self.generation(log)
        if gen is None:
            return {}
        out: dict[int, float] = {}
        for line, at in self._query(
            "SELECT line, at FROM checkpoints WHERE log = ? AND generation = ? "
            "UNION ALL SELECT line, at FROM notices WHERE log = ? AND generation = ? AND line IS NOT NULL",
            (log, gen, log, gen),
        ):
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
        cur = self._write(
            "INSERT OR IGNORE INTO notices (key, log, generation, run, event, phase, line, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, log, generation, run, event, phase, line, at),
        )
        return cur.rowcount == 1

    # ------------------------------------------------------------------ once

    def mark_once(self, kind: str, key: str) -> bool:
        """True the first time (kind, key) is recorded, False ever after (persistent)."""
        cur = self._write("INSERT OR IGNORE INTO once (kind, key, at) VALUES (?, ?, ?)", (kind, key, time.time()))
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
            allowed = exempt or sent < limit
            if exempt:
                report, held = report + held, 0
            elif allowed:
                sent += 1
            else:
                held += 1
            conn.execute(
                "INSERT OR REPLACE INTO alert_rate (sink, client, window_start, sent, held) VALUES (?, ?, ?, ?, ?)",
                (sink, client, start, sent, held),
            )
            return allowed, report, since, held

    def spool_add(self, sink: str, key: str, payload: dict[str, Any], at: float) -> int:
        cur = self._write(
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

    def spool_sent(self, item_id: int, at: float) -> None:
        self._write("UPDATE spool SET state = 'sent', done_at = ?, last_error = '' WHERE id = ?", (at, item_id))

    def spool_retry(self, item_id: int, attempts: int, next_try: float, error: str) -> None:
        sql = "UPDATE spool SET attempts = ?, next_try = ?, last_error = ? WHERE id = ?"
        self._write(sql, (attempts, next_try, error, item_id))

    def spool_drop(self, item_id: int, at: float, error: str) -> None:
        """Give up on an item the receiver rejected for good (kept, marked ``rejected``)."""
        sql = "UPDATE spool SET state = 'rejected', done_at = ?, last_error = ? WHERE id = ?"
        self._write(sql, (at, error, item_id))

    def spool_pending(self) -> dict[str, int]:
        """Sink -> number of alerts waiting."""
        rows = self._query("SELECT sink, COUNT(*) FROM spool WHERE state = 'pending' GROUP BY sink")
        return {r[0]: int(r[1]) for r in rows}

    # ------------------------------------------------------------------ stdout outbox

    def outbox_add(self, line: str) -> int:
        """Record a stdout line as due (in the transaction of its event); returns its sequence number."""
        return int(self._write("INSERT INTO outbox (line) VALUES (?)", (line,)).lastrowid or 0)

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
        self._write(
            "INSERT OR REPLACE INTO snapshots (log, generation, offset, fingerprint, data, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (log, generation, offset, fingerprint, data, at),
        )

    def snapshot_get(self, log: str) -> Optional[tuple[int, int, str, str]]:
        """(generation, offset, fingerprint, data) of the last snapshot of ``log``, or None."""
        rows = self._query("SELECT generation, offset, fingerprint, data FROM snapshots WHERE log = ?", (log,))
        return next(((int(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows), None)

    def snapshot_offsets(self) -> dict[str, tuple[int, int, str]]:
        """Log -> (generation, offset, fingerprint) of every snapshot (no data)."""
        rows = self._query("SELECT log, generation, offset, fingerprint FROM snapshots")
        return {from_db(r[0]): (int(r[1]), int(r[2]), str(r[3])) for r in rows}

    # ------------------------------------------------------------------ queued hook runs

    def hook_job_add(self, hook: str, notice: str, matched: str, at: float) -> int:
        """Keep a queued hook run (in the transaction of its event); returns its id."""
        cur = self._write(
            "INSERT INTO hook_jobs (hook, notice, matched, created) VALUES (?, ?, ?, ?)", (hook, notice, matched, at)
        )
        return int(cur.lastrowid or 0)

    def hook_job_retry(self, job_id: int, attempt: int, next_try: float) -> None:
        self._write("UPDATE hook_jobs SET attempt = ?, next_try = ? WHERE id = ?", (attempt, next_try, job_id))

    def hook_job_done(self, job_id: int) -> None:
        self._write("DELETE FROM hook_jobs WHERE id = ?", (job_id,))

    def hook_jobs(self) -> list[tuple[int, str, str, str, int, float]]:
        """(id, hook, notice JSON, matched, attempt, next_try) of every kept run, oldest first."""
        rows = self._query("SELECT id, hook, notice, matched, attempt, next_try FROM hook_jobs ORDER BY id")
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), float(r[5])) for r in rows]

    # ------------------------------------------------------------------ small key-value store

    def kv_put(self, ns: str, key: str, value: Optional[str]) -> None:
        """Set (or with None delete) a value in namespace ``ns`` (sinks keep their state here)."""
        if value is None:
            self._write("DELETE FROM kv WHERE ns = ? AND key = ?", (ns, key))
        else:
            self._write("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)", (ns, key, value))

    def kv_items(self, ns: str) -> dict[str, str]:
        return {r[0]: r[1] for r in self._query("SELECT key, value FROM kv WHERE ns = ?", (ns,))}

    def keep_hook_result(
        self, log: str, run: int, hook: str, result: dict[str, Any], generation: Optional[int] = None
    ) -> bool:
        """The last result of ``hook`` on the ``run``-th run of content ``generation`` of ``log`` (forgotten
        with it; None: the content recorded last). A result about a content the journal has replaced since
        is not kept (returns False): it would be read as the new content's run.
        """
        with self.transaction():
            current = self.generation(log)
            if generation is not None and (
                (current is not None and generation != current) or generation < self._forgotten_below(log)
            ):
                return False
            row = {**result, "generation": current if generation is None else generation}
            key = json.dumps([os.path.realpath(log), run, hook])
            self.kv_put(HOOK_RESULTS, key, json.dumps(row, sort_keys=True, default=str))
            return True

    def _forgotten_below(self, log: str) -> int:
        rows = self._query("SELECT value FROM kv WHERE ns = ? AND key = ?", (FORGOTTEN, os.path.realpath(log)))
        return int(rows[0][0]) if rows else 0

    def hook_results(self) -> dict[str, str]:
        """Each hook's last result (JSON) by its key (:data:`HOOK_RESULTS`)."""
        return self.kv_items(HOOK_RESULTS)

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
        out = (dict(zip(LAUNCH_FIELDS, row)) for row in rows)
        return [{**row, "argv": json.loads(row["argv"])} for row in out]


def _result_before(key: str, value: str, names: set[str], keep: int) -> bool:
    """The hook result row is about a log of ``names``, of a content older than ``keep`` (or not known)."""
    try:
        log, generation = json.loads(key)[0], json.loads(value).get("generation")
    except (ValueError, TypeError, IndexError, KeyError, AttributeError):
        return False
    return log in names and not (isinstance(generation, int) and generation >= keep)


def record_launch(path: Path, row: dict[str, Any]) -> None:
    """Add or complete the journal row of one nimadm run (keyed by its record file).

    Any process may call this while a watcher holds the journal: it takes no
    watcher lock, only SQLite's own (one short transaction). A known exit
    status is never overwritten by an unknown one.
    """

    def write(conn: sqlite3.Connection) -> None:
        values = {key: row.get(key) for key in LAUNCH_FIELDS}
        values["argv"] = json.dumps(list(row.get("argv") or []), ensure_ascii=False)
        known = conn.execute("SELECT 1 FROM launches WHERE record = ?", (values["record"],)).fetchone()
        if known is None:
            conn.execute(_INSERT_LAUNCH, tuple(values[key] for key in LAUNCH_FIELDS))
        else:
            conn.execute(
                "UPDATE launches SET pid = COALESCE(?, pid), exit_code = COALESCE(?, exit_code),"
                " signal = COALESCE(?, signal), ended = COALESCE(?, ended) WHERE record = ?",
                (values["pid"], values["exit_code"], values["signal"], values["ended"], values["record"]),
            )

    write_beside(path, LAUNCHES_SQL, "the nimadm run", write)
