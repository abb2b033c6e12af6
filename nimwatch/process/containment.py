"""Everything a command started, found and ended: a cgroup where there is one, else its sessions and process tree.

Owns :class:`Containment`, used by :func:`nimwatch.process.runner.run_command`
for each hook and ``command`` sink run. A command starts in its own session and
process group, but its children can leave both (``setsid``, a double fork that
re-parents them to init). At the timeout nimwatch must still end them all:

* **cgroup v2** (Linux, when nimwatch's own cgroup is writable, e.g. a systemd
  service with ``Delegate=yes`` or root on a plain host): the command is moved
  into a child cgroup of nimwatch's own before it runs its first instruction,
  and every process it ever starts stays there, whatever it does to its
  session. Ending it is ``cgroup.kill`` (SIGTERM first, to each member).
  Processes still there when the command exited normally are handed back to
  nimwatch's cgroup (a background ``sendmail`` must be able to finish) and the
  child cgroup is removed.
* **Sessions and the process tree** (AIX, Linux without a writable cgroup):
  the command's session and group, every descendant of the command by parent
  pid, and the sessions and groups those descendants created, found from
  ``/proc/*/stat`` on Linux and from ``ps -e -o pid,ppid,sid,pgid`` elsewhere
  (AIX; ``ps -e -o pid,ppid,pgid`` when ``sid`` is refused). The tree is
  sampled while the command runs, so a child that called ``setsid`` is
  remembered even after its parent exits. Limit: a process that leaves its
  session *and* is orphaned between two samples (one second apart) cannot be
  told from an unrelated one; only a cgroup catches that.

nimwatch's own pid, session and group, and pid 1, are never signalled.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from typing import Callable, Optional

SAMPLE_EVERY = 1.0
"""Seconds between two looks at the process tree of a running command (fallback mode)."""
FIRST_SAMPLE = 0.2
"""The first look comes sooner: a double fork usually happens at once."""

_counter = itertools.count(1)
_cgroup_base_cache: dict[str, Optional[str]] = {}

Row = tuple[int, int, Optional[int], int]
"""(pid, ppid, sid or None when unknown, pgid)."""


# ---------------------------------------------------------------------- cgroup v2


def cgroup_base() -> Optional[str]:
    """nimwatch's own cgroup v2 directory when it can hold child cgroups; None otherwise (cached)."""
    if "base" not in _cgroup_base_cache:
        _cgroup_base_cache["base"] = _find_cgroup_base() if sys.platform.startswith("linux") else None
    return _cgroup_base_cache["base"]


def _find_cgroup_base() -> Optional[str]:
    mount = None
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                left, _, right = line.partition(" - ")
                if right.split(" ", 1)[0] == "cgroup2":
                    mount = left.split()[4]
                    break
        with open("/proc/self/cgroup", encoding="utf-8", errors="replace") as handle:
            own = next((line.strip()[3:] for line in handle if line.startswith("0::")), None)
    except OSError:
        return None
    if mount is None or own is None:
        return None
    base = os.path.normpath(mount + "/" + own.lstrip("/"))
    if not os.path.exists(os.path.join(base, "cgroup.procs")) or not os.access(base, os.W_OK):
        return None
    return base


def _read_pids(path: str) -> list[int]:
    try:
        with open(path, encoding="ascii") as handle:
            return [int(x) for x in handle.read().split()]
    except (OSError, ValueError):
        return []


def _write(path: str, text: str) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        os.write(fd, text.encode("ascii"))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- the process table


