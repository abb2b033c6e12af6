"""Which watchdog observer watches a directory, and the directories it watches.

Owns the choice between watchdog's native observer (inotify, kqueue, FSEvents)
and its polling observer: polling when ``poll`` seconds are given, where
watchdog has no native observer (AIX), and on network file systems, where
inotify does not see writes made by other hosts. :class:`Watches` schedules
one non-recursive watch per directory and re-schedules a directory that was
replaced. Watchdog events only wake the reader: the handler passes each
path it hears of to a callback.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from typing import Any, Callable, Optional

DEFAULT_POLL = 1.0
"""Polling interval when polling is forced (no native observer, network file system) and none was given."""
NETWORK_FILESYSTEMS = (  # and every nfs* type
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
        mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[1])  # octal escapes
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
    return "polling" if poll is not None or not native_observer_available() or is_network_fs(directory) else "native"


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


class Watches:
    """The observers (at most one of each kind) and one watch per directory.

    ``notify(path)`` is called in an observer thread for every path an event
    names; ``on_error(directory, message)`` for a directory that cannot be watched.
    """

    def __init__(
        self,
        poll: Optional[float],
        notify: Callable[[str], None],
        on_error: Callable[[str, str], None],
    ) -> None:
        self.poll = poll
        self.notify = notify
        self.on_error = on_error
        self.started = False
        self._observers: dict[str, Any] = {}
        self._watches: dict[str, tuple[Any, Any, tuple[int, int]]] = {}

    def schedule(self, directories: Iterable[str]) -> None:
        """Watch each directory that exists and is not watched yet (again, when it was replaced)."""
        for directory in directories:
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
                if self.started:
                    observer.start()
            try:
                watch = observer.schedule(_wake_handler(self.notify), directory, recursive=False)
            except OSError as exc:
                self.on_error(directory, f"cannot watch: {exc.strerror or exc}")
                continue
            self._watches[directory] = (observer, watch, (st.st_dev, st.st_ino))

    def _unschedule(self, directory: str) -> None:
        observer, watch, _ = self._watches.pop(directory)
        with contextlib.suppress(Exception):
            observer.unschedule(watch)

    def start(self) -> None:
        self.started = True
        for observer in self._observers.values():
            observer.start()

    def stop(self, report: Callable[[str], None]) -> None:
        """Stop and join every observer; ``report`` hears of one that fails to stop."""
        self.started = False
        for observer in self._observers.values():
            try:
                observer.stop()
            except Exception as exc:  # a dead emitter must not keep the others running
                report(f"stopping the file watcher: {exc}")
        for observer in self._observers.values():
            if observer.is_alive():
                observer.join()
        self._observers.clear()
        self._watches.clear()
