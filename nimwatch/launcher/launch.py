"""Starting nimadm under a supervisor, once per client.

:func:`start` reads the client from nimadm's arguments, takes a lock file for
that client (two ``nimwatch run`` at the same moment cannot both pass the
check), refuses when a run of that client is still going (one started by
``nimwatch run`` or a nimadm started by hand, found with ``ps``), then starts
the supervisor in a new session and waits for its handshake: nimadm's PID
and the run record, or why nimadm could not start.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Optional

from nimwatch.aix.parse_system import parse_ps
from nimwatch.aix.runner import SubprocessRunner
from nimwatch.errors import ExitCode, NimwatchError, UsageError
from nimwatch.launcher.nimadm_args import NimadmCall, is_nimadm, nimadm_args_of, parse_nimadm_args
from nimwatch.launcher.records import RunRecord, all_records, ps_command, runs_dir

HANDSHAKE_TIMEOUT = 60.0
"""Seconds to wait for the supervisor to say nimadm started."""


class AlreadyRunning(NimwatchError):
    """A nimadm for this client is still going."""

    exit_code = ExitCode.INCOMPLETE


@contextlib.contextmanager
def client_lock(runs: Path, client: str) -> Iterator[None]:
    """Hold ``<runs>/<client>.lock`` (checking and starting happen under it)."""
    import fcntl

    path = runs / f"{client}.lock"
    try:
        fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o640)
    except OSError as exc:
        raise NimwatchError(f"{path}: cannot create the lock: {exc.strerror or exc}") from None
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def running(runs: Path, client: str) -> Optional[RunRecord]:
    """The client's run that is still going, among those ``nimwatch run`` started."""
    return next((record for record in reversed(all_records(runs, client)) if record.status() == "running"), None)


def foreign_nimadm(client: str, known: set[int]) -> Optional[tuple[int, str]]:
    """(PID, command line) of a nimadm for ``client`` that ``nimwatch run`` did not start, if one runs.

    A process list that cannot be read refuses too: two nimadm runs on one client's disks are worse than none.
    """
    # ps cuts command lines at COLUMNS when it is set (xdist sets 80; so may a login profile): past it, the
    # client of a nimadm started from a long path would be lost, so ask for lines no nimadm call reaches.
    wide = {**os.environ, "COLUMNS": "32767"}
    result = SubprocessRunner(wide).run([ps_command(), "-e", "-o", "pid,args"], 30)
    if not result.ok:
        why = result.error or f"exit status {result.rc}: {result.stderr.strip()[:200]}"
        raise AlreadyRunning(
            f"cannot tell whether a nimadm for {client} is already running (`{result.display}`: {why}); "
            "nothing was started"
        )
    for proc in parse_ps(result.stdout):
        if proc.pid in known or proc.pid == os.getpid() or not is_nimadm(proc.args):
            continue
        try:
            call = parse_nimadm_args(nimadm_args_of(proc.args))
        except UsageError:
            continue
        if call.client == client:
            return proc.pid, proc.args
    return None


def refuse_if_running(runs: Path, client: str) -> None:
    record = running(runs, client)
    if record is not None:
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.started))
        raise AlreadyRunning(
            f"a nimadm for {client} is still running as PID {record.pid} (started {since} by nimwatch run, "
            f"supervisor PID {record.supervisor_pid}, output {record.output}); wait for it to end, or stop it "
            f"with `kill {record.supervisor_pid}` first"
        )
    known = {pid for r in all_records(runs, client) for pid in (r.pid, r.supervisor_pid) if pid is not None}
    other = foreign_nimadm(client, known)
    if other is not None:
        raise AlreadyRunning(f"a nimadm for {client} is already running as PID {other[0]}: {other[1]}")


def child_env() -> dict[str, str]:
    """This environment, with nimwatch's own directory on PYTHONPATH so that the supervisor finds it."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _read_handshake(fd: int, timeout: float) -> dict[str, object]:
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise NimwatchError(f"the supervisor did not report within {timeout:g} s whether nimadm started")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    if not data:
        raise NimwatchError("the supervisor ended before starting nimadm (see supervisor.log in the runs directory)")
    message = json.loads(data.decode("utf-8"))
    if not isinstance(message, dict):
        raise NimwatchError("the supervisor's answer was not understood")
    return message


def start(command: Sequence[str], *, journal: Path, log_dir: Path) -> tuple[NimadmCall, RunRecord]:
    """Start ``command`` (nimadm and its arguments) under a supervisor; returns the call and its run record."""
    if not command:
        raise UsageError("nimwatch run needs the nimadm command: nimwatch run -- nimadm -c CLIENT ...")
    call = parse_nimadm_args(command[1:])
    runs = runs_dir(journal)
    try:
        runs.mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as exc:
        raise NimwatchError(f"{runs}: cannot create the runs directory: {exc.strerror or exc}") from None
    log = Path(os.path.abspath(log_dir)) / f"{call.client}_alt_mig.log"
    with client_lock(runs, call.client):
        refuse_if_running(runs, call.client)
        read_fd, write_fd = os.pipe()
        given = {"--runs": runs, "--client": call.client, "--log": log, "--journal": journal, "--handshake": write_fd}
        options = [str(word) for pair in given.items() for word in pair]
        try:
            with open(runs / "supervisor.log", "ab") as errors:
                subprocess.Popen(
                    [sys.executable, "-m", "nimwatch.launcher.supervisor", *options, "--", *command],
                    stdin=subprocess.DEVNULL,
                    stdout=errors,
                    stderr=errors,
                    start_new_session=True,
                    pass_fds=(write_fd,),
                    close_fds=True,
                    env=child_env(),
                )
        except OSError as exc:
            os.close(read_fd)
            raise NimwatchError(f"cannot start the supervisor: {exc.strerror or exc}") from None
        finally:
            os.close(write_fd)
        try:
            message = _read_handshake(read_fd, HANDSHAKE_TIMEOUT)
        finally:
            os.close(read_fd)
    if "record" not in message:
        error = str(message.get("error") or "nimadm did not start")
        if message.get("started"):
            raise NimwatchError(f"nimadm started as PID {message.get('pid')}, but {error}")
        raise NimwatchError(error)
    return call, RunRecord.load(Path(str(message["record"])))