def _proc_table() -> Optional[list[Row]]:
    """From Linux's /proc (None where /proc has no text ``stat``, e.g. AIX)."""
    if not os.path.exists("/proc/self/stat"):
        return None
    rows: list[Row] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue  # gone meanwhile
        fields = data[data.rfind(b")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp session
        try:
            rows.append((int(name), int(fields[1]), int(fields[3]), int(fields[2])))
        except (IndexError, ValueError):
            continue
    return rows


def parse_ps(text: str, with_sid: bool) -> list[Row]:
    """Rows of ``ps -e -o pid,ppid,sid,pgid`` (or ``pid,ppid,pgid``): the header and odd lines are skipped."""
    rows: list[Row] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != (4 if with_sid else 3) or not all(p.isdigit() for p in parts):
            continue
        numbers = [int(p) for p in parts]
        rows.append((numbers[0], numbers[1], numbers[2] if with_sid else None, numbers[-1]))
    return rows


def _ps_table() -> list[Row]:
    """From ``ps`` (AIX and other systems without a text /proc)."""
    for columns, with_sid in (("pid,ppid,sid,pgid", True), ("pid,ppid,pgid", False)):
        try:
            done = subprocess.run(
                ["ps", "-e", "-o", columns], capture_output=True, text=True, timeout=10, env={"LANG": "C"}
            )
        except (OSError, subprocess.SubprocessError):
            return []
        rows = parse_ps(done.stdout, with_sid)
        if done.returncode == 0 and rows:
            return rows
    return []


def related(table: list[Row], root: int, sids: set[int], pgids: set[int]) -> tuple[set[int], set[int], set[int]]:
    """Processes that belong to the command ``root``: (pids, their sessions, their groups).

    Members are ``root``'s descendants by parent pid and every process in a session or
    group known to be the command's (``root``'s own, those seen in earlier samples, those
    of members), repeated until nothing more joins. nimwatch's own pid, session and group,
    and pid 1, never count.
    """
    me = os.getpid()
    own_sid = os.getsid(0) if hasattr(os, "getsid") else -1
    own_pgid = os.getpgid(0)
    sids = {s for s in sids | {root} if s not in (own_sid, 0, 1)}
    pgids = {g for g in pgids | {root} if g not in (own_pgid, 0, 1)}
    members: set[int] = set()
    changed = True
    while changed:
        changed = False
        for pid, ppid, sid, pgid in table:
            if pid in members or pid in (me, 1, 0):
                continue
            if pid == root or ppid == root or ppid in members or (sid is not None and sid in sids) or pgid in pgids:
                members.add(pid)
                changed = True
                if sid is not None and sid not in (own_sid, 0, 1):
                    sids.add(sid)
                if pgid not in (own_pgid, 0, 1):
                    pgids.add(pgid)
    return members, sids, pgids


# ---------------------------------------------------------------------- one command's containment


class Containment:
    """What one command started. Create it before the command, call :meth:`started` after.

    Args:
        mode: ``auto`` (a cgroup where possible), ``cgroup`` (the same; falls back when it
            cannot), ``tree`` (sessions and process tree only), ``ps`` (the tree from ``ps``
            even where /proc exists: what AIX does).
    """

    def __init__(self, mode: str = "auto") -> None:
        self.mode = mode
        self.cgroup: Optional[str] = None
        self._procs_fd: Optional[int] = None
        self.pid = 0
        self._sids: set[int] = set()
        self._pgids: set[int] = set()
        self._next_sample = 0.0
        if mode in ("auto", "cgroup"):
            self._make_cgroup()

    @property
    def kind(self) -> str:
        """``cgroup`` or ``tree``: how this command's processes are found."""
        return "cgroup" if self.cgroup is not None else "tree"

    def _make_cgroup(self) -> None:
        base = cgroup_base()
        if base is None:
            return
        path = os.path.join(base, f"nimwatch-cmd-{os.getpid()}-{next(_counter)}")
        try:
            os.mkdir(path)
        except OSError:
            return
        try:
            self._procs_fd = os.open(os.path.join(path, "cgroup.procs"), os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            with contextlib.suppress(OSError):
                os.rmdir(path)
            return
        self.cgroup = path

    def preexec(self) -> Optional[Callable[[], None]]:
        """For ``Popen(preexec_fn=...)``: moves the child into the cgroup before it execs (None: no cgroup)."""
        fd = self._procs_fd
        if fd is None:
            return None

        def join() -> None:
            # Runs in the forked child: as little Python as possible (a pid and one write).
            os.write(fd, str(os.getpid()).encode("ascii"))

        return join

    def started(self, pid: int) -> None:
        self.pid = pid
        if self._procs_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._procs_fd)
            self._procs_fd = None
        self._next_sample = time.monotonic() + FIRST_SAMPLE

    def failed_to_start(self) -> None:
        """The command never ran: remove the cgroup."""
        self.started(0)
        self.release()

    # ------------------------------------------------------------------ looking

    def sample(self) -> None:
        """While the command runs (fallback mode): remember the sessions and groups its children made."""
        if self.cgroup is not None or not self.pid or time.monotonic() < self._next_sample:
            return
        self._next_sample = time.monotonic() + SAMPLE_EVERY
        _, self._sids, self._pgids = related(self._table(), self.pid, self._sids, self._pgids)

    def _table(self) -> list[Row]:
        table = _proc_table() if self.mode != "ps" else None
        return table if table is not None else _ps_table()

    def members(self) -> set[int]:
        """The command's processes now (the leader included while it lives)."""
        if self.cgroup is not None:
            return set(_read_pids(os.path.join(self.cgroup, "cgroup.procs")))
        if not self.pid:
            return set()
        members, self._sids, self._pgids = related(self._table(), self.pid, self._sids, self._pgids)
        return members

    # ------------------------------------------------------------------ ending

    def signal_all(self, sig: int) -> None:
        """``sig`` to every process of the command, its own process first: a shell then ends by the signal
        instead of reporting the death of the child it waits for (128+15) when it runs between two kills."""
        for pid in sorted(self.members(), key=lambda pid: pid != self.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        if self.pid:  # the command's own group too (a member may be between fork and exec)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)

    def kill_all(self) -> None:
        """SIGKILL to every process of the command (``cgroup.kill`` where the kernel has it)."""
        if self.cgroup is not None and _write(os.path.join(self.cgroup, "cgroup.kill"), "1"):
            return
        for _ in range(20):  # new children may appear while we kill: until none is left
            if not self.members():
                break
            self.signal_all(signal.SIGKILL)
            time.sleep(0.01)

    def end(self, grace: float, leader: subprocess.Popen[bytes]) -> None:
        """SIGTERM to all, up to ``grace`` seconds for them to go, then SIGKILL to what is left."""
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + grace
        with contextlib.suppress(subprocess.TimeoutExpired):
            leader.wait(timeout=grace)
        while time.monotonic() < deadline and self._alive():
            time.sleep(0.02)
        self.kill_all()
        with contextlib.suppress(subprocess.TimeoutExpired):
            leader.wait(timeout=max(grace, 1.0))

    def _alive(self) -> bool:
        """Members that are not zombies (a zombie's parent reaps it; it holds nothing)."""
        for pid in self.members():
            try:
                with open(f"/proc/{pid}/stat", "rb") as handle:
                    data = handle.read()
                if data[data.rfind(b")") + 2 : data.rfind(b")") + 3] != b"Z":
                    return True
            except OSError:
                if not os.path.exists("/proc/self/stat"):
                    return True  # no /proc to tell a zombie: assume alive until the grace ends
        return False

    def release(self) -> None:
        """The command is over: its cgroup goes; processes still in it return to nimwatch's own cgroup."""
        path = self.cgroup
        if path is None:
            return
        base = os.path.dirname(path)
        for _ in range(50):
            for pid in _read_pids(os.path.join(path, "cgroup.procs")):
                _write(os.path.join(base, "cgroup.procs"), str(pid))
            try:
                os.rmdir(path)
                self.cgroup = None
                return
            except OSError:
                time.sleep(0.01)
