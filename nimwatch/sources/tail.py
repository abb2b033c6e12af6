"""Live following of nimadm logs by name: the :class:`Tailer`.

Owns discovery (a directory means its ``*_alt_mig.log`` files, new ones may
appear at any time; a single file may not exist yet), the choice of watchdog
observer (inotify where there is one; the polling observer when ``poll``
seconds are given, on AIX, or on a network file system) and the reader thread.

Watchdog events only *wake* the reader. The reader does bounded ``pread``
calls on its own descriptors (never ``select``/``poll`` on a regular file,
which is always "ready") and follows each log by name, like ``tail -F``:

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
``threading.Event``. What is read goes to a :class:`FeedSink`: the engine by
default, the journal-backed recorder in ``nimwatch watch``. No Textual and no
SQLite in this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from nimwatch.engine import Engine, Notice
from nimwatch.sources.files import LOG_SUFFIX

READ_SIZE = 256 * 1024
"""Bytes per ``pread``: the parser is fastest on blocks of this order."""
TURN_BUDGET = 1 << 20
"""Bytes read from one log per turn of the reader, so one busy log cannot starve the others."""
HEAD_MAX = 4096
"""The first line (at most this many bytes) is hashed to recognise a file rewritten in place."""
TAIL_CHECK = 64
"""The last bytes read are compared again before reading on: a file truncated and grown past the
offset between two looks (copytruncate, then a re-run writing fast) is caught as rewritten."""
RESCAN_SECONDS = 10.0
"""Safety re-stat of every log and directory, for events a watcher missed."""
DEFAULT_POLL = 1.0
"""Polling interval when polling is forced (no native observer, network file system) and none was given."""
NETWORK_FILESYSTEMS = (
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "9p",
    "fuse.sshfs",
    "ceph",
    "glusterfs",
    "lustre",
    "gpfs",
)
"""File systems where inotify does not see writes made by other hosts."""


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
    """Where the tailer hands what it reads (called in the reader thread, in file order)."""

    def feed(self, log: str, data: bytes, at: float, chunk: Chunk) -> None: ...

    def restart(self, log: str, reason: str, at: float, old: FileIdentity, new: FileIdentity) -> None: ...


class EngineSink:
    """The plain sink: straight into the engine (the TUI, tests).

    Sinks may also have ``replaced(log, at, fields)`` (the file under a log's name changed while
    nimwatch was down), ``snapshot_offset(log, generation)`` and ``restore(log, identity)``
    (resume a log from a saved state instead of byte 0): the tailer uses them when they exist.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def feed(self, log: str, data: bytes, at: float, chunk: Chunk) -> None:
        self.engine.feed(log, data, at)

    def restart(self, log: str, reason: str, at: float, old: FileIdentity, new: FileIdentity) -> None:
        self.engine.restart(log, reason, at)

    def replaced(self, log: str, at: float, fields: dict[str, Any]) -> None:
        state = self.engine.add_log(log)
        self.engine.publish(Notice("log_replaced", at, log, state.client, fields=fields))


def _sha1(data: bytes = b"") -> Any:
    """SHA-1 for file identity, not security (allowed on FIPS systems)."""
    return hashlib.sha1(data, usedforsecurity=False)


# ---------------------------------------------------------------------- observers


