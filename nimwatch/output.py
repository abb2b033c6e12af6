"""JSON lines on stdout: written, then recorded; never in the way of alerts, hooks or tailing.

Owns :class:`JsonLines` (one JSON object per line, written and flushed at
once: ``replay --headless``) and :class:`StdoutWriter`, the stdout of
``nimwatch watch``:

* **Written, then recorded.** The recorder stores each new line in the state
  journal's *outbox* in the same transaction that records its event; the
  writer thread deletes it from the outbox only after the line was written
  and flushed. Lines still in the outbox when nimwatch starts (it was killed
  between the two) are printed first: at least once, never lost. Each line
  carries ``id`` (the event's journal key, unchanged when it is printed
  again), so a reader can drop a repeat.
* **Off the tailing path.** Lines wait in a bounded buffer for the writer
  thread. A reader that stops reading cannot stop tailing, alerts or hooks: as
  a service, once the buffer is full (:data:`MAX_LINES` lines or
  :data:`MAX_BYTES`), new lines are dropped: counted, said on stderr, counted
  in ``nimwatch_stdout_dropped_total`` and, when stdout moves again, reported
  by an ``output_dropped`` line before the next ones. ``--once`` waits for the
  reader instead (``block``): a batch command prints everything.
* **Encoding.** JSON is written with ``ensure_ascii``: valid in any locale.
  Only a broken pipe (the reader is gone) stops the writer; what it had not
  written stays in the outbox for the next start.
* **A hung-up terminal** (the ssh session of a ``watch`` run by hand closed:
  writes fail with EIO) is not a reader that left: printing stops (``hung_up``,
  said once on stderr), nothing more is queued or marked written (the outbox
  keeps every line for the next start), and watching goes on: alerts, hooks,
  metrics and the journal.
"""

from __future__ import annotations

import errno
import json
import sqlite3
import sys
import threading
import time
from collections import deque
from typing import Any, Optional, TextIO

from nimwatch.engine import Notice, iso
from nimwatch.terminal import say

MAX_LINES = 20_000
"""Lines the service's stdout buffer holds before it drops (a reader that stopped reading)."""
MAX_BYTES = 16 << 20
"""Bytes the stdout buffer holds before it drops."""
BATCH = 500
"""Lines written (then recorded as written) at a time."""
REPORT_EVERY = 60.0
"""While lines are being dropped, stderr says so at most this often."""


def json_line(notice: Notice, key: Optional[str] = None) -> str:
    """The ``watch`` JSON object of ``notice`` (with its ``id`` when it has a journal key), ASCII-safe."""
    obj = notice.as_json()
    if key is not None:
        obj["id"] = key
    return json.dumps(obj, ensure_ascii=True, default=str)


def _hung_up(exc: BaseException) -> bool:
    """The terminal stdout was on hung up (EIO), as opposed to a reader that left."""
    return isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError) and exc.errno == errno.EIO


