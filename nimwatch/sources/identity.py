"""File identity and rotation: which content is under a followed log's name.

Owns :class:`FollowedLog` (a name, the file open under it and how far it was
read: offset, first-line and prefix hashes, generation) and :class:`Opener`,
which opens a name and decides what the file there is:

* the first open of a session: the content the journal knows (resumed, from
  the sink's snapshot when it has one, else with the bytes already processed
  flagged historic), a file rewritten or truncated while nimwatch was down, or
  a new file, the old one read to its end first when it was rotated to another
  name in the same directory (``x_alt_mig.log.1``);
* later opens: another inode (rotated or replaced), or the same inode number
  back under a vanished name with other bytes (inodes are reused): a new
  generation, the sink told with ``restart``.

The follow loop (:mod:`nimwatch.sources.tail`) calls it; no thread here.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from typing import Any, Callable, Optional

from nimwatch.feed import FeedSink, FileIdentity

HEAD_MAX = 4096
"""The first line (at most this many bytes) is hashed to recognise a file rewritten in place."""
TAIL_CHECK = 64
"""The last bytes read are compared again before reading on: a file truncated and grown past the
offset between two looks (copytruncate, then a re-run writing fast) is caught as rewritten."""
HASH_BLOCK = 1 << 20
"""Bytes per ``pread`` when a prefix is hashed again."""
NOT_REGULAR = "not a regular file (a directory, FIFO or device): skipped until it is one"


def _sha1(data: bytes = b"") -> Any:
    """SHA-1 for file identity, not security (allowed on FIPS systems)."""
    return hashlib.sha1(data, usedforsecurity=False)


def open_flags() -> int:
    """Read-only, never blocking on a FIFO, not inherited, never a controlling terminal."""
    return os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


class FollowedLog:
    """A followed name and the file currently open under it."""

    def __init__(self, log: str, resume: Optional[FileIdentity]) -> None:
        self.log = log
        self.resume = resume
        self.fd: Optional[int] = None
        self.dev: Optional[int] = None
        self.ino: Optional[int] = None
        self.generation = 0
        self.catchup_at = 0.0
        self.reset_content()
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
        """A new content under the name: nothing of it read yet."""
        self.offset = 0
        self.delivered = 0
        """Bytes of this content the sink has taken (``offset`` moves first, while a chunk is handed over)."""
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
            self.head += data[: nl + 1 if nl >= 0 else room]
            self.head_done = nl >= 0 or len(self.head) >= HEAD_MAX
        self.prefix.update(data)
        self.offset += len(data)
        self.tail = (self.tail + data[-TAIL_CHECK:])[-TAIL_CHECK:]

    def rewritten(self) -> bool:
        """The bytes already read changed: the first line, or the last bytes before the offset."""
        assert self.fd is not None
        if self.tail and os.pread(self.fd, len(self.tail), self.offset - len(self.tail)) != self.tail:
            return True
        return self.head_done and os.pread(self.fd, len(self.head), 0) != bytes(self.head)

    def not_the_same(self, size: int) -> bool:
        """A file back under a vanished name with the old inode number: inodes are reused, so check the bytes."""
        return size < self.offset or self.rewritten()


def _hash_range(h: Any, fd: int, pos: int, end: int) -> bool:
    """Add bytes ``pos`` to ``end`` of ``fd`` to the hash ``h``; False when the file ends before."""
    while pos < end:
        data = os.pread(fd, min(HASH_BLOCK, end - pos), pos)
        if not data:
            return False
        h.update(data)
        pos += len(data)
    return True


def prefix_hash(fd: int, length: int) -> str:
    """SHA-1 of the first ``length`` bytes of ``fd`` ('' when the file is shorter)."""
    h = _sha1()
    return h.hexdigest() if _hash_range(h, fd, 0, length) else ""


def find_rotated(log: str, resume: FileIdentity) -> Optional[tuple[str, int, int]]:
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
        try:
            fd = os.open(path, open_flags())
        except OSError:
            return None
        size = os.fstat(fd).st_size
        # inode numbers are reused: it must also start with the bytes that were read
        if size >= resume.offset and prefix_hash(fd, resume.offset) == resume.prefix_hash:
            return path, fd, size
        os.close(fd)
        return None
    return None


@dataclass(eq=False)
class Opener:
    """Opens followed names and tells the sink when the content under one changed.

    Args:
        sink: told of restarts (``restart``) and of files replaced while nimwatch was down
            (``replaced``, when it has it); asked for snapshots (``snapshot_offset``, ``restore``).
        clock: seconds since the epoch.
        backlog: seconds; the first content of a log the journal does not know, last written
            longer ago than this, is backlog (None: never).
        error: called with a log and a one-line problem (the caller says each once).
        retry: said after a problem that the next look may not have (an unreadable file).
    """

    sink: FeedSink
    clock: Callable[[], float]
    backlog: Optional[float]
    error: Callable[[FollowedLog, str], None]
    retry: str = " (will retry)"

    def open(self, item: FollowedLog, reason: str) -> bool:
        """Open ``item``'s name (``reason`` for the sink when it holds another file now). False: not open."""
        try:
            fd = os.open(item.log, open_flags())
        except FileNotFoundError:
            return False
        except OSError as exc:
            self.error(item, f"cannot open: {exc.strerror or exc}{self.retry}")
            return False
        try:
            fst = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        if not stat.S_ISREG(fst.st_mode):
            os.close(fd)
            self.error(item, NOT_REGULAR)
            return False
        ident = (fst.st_dev, fst.st_ino)
        item.fd = fd
        if not item.opened_once:
            self._first_open(item, fd, fst)  # may open the rotated old file instead: it sets dev and ino
        elif ident != (item.dev, item.ino) or (item.vanished and item.not_the_same(fst.st_size)):
            old = item.identity()
            item.dev, item.ino = ident
            item.generation += 1
            item.reset_content()
            self.sink.restart(item.log, reason, self.clock(), old, item.identity())
        item.opened_once = True
        item.vanished = False
        item.error = None
        return True

    def restart(self, item: FollowedLog, reason: str) -> None:
        """The file under the name is a new content (truncated, rewritten): read it from 0."""
        old = item.identity()
        item.shrunk = 0
        item.generation += 1
        item.reset_content()
        self.sink.restart(item.log, reason, self.clock(), old, item.identity())

    def _first_open(self, item: FollowedLog, fd: int, fst: os.stat_result) -> None:
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
            rotated = find_rotated(item.log, resume)
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
                os.close(fd)
                path, fd, size = rotated
                item.fd = fd
                item.rotated_away = True
                item.dev, item.ino = resume.dev, resume.ino
                self._adopt(item, fd, resume, size, verified=True)
                self._replaced(
                    item, f"rotated to {path} while nimwatch was down: its end is read first, then the new file",
                    path, resume,
                )
        item.catchup_end = size
        item.catchup_at = min(self.clock(), fst.st_mtime)
        if resume is None and self.backlog is not None and self.clock() - fst.st_mtime > self.backlog:
            item.backlog_end = size

    def _adopt(
        self, item: FollowedLog, fd: int, resume: FileIdentity, size: int, verified: bool = False
    ) -> bool:
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
        split = resume.offset if snap is None else snap  # the hash of the snapshot's prefix is kept on the way
        if not _hash_range(h, fd, 0, split):
            return False
        at_snap = h.copy()
        if not _hash_range(h, fd, split, resume.offset):
            return False
        if not verified and h.hexdigest() != resume.prefix_hash:
            return False
        item.generation = resume.generation
        item.historic_end = resume.offset
        restore = getattr(self.sink, "restore", None)
        if snap is None or restore is None:
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

    def _replaced(self, item: FollowedLog, reason: str, rotated_to: Optional[str], resume: FileIdentity) -> None:
        tell = getattr(self.sink, "replaced", None)
        if tell is not None:
            tell(item.log, self.clock(), {"reason": reason, "rotated_to": rotated_to, "read_to": resume.offset})