def _unescape_mount(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def mount_fstype(path: str, mounts_file: str = "/proc/mounts") -> Optional[str]:
    """The file system type of the mount holding ``path`` (None where /proc/mounts does not exist, e.g. AIX)."""
    try:
        with open(mounts_file, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    best = ""
    found: Optional[str] = None
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = _unescape_mount(parts[1])
        prefix = mount.rstrip("/") + "/"
        if (real == mount or real.startswith(prefix) or mount == "/") and len(mount) >= len(best):
            best, found = mount, parts[2]
    return found


def is_network_fs(path: str, mounts_file: str = "/proc/mounts") -> bool:
    fstype = mount_fstype(path, mounts_file)
    return fstype is not None and (fstype in NETWORK_FILESYSTEMS or fstype.startswith("nfs"))


def native_observer_available() -> bool:
    """True where watchdog has a native observer (inotify, kqueue, FSEvents); False on AIX."""
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    return not issubclass(Observer, PollingObserver)  # type: ignore[arg-type]


def observer_kind(directory: str, poll: Optional[float]) -> str:
    """``"native"`` or ``"polling"`` for one watched directory."""
    if poll is not None or not native_observer_available() or is_network_fs(directory):
        return "polling"
    return "native"


def _make_observer(kind: str, poll: Optional[float]) -> Any:
    if kind == "native":
        from watchdog.observers import Observer

        return Observer()
    from watchdog.observers.polling import PollingObserver

    return PollingObserver(timeout=poll if poll is not None else DEFAULT_POLL)


def _wake_handler(notify: Callable[[str], None]) -> Any:
    from watchdog.events import FileSystemEvent, FileSystemEventHandler

    class _Wake(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            notify(os.fsdecode(event.src_path))
            dest = getattr(event, "dest_path", "")
            if dest:
                notify(os.fsdecode(dest))

    return _Wake()


# ---------------------------------------------------------------------- one followed log


class _Log:
    """A followed name and the file currently open under it."""

    def __init__(self, log: str, resume: Optional[FileIdentity]) -> None:
        self.log = log
        self.resume = resume
        self.fd: Optional[int] = None
        self.dev: Optional[int] = None
        self.ino: Optional[int] = None
        self.generation = 0
        self.offset = 0
        self.delivered = 0
        """Bytes of this content the sink has taken (``offset`` moves first, while a chunk is handed over)."""
        self.head = bytearray()
        self.head_done = False
        self.tail = b""
        self.prefix = _sha1()
        self.historic_end = 0
        self.catchup_end = 0
        self.catchup_at = 0.0
        self.backlog_end = 0
        self.rotated_away = False
        """The open file is the old one, found rotated at start: once read to its end, the name's is next."""
        self.shrunk = 0
        """The generation whose file was seen smaller than what was read (a truncation, however fast the
        file grew back); 0 when none. Set by the observer thread, acted on by the reader."""
        self.mtime_ns = 0
        self.error: Optional[str] = None
        self.opened_once = False
        self.vanished = False

    def reset_content(self) -> None:
        self.offset = 0
        self.delivered = 0
        self.head = bytearray()
        self.head_done = False
        self.tail = b""
        self.prefix = _sha1()
        self.historic_end = 0
        self.catchup_end = 0
        self.backlog_end = 0

    def identity(self) -> FileIdentity:
        return FileIdentity(
            dev=self.dev or 0,
            ino=self.ino or 0,
            generation=self.generation,
            offset=self.offset,
            head_len=len(self.head),
            head_hash=_sha1(bytes(self.head)).hexdigest() if self.head else "",
            prefix_hash=self.prefix.copy().hexdigest(),
        )

    def account(self, data: bytes) -> None:
        """Advance over ``data``: offset, first-line hash and prefix hash."""
        if not self.head_done:
            room = HEAD_MAX - len(self.head)
            nl = data.find(b"\n", 0, room)
            if nl >= 0:
                self.head += data[: nl + 1]
                self.head_done = True
            else:
                self.head += data[:room]
                self.head_done = len(self.head) >= HEAD_MAX
        self.prefix.update(data)
        self.offset += len(data)
        self.tail = (self.tail + data[-TAIL_CHECK:])[-TAIL_CHECK:]


def _prefix_hash(fd: int, length: int) -> str:
    h = _sha1()
    pos = 0
    while pos < length:
        data = os.pread(fd, min(TURN_BUDGET, length - pos), pos)
        if not data:
            break
        h.update(data)
        pos += len(data)
    return h.hexdigest() if pos == length else ""


# ---------------------------------------------------------------------- the tailer


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
    ) -> None:
        self.engine = engine
        self.backlog = backlog
        self.poll = poll
        self.on_error = on_error or (lambda message: None)
        self.clock = clock
        self.sink: FeedSink = sink or EngineSink(engine)
        self.rescan = rescan
        self._offsets = dict(offsets or {})
        self._dirs: list[str] = []
        self._files: list[str] = []
        for raw in paths:
            path = os.path.abspath(os.fspath(raw))
            if os.path.isdir(path) or (not os.path.exists(path) and not path.endswith(".log")):
                if path not in self._dirs:
                    self._dirs.append(path)
            elif path not in self._files:
                self._files.append(path)
        self._logs: dict[str, _Log] = {}
        self._dir_errors: dict[str, str] = {}
        self._io = threading.Lock()
        self._state_lock = threading.Lock()
        self._dirty: set[str] = set()
        self._rediscover = True
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._observers: dict[str, Any] = {}
        self._watches: dict[str, tuple[Any, Any, tuple[int, int]]] = {}

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

    def problems(self) -> list[str]:
        """What cannot be read right now, one line each (directories first, then logs)."""
        with self._state_lock:
            logs = [(item.log, item.error) for item in self._logs.values() if item.error]
        return [f"{d}: {m}" for d, m in sorted(self._dir_errors.items())] + [f"{log}: {e}" for log, e in sorted(logs)]

    def observer_kinds(self) -> dict[str, str]:
        """Watched directory -> ``native`` or ``polling``."""
        return {d: observer_kind(d, self.poll) for d in self._watch_dirs()}

    def scan_once(self) -> None:
        """Discover the logs and read everything new, in the calling thread."""
        with self._io:
            self._discover()
            for item in self._snapshot_logs():
                more = True
                while more:  # a log with more than one turn's budget is read to its end
                    more = self._service(item, TURN_BUDGET)

    def start(self, catch_up: bool = False) -> None:
        """Start the observers and the reader thread (returns at once).

        ``catch_up``: first read everything already there, in the calling thread (the
        observers are already watching, so nothing written meanwhile is missed).
        """
        if self._thread is not None:
            return
        self._stop.clear()
        self._schedule_watches()
        for observer in self._observers.values():
            observer.start()
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
        for observer in self._observers.values():
            try:
                observer.stop()
            except Exception as exc:  # a dead emitter must not keep the others running
                self.on_error(f"stopping the file watcher: {exc}")
        for observer in self._observers.values():
            if observer.is_alive():
                observer.join()
        self._observers.clear()
        self._watches.clear()
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
        dirs = list(self._dirs)
        for f in self._files:
            parent = os.path.dirname(f)
            if parent not in dirs:
                dirs.append(parent)
        return dirs

    def _schedule_watches(self) -> None:
        for directory in self._watch_dirs():
            try:
                st = os.stat(directory)
            except OSError:
                continue  # reported by discovery, scheduled at a later rescan
            known = self._watches.get(directory)
            if known is not None:
                if known[2] == (st.st_dev, st.st_ino):
                    continue
                self._unschedule(directory)
            kind = observer_kind(directory, self.poll)
            observer = self._observers.get(kind)
            if observer is None:
                observer = _make_observer(kind, self.poll)
                self._observers[kind] = observer
                if self._thread is not None:
                    observer.start()
            try:
                watch = observer.schedule(_wake_handler(self._notify), directory, recursive=False)
            except OSError as exc:
                self._dir_error(directory, f"cannot watch: {exc.strerror or exc}")
                continue
            self._watches[directory] = (observer, watch, (st.st_dev, st.st_ino))

    def _unschedule(self, directory: str) -> None:
        observer, watch, _ = self._watches.pop(directory)
        with contextlib.suppress(Exception):
            observer.unschedule(watch)

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
    def _note_size(item: _Log) -> None:
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
        if path.endswith(LOG_SUFFIX) and os.path.dirname(path) in self._dirs:
            return True
        return path in self._dirs or path in self._files

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
                    self._schedule_watches()
                    self._discover()
                    todo = self._snapshot_logs()
                else:
                    with self._state_lock:
                        rediscover = self._rediscover
                    if rediscover:
                        self._discover()
                    with self._state_lock:
                        names = self._dirty
                        self._dirty = set()
                        todo = [self._logs[n] for n in sorted(names) if n in self._logs]
                for item in todo:
                    if self._stop.is_set():
                        break
                    if self._service(item, TURN_BUDGET):
                        with self._state_lock:
                            self._dirty.add(item.log)

    def _snapshot_logs(self) -> list[_Log]:
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
                self._logs[log] = _Log(log, self._offsets.get(log))
                self._dirty.add(log)
            self.engine.add_log(log)

    # ------------------------------------------------------------------ one log

    def _error(self, item: _Log, message: str) -> None:
        if item.error != message:
            item.error = message
            self.on_error(f"{item.log}: {message}")

    def _service(self, item: _Log, budget: int) -> bool:
        """Look at one log: follow its name, read up to ``budget`` bytes. True when more is waiting."""
        try:
            return self._service_unchecked(item, budget)
        except OSError as exc:
            self._error(item, f"cannot read: {exc.strerror or exc} (will retry)")
            self._close(item)
            return False
        except Exception:  # a bug downstream must not stop the other logs
            self.on_error(f"{item.log}: internal error while reading:\n{traceback.format_exc()}")
            return False

    def _service_unchecked(self, item: _Log, budget: int) -> bool:
        try:
            st = os.stat(item.log)
        except (FileNotFoundError, NotADirectoryError):
            if item.fd is not None:
                self._drain(item)
                self._close(item)
            item.vanished = item.opened_once
            return False
        if not stat.S_ISREG(st.st_mode):
            if item.fd is not None:
                self._drain(item)
                self._close(item)
            self._error(item, "not a regular file (a directory, FIFO or device): skipped until it is one")
            return False
        rotated = False
        if item.fd is not None and (st.st_dev, st.st_ino) != (item.dev, item.ino):
            self._drain(item)
            self._close(item)
            rotated = True
        if item.fd is None and not self._open(item, "rotated" if rotated else "replaced"):
            return False
        assert item.fd is not None
        fst = os.fstat(item.fd)
        size = fst.st_size
        if size < item.offset or (item.shrunk and item.shrunk == item.generation):
            self._restart(item, "truncated")
        elif size == item.offset:
            if fst.st_mtime_ns != item.mtime_ns:
                item.mtime_ns = fst.st_mtime_ns
                if self._rewritten(item):
                    self._restart(item, "rewritten")
                    return True
            return False
        elif self._rewritten(item):
            self._restart(item, "rewritten")
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

    def _open(self, item: _Log, reason: str) -> bool:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
        try:
            fd = os.open(item.log, flags)
        except FileNotFoundError:
            return False
        except OSError as exc:
            self._error(item, f"cannot open: {exc.strerror or exc} (will retry)")
            return False
        try:
            fst = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        if not stat.S_ISREG(fst.st_mode):
            os.close(fd)
            self._error(item, "not a regular file (a directory, FIFO or device): skipped until it is one")
            return False
        ident = (fst.st_dev, fst.st_ino)
        item.fd = fd
        if not item.opened_once:
            self._first_open(item, fd, fst)  # may open the rotated old file instead: it sets dev and ino
        else:
            if ident != (item.dev, item.ino) or (item.vanished and self._not_the_same(item, fst.st_size)):
                old = item.identity()
                item.dev, item.ino = ident
                item.generation += 1
                item.reset_content()
                self.sink.restart(item.log, reason, self.clock(), old, item.identity())
            item.dev, item.ino = ident
        item.opened_once = True
        item.vanished = False
        item.error = None
        return True

    def _first_open(self, item: _Log, fd: int, fst: os.stat_result) -> None:
        """The first open this session: the content the journal knows (resumed), or a new generation.

        A file under the log's name that is not the one the journal knows was put there while
        nimwatch was down: the change is reported (``replaced`` on the sink); when the old file
        is still in the directory under another name (rotated), it is read to its end first.
        """
        resume = item.resume
        item.dev, item.ino = fst.st_dev, fst.st_ino
        item.reset_content()
        size = fst.st_size
        if resume is None:
            item.generation = 1
        elif (resume.dev, resume.ino) == (fst.st_dev, fst.st_ino):
            if not self._adopt(item, fd, resume, size):
                item.generation = resume.generation + 1
                why = "truncated" if size < resume.offset else "rewritten"
                self._replaced(item, f"{why} while nimwatch was down: read anew from its start", None, resume)
        else:
            rotated = self._find_rotated(item.log, resume)
            if rotated is None:
                item.generation = resume.generation + 1
                self._replaced(
                    item,
                    "replaced by a new file while nimwatch was down, and the old one is not in the directory: "
                    "lines written to it after nimwatch stopped are lost; the new file is read from its start",
                    None,
                    resume,
                )
            else:
                path, old_fd, old_size = rotated
                os.close(fd)
                item.fd = fd = old_fd
                item.rotated_away = True
                item.dev, item.ino = resume.dev, resume.ino
                size = old_size
                self._adopt(item, fd, resume, size, verified=True)
                self._replaced(
                    item, f"rotated to {path} while nimwatch was down: its end is read first, then the new file",
                    path, resume,
                )
        item.catchup_end = size
        item.catchup_at = min(self.clock(), fst.st_mtime)
        if resume is None and self.backlog is not None and self.clock() - fst.st_mtime > self.backlog:
            item.backlog_end = size

    def _adopt(self, item: _Log, fd: int, resume: FileIdentity, size: int, verified: bool = False) -> bool:
        """Resume a file that holds what the journal says was read of it (its first ``resume.offset``
        bytes hash the same): from the sink's snapshot when it has one, else from byte 0 (the bytes
        before ``resume.offset`` flagged historic). False when the file is not that content."""
        if size < resume.offset:
            return False
        want = getattr(self.sink, "snapshot_offset", None)
        snap = want(item.log, resume.generation) if want is not None else None
        if snap is not None and not 0 < snap <= resume.offset:
            snap = None
        h = _sha1()
        at_snap = None
        pos = 0
        while pos < resume.offset:
            if snap is not None and pos == snap:
                at_snap = h.copy()
            step = min(TURN_BUDGET, resume.offset - pos)
            if snap is not None and pos < snap:
                step = min(step, snap - pos)  # stop at the snapshot's offset to keep the hash of that prefix
            data = os.pread(fd, step, pos)
            if not data:
                return False
            h.update(data)
            pos += len(data)
        if snap is not None and pos == snap:
            at_snap = h.copy()
        if not verified and h.hexdigest() != resume.prefix_hash:
            return False
        item.generation = resume.generation
        item.historic_end = resume.offset
        restore = getattr(self.sink, "restore", None)
        if snap is None or at_snap is None or restore is None:
            return True
        head = os.pread(fd, min(HEAD_MAX, snap), 0)
        nl = head.find(b"\n")
        tail = os.pread(fd, min(TAIL_CHECK, snap), snap - min(TAIL_CHECK, snap))
        ident = FileIdentity(item.dev or 0, item.ino or 0, resume.generation, snap)
        if not restore(item.log, ident):
            return True  # the snapshot is not usable: from byte 0, as without one
        item.head = bytearray(head[: nl + 1] if nl >= 0 else head)
        item.head_done = nl >= 0 or len(head) >= HEAD_MAX
        item.tail = tail
        item.prefix = at_snap
        item.offset = item.delivered = snap
        return True

    def _find_rotated(self, log: str, resume: FileIdentity) -> Optional[tuple[str, int, int]]:
        """The file the journal knew under ``log``'s name, now under another name in the same directory
        (``x_alt_mig.log.1``): (its path, an open descriptor, its size), or None."""
        directory = os.path.dirname(log)
        try:
            with os.scandir(directory) as entries:
                names = sorted(e.name for e in entries)
        except OSError:
            return None
        for name in names:
            path = os.path.join(directory, name)
            if path == log:
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) != (resume.dev, resume.ino) or not stat.S_ISREG(st.st_mode):
                continue
            flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
            try:
                fd = os.open(path, flags)
            except OSError:
                return None
            size = os.fstat(fd).st_size
            # inode numbers are reused: it must also start with the bytes that were read
            if size >= resume.offset and _prefix_hash(fd, resume.offset) == resume.prefix_hash:
                return path, fd, size
            os.close(fd)
            return None
        return None

    def _replaced(self, item: _Log, reason: str, rotated_to: Optional[str], resume: FileIdentity) -> None:
        tell = getattr(self.sink, "replaced", None)
        if tell is not None:
            tell(item.log, self.clock(), {"reason": reason, "rotated_to": rotated_to, "read_to": resume.offset})

    def _not_the_same(self, item: _Log, size: int) -> bool:
        """A file back under a vanished name with the old inode number: inodes are reused, so check the bytes."""
        return size < item.offset or self._rewritten(item)

    def _rewritten(self, item: _Log) -> bool:
        """The bytes already read changed: the first line, or the last bytes before the offset."""
        assert item.fd is not None
        if item.tail and os.pread(item.fd, len(item.tail), item.offset - len(item.tail)) != item.tail:
            return True
        return item.head_done and os.pread(item.fd, len(item.head), 0) != bytes(item.head)

    def _restart(self, item: _Log, reason: str) -> None:
        old = item.identity()
        item.shrunk = 0
        item.generation += 1
        item.reset_content()
        self.sink.restart(item.log, reason, self.clock(), old, item.identity())

    def _deliver(self, item: _Log, data: bytes) -> None:
        """Feed ``data`` (read at ``item.offset``), split where the arrival regime changes."""
        while data:
            start = item.offset
            historic = start < item.historic_end
            if historic:
                cut = item.historic_end - start
                at = item.catchup_at
            elif start < item.catchup_end:
                cut = item.catchup_end - start
                at = item.catchup_at
            else:
                cut = len(data)
                at = self.clock()
            piece, data = data[:cut], data[cut:]
            item.account(piece)
            backlog = start < item.backlog_end
            self.sink.feed(item.log, piece, at, Chunk(start, item.identity(), historic, backlog))
            item.delivered = item.offset

    def _drain(self, item: _Log) -> None:
        """Read what is left in the open file (rotated or deleted under its name)."""
        assert item.fd is not None
        try:
            while True:
                data = os.pread(item.fd, READ_SIZE, item.offset)
                if not data:
                    break
                self._deliver(item, data)
        except OSError as exc:
            self._error(item, f"cannot read the rest of the old file: {exc.strerror or exc}")

    def _close(self, item: _Log) -> None:
        item.rotated_away = False
        if item.fd is not None:
            with contextlib.suppress(OSError):
                os.close(item.fd)
            item.fd = None