def _gone(exc: BaseException) -> bool:
    """The reader is gone: a broken pipe, a hung-up terminal (EIO), or a stream closed under us (never an
    encoding error)."""
    if isinstance(exc, UnicodeError):
        return False
    if isinstance(exc, BrokenPipeError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in (errno.EPIPE, errno.EBADF, errno.EIO)
    return isinstance(exc, ValueError) and "closed file" in str(exc)


class JsonLines:
    """Thread-safe JSON lines on a stream, each written and flushed at once; diagnostics on stderr."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self._lock = threading.Lock()
        self._err_lock = threading.Lock()
        """stderr has its own lock: a diagnostic never waits behind a blocked stdout."""
        self.broken = threading.Event()
        """The reader is gone (a broken pipe): ``watch`` stops."""
        self.hung_up = threading.Event()
        """The terminal hung up: nothing more is printed, the rest goes on."""

    @property
    def silent(self) -> bool:
        """Nothing more will be printed (a reader gone, or a hung-up terminal)."""
        return self.broken.is_set() or self.hung_up.is_set()

    def notice(self, notice: Notice) -> None:
        self.write_lines([json_line(notice)])

    def write_lines(self, lines: list[str]) -> bool:
        """Write and flush ``lines``; False (and ``broken`` or ``hung_up`` set) when they cannot be."""
        with self._lock:
            if self.silent:
                return False
            try:
                self.out.write("".join(line + "\n" for line in lines))
                self.out.flush()
            except (OSError, ValueError) as exc:
                if not _gone(exc):
                    raise
                (self.hung_up if _hung_up(exc) else self.broken).set()
            else:
                return True
        if self.hung_up.is_set():
            self.diag(
                "the terminal hung up: no more event lines are printed (they stay in the journal's outbox); "
                "alerts, hooks and the journal go on"
            )
        return False

    def diag(self, message: str) -> None:
        """A problem a part of the watcher reports (a sink failing, an unreadable file): a logged warning,
        or a line on ``err`` when that is not the process's stderr (a test's stream)."""
        with self._err_lock:
            say(message, None if self.err is sys.stderr else self.err)


class StdoutWriter(JsonLines):
    """``nimwatch watch``'s stdout: a writer thread, a bounded buffer, the journal's outbox.

    Args:
        out, err: the streams.
        block: wait for room in the buffer instead of dropping (``--once``).
    """

    def __init__(self, out: TextIO, err: TextIO, *, block: bool = False, max_lines: int = MAX_LINES) -> None:
        super().__init__(out, err)
        self.journal: Any = None
        """The state journal (its outbox), set once it is open; None prints without recording."""
        self.block = block
        self.max_lines = max_lines
        self._cond = threading.Condition()
        self._queue: deque[tuple[Optional[int], str]] = deque()
        self._bytes = 0
        self._done_drops: list[int] = []
        self._stopping = False
        self._busy = False
        self._thread: Optional[threading.Thread] = None
        self.dropped = 0
        """Lines dropped since start (a reader that stopped reading)."""
        self._unreported = 0
        self._last_report = 0.0
        self.written = 0

    # ------------------------------------------------------------------ the recorder's side

    line = staticmethod(json_line)

    def put(self, seq: Optional[int], line: str, wait: bool = True) -> None:
        """Queue a line (``seq``: its outbox row); never blocks as a service.

        ``wait=False``: the caller holds the journal's transaction (the writer needs the journal
        to record what it wrote), so with ``block`` the line goes past the bound instead of waiting.
        """
        self._put(seq, line, self.block, overflow=not wait)

    def _put(self, seq: Optional[int], line: str, block: bool, overflow: bool = False) -> None:
        with self._cond:
            if self.silent:
                return  # the reader is gone or the terminal hung up; the outbox keeps the line for the next start
            full = len(self._queue) >= self.max_lines or self._bytes >= MAX_BYTES
            if full and block:
                if not overflow:
                    self._cond.wait_for(self._has_room, timeout=None)
                full = False
            if full and not self.silent:
                self.dropped += 1
                self._unreported += 1
                if seq is not None:
                    self._done_drops.append(seq)
                now = time.monotonic()
                if self._unreported == 1 or now - self._last_report >= REPORT_EVERY:
                    self._last_report = now
                    self.diag(
                        f"stdout is not being read: {self.dropped} event line(s) dropped so far "
                        f"(the buffer of {self.max_lines} lines is full); alerts and hooks go on"
                    )
                self._cond.notify_all()
                return
            self._queue.append((seq, line))
            self._bytes += len(line) + 1
            self._cond.notify_all()

    def _has_room(self) -> bool:
        return self.silent or self._stopping or (len(self._queue) < self.max_lines and self._bytes < MAX_BYTES)

    # ------------------------------------------------------------------ start, replay, stop

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="nimwatch-stdout", daemon=True)
            self._thread.start()

    def replay_outbox(self) -> int:
        """Queue the lines an earlier session recorded but did not get written; returns how many."""
        if self.journal is None:
            return 0
        pending = self.journal.outbox_pending()
        for seq, line in pending:
            self._put(seq, line, block=True)  # these were recorded as events: none is dropped
        return len(pending)

    def drain(self, timeout: Optional[float]) -> bool:
        """Wait until every queued line was written (or the reader is gone); False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.silent or (not self._queue and not self._busy and not self._done_drops),
                timeout=timeout,
            )

    def stop(self, timeout: Optional[float] = 10.0) -> None:
        """Write what is queued (within ``timeout``), then stop the thread; the rest stays in the outbox."""
        self.drain(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._done_drops or self._stopping)
                if not self._queue and not self._done_drops:
                    return  # stopping, nothing left
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                self._bytes -= sum(len(line) + 1 for _, line in batch)
                drops, self._done_drops = self._done_drops, []
                unreported, self._unreported = self._unreported, 0
                self._busy = True
                self._cond.notify_all()  # room again for a blocked put
            try:
                lines = [line for _, line in batch]
                if unreported:
                    lines.insert(0, self._dropped_line(unreported))
                if lines and not self.write_lines(lines):
                    return  # the reader is gone: what was not written stays in the outbox
                self.written += len(batch)
                if unreported:
                    self.diag(f"stdout is read again: {unreported} event line(s) were dropped meanwhile")
                self._recorded([seq for seq, _ in batch if seq is not None] + drops)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _dropped_line(self, count: int) -> str:
        now = time.time()
        return json.dumps(
            {
                "event": "output_dropped",
                "ts": iso(now),
                "client": "",
                "log": "",
                "run": None,
                "phase": None,
                "phase_name": None,
                "count": count,
                "total": self.dropped,
                "id": f"output_dropped|{now!r}",
            },
            ensure_ascii=True,
        )

    def _recorded(self, seqs: list[int]) -> None:
        if not seqs or self.journal is None:
            return
        try:
            self.journal.outbox_done(seqs)
        except sqlite3.Error as exc:  # printed anyway; they would be printed again after a restart
            self.diag(f"state journal: cannot record printed lines: {exc}")
