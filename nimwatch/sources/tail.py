"""The follow loop: the :class:`Tailer` follows nimadm logs by name, like ``tail -F``.

Owns discovery (a directory means its ``*_alt_mig.log`` files, new ones may
appear at any time; a single file may not exist yet), the reader thread and
what it reads. Watchdog observers (:mod:`nimwatch.sources.observers`) only
*wake* the reader; which content is under a name (rotation, truncation,
resume) is decided by :mod:`nimwatch.sources.identity`.

The reader does bounded ``pread`` calls on its own descriptors (never
``select``/``poll`` on a regular file, which is always "ready"):

* ``(st_dev, st_ino)`` of the name changed: rotation. The old descriptor is
  drained to its end, then the log restarts and the new file is read from 0;
* size below the offset: truncation (copytruncate, a re-run); the log restarts
  from 0. The observer thread looks at the size at every write event too, so a
  truncation is caught even when the file grew back to the same bytes before
  the reader looked (a re-run that failed exactly like the last one). Same
  size but a new mtime and a different first line: rewritten;
* the name vanished: the descriptor is drained and closed, the state kept; a
  file that comes back under the name is read as a new one;
* a file that cannot be read (permissions, a FIFO or a directory under a log's
  name, an I/O error) is reported once through ``on_error`` and retried; the
  other logs keep going.

A safety re-stat every ``rescan`` seconds catches events a watcher missed. An
idle directory costs nothing but that re-stat: the reader waits on a
``threading.Event``. What is read goes to a :class:`~nimwatch.feed.FeedSink`:
the engine by default, the journal-backed recorder in ``nimwatch watch``; a
byte counts as delivered (:meth:`Tailer.offset`) once the sink has it. No
Textual and no SQLite in this module.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Callable, Optional

from nimwatch.core.lognames import LOG_SUFFIX
from nimwatch.engine import Engine
from nimwatch.feed import Chunk, EngineSink, FeedSink, FileIdentity
from nimwatch.sources.identity import NOT_REGULAR, FollowedLog, Opener
from nimwatch.sources.observers import Watches, observer_kind

READ_SIZE = 256 * 1024
"""Bytes per ``pread``: the parser is fastest on blocks of this order."""
TURN_BUDGET = 1 << 20
"""Bytes read from one log per turn of the reader, so one busy log cannot starve the others."""
RESCAN_SECONDS = 10.0
"""Safety re-stat of every log and directory, for events a watcher missed."""


class Tailer:
    """Follows directories of nimadm logs and single logs, feeding what appears to the engine.

    Args:
        engine: the engine the logs are registered with (and fed, without ``sink``).
        paths: directories (their ``*_alt_mig.log``, also those that appear later) or
            single log files (which may not exist yet).
        poll: None for native events where available; seconds for the polling observer.
        on_error: called with a one-line message for every problem (unreadable file,
            missing directory); the default prints nothing.
        clock: seconds since the epoch, for arrival times.
        offsets: identities from an earlier session (the journal): a file still
            holding the same content keeps its generation, and the bytes it had
            are flagged ``historic`` so the sink can re-stamp their arrival.
        sink: where the bytes go (default: straight into ``engine``).
        rescan: seconds between safety re-stats.
        backlog: seconds; a log with no entry in ``offsets`` whose last write is older than
            this has its content at first open flagged ``backlog`` (None: never).
        retrying: problems say "(will retry)" (False: a single pass, ``nimwatch status``).
    """

    def __init__(
        self,
        engine: Engine,
        paths: Sequence[Path],
        *,
        poll: Optional[float] = None,
        on_error: Optional[Callable[[str], None]] = None,
        clock: Callable[[], float] = time.time,
        offsets: Optional[Mapping[str, FileIdentity]] = None,
        sink: Optional[FeedSink] = None,
        rescan: float = RESCAN_SECONDS,
        backlog: Optional[float] = None,
        retrying: bool = True,
    ) -> None:
        self.engine = engine
        self.backlog = backlog
        self.poll = poll
        self.on_error = on_error or (lambda message: None)
        self.clock = clock
        self.sink: FeedSink = sink or EngineSink(engine)
        self.rescan = rescan
        self._retry = " (will retry)" if retrying else ""
        self._offsets = dict(offsets or {})
        self._dirs: list[str] = []
        self._files: list[str] = []
        self._add_paths(paths)
        self._logs: dict[str, FollowedLog] = {}
        self._dir_errors: dict[str, str] = {}
        self._io = threading.Lock()
        self._state_lock = threading.Lock()
        self._dirty: set[str] = set()
        self._rediscover = True
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._watches = Watches(poll, self._notify, self._dir_error)
        self._opener = Opener(self.sink, clock, backlog, self._error, self._retry)

    def _add_paths(self, paths: Sequence[Path]) -> None:
        for raw in paths:
            path = os.path.abspath(os.fspath(raw))
            if os.path.isdir(path) or (not os.path.exists(path) and not path.endswith(".log")):
                if path not in self._dirs:
                    self._dirs.append(path)
            elif path not in self._files:
                self._files.append(path)

    # ------------------------------------------------------------------ public

    @property
    def logs(self) -> list[str]:
        """The logs followed so far (absolute paths, the engine's keys)."""
        with self._state_lock:
            return sorted(self._logs)

    def offset(self, log: str) -> Optional[int]:
        """Bytes of ``log``'s current file handed to the sink so far (None for a log not followed).

        A byte counts once the sink's ``feed`` has returned: when this says N, the engine has
        processed the first N bytes.
        """
        with self._state_lock:
            item = self._logs.get(log)
        return None if item is None else item.delivered

    def position(self, log: str) -> Optional[tuple[Optional[int], Optional[int], int]]:
        """``(st_dev, st_ino, delivered)`` of the file of ``log`` last opened (None for a log not followed).

        Compare with ``os.stat(log)`` to tell whether the log on disk is the file
        already read: a log rewritten in place or renamed over has not been seen yet.
        """
        with self._state_lock:
            item = self._logs.get(log)
            return None if item is None else (item.dev, item.ino, item.delivered)

    def problems(self) -> list[str]:
        """What cannot be read right now, one line each (directories first, then logs)."""
        with self._state_lock:
            logs = [(item.log, item.error) for item in self._logs.values() if item.error]
        return [f"{d}: {m}" for d, m in sorted(self._dir_errors.items())] + [f"{log}: {e}" for log, e in sorted(logs)]

    def observer_kinds(self) -> dict[str, str]:
        """Watched directory -> ``native`` or ``polling``."""
        return {d: observer_kind(d, self.poll) for d in self._watch_dirs()}

    def follow(self, paths: Sequence[Path]) -> None:
        """Follow ``paths`` too (directories or single logs, as the constructor takes them)."""
        with self._io:
            self._add_paths(paths)
        self.wake()

    def reread(self, log: str, reason: str) -> None:
        """Read ``log`` anew from its start: the sink restarts it (``reason``), then its whole file comes again."""
        with self._io:
            with self._state_lock:
                item = self._logs.get(log)
            if item is not None and item.opened_once:
                self._opener.restart(item, reason)
                with self._state_lock:
                    self._dirty.add(log)
        self._wake.set()

    def scan_once(self) -> None:
        """Discover the logs and read everything new, in the calling thread."""
        with self._io:
            self._discover()
            for item in self._snapshot_logs():
                while self._service(item, TURN_BUDGET):  # a log with more than one turn's budget is read to its end
                    pass

    def start(self, catch_up: bool = False) -> None:
        """Start the observers and the reader thread (returns at once).

        ``catch_up``: first read everything already there, in the calling thread (the
        observers are already watching, so nothing written meanwhile is missed).
        """
        if self._thread is not None:
            return
        self._stop.clear()
        self._watches.schedule(self._watch_dirs())
        self._watches.start()
        if catch_up:
            self.scan_once()
            self.wake()
        self._thread = threading.Thread(target=self._run, name="nimwatch-tailer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the observers and the reader, join every thread and close the files."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._watches.stop(self.on_error)
        with self._io:
            for item in self._snapshot_logs():
                self._close(item)

    def wake(self, log: Optional[str] = None) -> None:
        """Ask the reader to look at ``log`` (or everything) now."""
        with self._state_lock:
            if log is None:
                self._rediscover = True
            else:
                self._dirty.add(log)
        self._wake.set()

    # ------------------------------------------------------------------ watching

    def _watch_dirs(self) -> list[str]:
        return list(dict.fromkeys([*self._dirs, *map(os.path.dirname, self._files)]))

    def _notify(self, path: str) -> None:
        """A watchdog event (observer thread): mark what to look at and wake the reader."""
        with self._state_lock:
            item = self._logs.get(path)
            if item is not None:
                self._dirty.add(path)
            elif self._may_be_new(path):
                self._rediscover = True
            else:
                return
        if item is not None:
            self._note_size(item)
        self._wake.set()

    @staticmethod
    def _note_size(item: FollowedLog) -> None:
        """A file smaller than what was read of it was truncated, even if it grows back before the reader looks.

        The offset is read before the size: a log only grows, so a size below an offset read
        earlier can only be a truncation (the generation check drops a look at an older content).
        """
        generation, offset, ident = item.generation, item.offset, (item.dev, item.ino)
        if not offset:
            return
        try:
            st = os.stat(item.log)
        except OSError:
            return
        if (st.st_dev, st.st_ino) == ident and st.st_size < offset and item.generation == generation:
            item.shrunk = generation

    def truncation_seen(self, log: str) -> bool:
        """Whether a truncation of ``log`` was seen that the reader has not acted on yet (diagnostics, tests)."""
        with self._state_lock:
            item = self._logs.get(log)
        return item is not None and bool(item.shrunk) and item.shrunk == item.generation

    def _may_be_new(self, path: str) -> bool:
        """A log that may have appeared in a watched directory, or a watched name itself."""
        in_dir = path.endswith(LOG_SUFFIX) and os.path.dirname(path) in self._dirs
        return in_dir or path in self._dirs or path in self._files

    # ------------------------------------------------------------------ reader thread

    def _run(self) -> None:
        next_scan = time.monotonic() + self.rescan
        while not self._stop.is_set():
            with self._state_lock:
                busy = bool(self._dirty) or self._rediscover
            if not busy:
                self._wake.wait(max(0.0, next_scan - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                break
            with self._io:
                now = time.monotonic()
                if now >= next_scan:
                    next_scan = now + self.rescan
                    self._watches.schedule(self._watch_dirs())
                    self._discover()
                    todo = self._snapshot_logs()
                else:
                    with self._state_lock:
                        rediscover = self._rediscover
                    if rediscover:
                        self._discover()
                    with self._state_lock:
                        names, self._dirty = self._dirty, set()
                        todo = [self._logs[n] for n in sorted(names) if n in self._logs]
                for item in todo:
                    if self._stop.is_set():
                        break
                    if self._service(item, TURN_BUDGET):
                        with self._state_lock:
                            self._dirty.add(item.log)

    def _snapshot_logs(self) -> list[FollowedLog]:
        with self._state_lock:
            return [self._logs[n] for n in sorted(self._logs)]

    # ------------------------------------------------------------------ discovery

    def _dir_error(self, directory: str, message: str) -> None:
        if self._dir_errors.get(directory) != message:
            self._dir_errors[directory] = message
            self.on_error(f"{directory}: {message}")

    def _discover(self) -> None:
        with self._state_lock:
            self._rediscover = False
        found: list[str] = list(self._files)
        for directory in self._dirs:
            try:
                with os.scandir(directory) as entries:
                    names = [e.name for e in entries if e.name.endswith(LOG_SUFFIX) and e.name != LOG_SUFFIX]
            except FileNotFoundError:
                self._dir_error(directory, "no such directory (waiting for it)")
                continue
            except OSError as exc:
                self._dir_error(directory, f"cannot list: {exc.strerror or exc}")
                continue
            self._dir_errors.pop(directory, None)
            found.extend(os.path.join(directory, n) for n in sorted(names))
        for log in found:
            with self._state_lock:
                if log in self._logs:
                    continue
                self._logs[log] = FollowedLog(log, self._offsets.get(log))
                self._dirty.add(log)
            self.engine.add_log(log)

    # ------------------------------------------------------------------ one log

    def _error(self, item: FollowedLog, message: str) -> None:
        if item.error != message:
            item.error = message
            self.on_error(f"{item.log}: {message}")

    def _service(self, item: FollowedLog, budget: int) -> bool:
        """Look at one log: follow its name, read up to ``budget`` bytes. True when more is waiting."""
        try:
            return self._service_unchecked(item, budget)
        except OSError as exc:
            self._error(item, f"cannot read: {exc.strerror or exc}{self._retry}")
            self._close(item)
            return False
        except Exception:  # a bug downstream must not stop the other logs
            self.on_error(f"{item.log}: internal error while reading:\n{traceback.format_exc()}")
            return False

    def _service_unchecked(self, item: FollowedLog, budget: int) -> bool:
        try:
            st = os.stat(item.log)
        except (FileNotFoundError, NotADirectoryError):
            self._drain(item)
            item.vanished = item.opened_once
            return False
        if not stat.S_ISREG(st.st_mode):
            self._drain(item)
            self._error(item, NOT_REGULAR)
            return False
        rotated = item.fd is not None and (st.st_dev, st.st_ino) != (item.dev, item.ino)
        if rotated:
            self._drain(item)
        if item.fd is None and not self._opener.open(item, "rotated" if rotated else "replaced"):
            return False
        assert item.fd is not None
        fst = os.fstat(item.fd)
        size = fst.st_size
        if size < item.offset or (item.shrunk and item.shrunk == item.generation):
            self._opener.restart(item, "truncated")
        elif size == item.offset:
            if fst.st_mtime_ns != item.mtime_ns:
                item.mtime_ns = fst.st_mtime_ns
                if item.rewritten():
                    self._opener.restart(item, "rewritten")
                    return True
            return False
        elif item.rewritten():
            self._opener.restart(item, "rewritten")
        while budget > 0 and item.offset < size:
            want = min(READ_SIZE, size - item.offset, budget)
            data = os.pread(item.fd, want, item.offset)
            if not data:
                break
            self._deliver(item, data)
            budget -= len(data)
        item.mtime_ns = fst.st_mtime_ns
        item.error = None
        return item.offset < size or item.rotated_away

    def _deliver(self, item: FollowedLog, data: bytes) -> None:
        """Feed ``data`` (read at ``item.offset``), split where the arrival regime changes."""
        while data:
            start = item.offset
            historic = start < item.historic_end
            end = item.historic_end if historic else item.catchup_end  # up to it, bytes arrived at catch-up time
            cut, at = (end - start, item.catchup_at) if start < end else (len(data), self.clock())
            piece, data = data[:cut], data[cut:]
            item.account(piece)
            backlog = start < item.backlog_end
            self.sink.feed(item.log, piece, at, Chunk(start, item.identity(), historic, backlog))
            item.delivered = item.offset

    def _drain(self, item: FollowedLog) -> None:
        """Read what is left in the open file (rotated or deleted under its name), then close it."""
        if item.fd is None:
            return
        try:
            while data := os.pread(item.fd, READ_SIZE, item.offset):
                self._deliver(item, data)
        except OSError as exc:
            self._error(item, f"cannot read the rest of the old file: {exc.strerror or exc}")
        self._close(item)

    def _close(self, item: FollowedLog) -> None:
        item.rotated_away = False
        if item.fd is not None:
            with contextlib.suppress(OSError):
                os.close(item.fd)
            item.fd = None
