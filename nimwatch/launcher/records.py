"""Run records: one JSON file per nimadm started by ``nimwatch run``, next to the state journal.

``<journal dir>/runs/<client>.<YYYYmmddTHHMMSS>-<supervisor pid>.json`` holds
the command line, working directory, start time, nimadm's and the
supervisor's PIDs, the output file (``.out``, same name) and the client's
log; when nimadm ends the supervisor adds the exit status (or the signal) and
the end time. Every write goes to a temporary file in the same directory,
is flushed to disk and renamed over the record, so a reader never sees half
a record, whoever is killed when.

A record without an exit status is ``running`` while nimadm's PID is alive
and is the process that was started (its start time, from ``ps -o etime``,
matches the record: a PID reused by another process does not count), or while
the supervisor still runs; otherwise it is ``lost``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from nimwatch.errors import NimwatchError

RECORD_VERSION = 1
START_TOLERANCE = 120.0
"""Seconds a process's start time may differ from the record's and still be the process started."""
_NAME = re.compile(r"^(?P<client>.+)\.(?P<stamp>\d{8}T\d{6})-(?P<pid>\d+)\.json$")
_ETIME = re.compile(r"^(?:(?:(\d+)-)?(\d+):)?(\d+):(\d+)$")


def runs_dir(journal: Path) -> Path:
    """Where the run records and outputs of the journal ``journal`` live."""
    return Path(journal).parent / "runs"


def record_path(runs: Path, client: str, started: float, supervisor_pid: int) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(started))
    return runs / f"{client}.{stamp}-{supervisor_pid}.json"


@dataclass
class RunRecord:
    """What is known of one nimadm run."""

    path: Path
    client: str
    argv: list[str]
    cwd: str
    started: float
    pid: Optional[int]
    supervisor_pid: int
    output: str
    log: str
    journal: str
    exit_code: Optional[int] = None
    signal: Optional[int] = None
    ended: Optional[float] = None
    errors: list[str] = field(default_factory=list)
    log_before: Optional[dict[str, int]] = None
    """The log when nimadm started: ``lines``, ``size``, ``dev``, ``ino``; {} when there was none; None in an
    older record (its run is then taken to be the log's latest)."""

    @classmethod
    def load(cls, path: Path) -> RunRecord:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NimwatchError(f"{path}: cannot read the run record: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
            raise NimwatchError(f"{path}: not a nimwatch run record (version {RECORD_VERSION})")
        try:
            return cls(
                path=Path(path),
                client=str(data["client"]),
                argv=[str(a) for a in data["argv"]],
                cwd=str(data.get("cwd", "")),
                started=float(data["started"]),
                pid=int(data["pid"]) if data.get("pid") is not None else None,
                supervisor_pid=int(data["supervisor_pid"]),
                output=str(data["output"]),
                log=str(data["log"]),
                journal=str(data.get("journal", "")),
                exit_code=data.get("exit_code"),
                signal=data.get("signal"),
                ended=data.get("ended"),
                errors=[str(e) for e in data.get("errors", [])],
                log_before=_log_before(data.get("log_before")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise NimwatchError(f"{path}: damaged run record ({exc})") from None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path), "version": RECORD_VERSION}

    def save(self) -> None:
        write_atomic(self.path, self.as_json())

    @property
    def finished(self) -> bool:
        return self.exit_code is not None or self.signal is not None

    def status(self) -> str:
        """``exited``, ``running`` or ``lost`` (nobody will record how nimadm ended)."""
        if self.finished:
            return "exited"
        if (self.pid is not None and pid_alive(self.pid, self.started)) or pid_alive(self.supervisor_pid, self.started):
            return "running"
        return "lost"

    def describe(self) -> str:
        """One line for people: how the run ended, or that it goes on."""
        if self.exit_code is not None:
            return f"nimadm exited {self.exit_code}"
        if self.signal is not None:
            return f"nimadm was killed by signal {self.signal}"
        return f"nimadm runs as PID {self.pid}"

    def journal_row(self) -> dict[str, Any]:
        names = ("client", "pid", "argv", "started", "output", "exit_code", "signal", "ended")
        return {"record": str(self.path), **{name: getattr(self, name) for name in names}}


def _log_before(value: Any) -> Optional[dict[str, int]]:
    if not isinstance(value, dict):
        return None
    if not value:
        return {}
    try:
        return {key: int(value[key]) for key in ("lines", "size", "dev", "ino")}
    except (KeyError, TypeError, ValueError):
        return None


def log_position(log: Path) -> Optional[dict[str, int]]:
    """Where the log ends now (lines, bytes) and which file it is; None when there is no log."""
    try:
        with open(log, "rb") as handle:
            info = os.fstat(handle.fileno())
            lines = size = 0
            while block := handle.read(1 << 20):
                lines += block.count(b"\n")
                size += len(block)
    except OSError:
        return None
    return {"lines": lines, "size": size, "dev": info.st_dev, "ino": info.st_ino}


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path``: temporary file in the same directory, fsync, rename, fsync the directory."""
    import tempfile  # (here: ``report`` and ``status`` only read records)

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # already renamed or never created
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(str(path.parent), os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # not every file system syncs a directory; the rename is done
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def all_records(runs: Path, client: Optional[str] = None) -> list[RunRecord]:
    """Every readable record (of ``client``), oldest first; unreadable ones are skipped."""
    out: list[RunRecord] = []
    try:
        names = sorted(os.listdir(runs))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise NimwatchError(f"{runs}: cannot list the run records: {exc.strerror or exc}") from None
    for name in names:
        match = _NAME.match(name)
        if match is None or (client is not None and match.group("client") != client):
            continue
        try:
            out.append(RunRecord.load(runs / name))
        except NimwatchError:
            continue
    return sorted(out, key=lambda r: r.started)


def latest(runs: Path, client: str) -> Optional[RunRecord]:
    """The client's last run started by ``nimwatch run`` (None when there is none)."""
    return next(reversed(all_records(runs, client)), None)


def sync_journal(journal: Path, runs: Path) -> list[str]:
    """Copy every record into the journal's ``launches`` table; returns the problems met (none raised)."""
    from nimwatch.journal import record_launch

    for record in all_records(runs):
        try:
            record_launch(journal, record.journal_row())
        except NimwatchError as exc:
            return [str(exc)]
    return []


def ps_command() -> str:
    for path in ("/usr/bin/ps", "/bin/ps"):
        if os.path.exists(path):
            return path
    import shutil

    return shutil.which("ps") or "ps"


def parse_etime(text: str) -> Optional[float]:
    """``ps -o etime`` (``[[dd-]hh:]mm:ss``) in seconds."""
    match = _ETIME.match(text.strip())
    if match is None:
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def process_start(pid: int) -> Optional[float]:
    """When ``pid`` started (seconds since the epoch, to the second), None when ``ps`` cannot tell."""
    from nimwatch.aix.runner import SubprocessRunner  # (here: reading records starts no process)

    result = SubprocessRunner().run([ps_command(), "-o", "etime=", "-p", str(pid)], 30)
    elapsed = parse_etime(result.stdout) if result.ok else None
    return None if elapsed is None else time.time() - elapsed


def pid_alive(pid: int, started: float) -> bool:
    """True while ``pid`` runs and started within :data:`START_TOLERANCE` of ``started``.

    When ``ps`` cannot tell the start time the PID counts as alive: refusing a
    second nimadm is safer than starting one next to a running one.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    if _zombie(pid):
        return False
    began = process_start(pid)
    return began is None or abs(began - started) <= START_TOLERANCE


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False  # no /proc (AIX's /proc has no text stat): ps decides
