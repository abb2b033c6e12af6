"""The supervisor: starts nimadm away from the terminal, waits for it, and records how it ended.

Run by :mod:`nimwatch.launcher.launch` as ``python -m nimwatch.launcher.supervisor``
in a session of its own (no controlling terminal), with stdin on /dev/null.
It ignores SIGHUP and SIGINT, and so does nimadm (an ignored signal stays
ignored across exec), so closing the ssh session or pressing Ctrl-C in it
stops neither. SIGTERM is passed on to nimadm (the way to stop a run) and the
supervisor goes on waiting to record the status. nimadm's stdout and stderr
go to the run's ``.out`` file.

Before nimadm starts, where the client's log ends (lines, bytes, which file)
goes into the record: the run nimadm writes is the first one after that
(:mod:`nimwatch.launcher.exits`).

Order of writes: the record (with nimadm's PID) before the handshake that
tells the launcher the run started; the exit status into the record first
(atomically), then into the state journal (best effort: ``nimwatch run``
copies records the journal missed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from nimwatch.errors import NimwatchError
from nimwatch.launcher.records import RunRecord, log_position, record_path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nimwatch-supervisor")
    for name in ("--runs", "--client", "--log", "--journal"):
        p.add_argument(name, required=True)
    p.add_argument("--handshake", type=int, required=True)
    p.add_argument("command", nargs=argparse.REMAINDER)
    return p


def _say(fd: int, message: dict[str, Any]) -> None:
    try:
        os.write(fd, (json.dumps(message) + "\n").encode("utf-8"))
    except OSError:
        pass  # the launcher is gone: the record tells the story
    finally:
        with contextlib.suppress(OSError):  # closed already
            os.close(fd)


def _journal(record: RunRecord) -> None:
    """Copy the record into the state journal; a failure is kept in the record, saved again."""
    from nimwatch.journal import record_launch

    try:
        record_launch(Path(record.journal), record.journal_row())
    except (NimwatchError, OSError) as exc:
        record.errors.append(f"state journal not updated: {exc}")
        print(f"nimwatch supervisor: {record.journal}: {exc}", file=sys.stderr, flush=True)
    if record.errors:
        record.save()


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runs = Path(args.runs)
    started = time.time()
    path = record_path(runs, args.client, started, os.getpid())
    output = path.with_suffix(".out")
    try:
        out_fd = os.open(str(output), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    except OSError as exc:
        _say(args.handshake, {"error": f"{output}: cannot create: {exc.strerror or exc}"})
        return 2
    before = log_position(Path(args.log)) or {}
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
    os.write(out_fd, f"# nimwatch run {stamp}: {' '.join(command)}\n".encode("utf-8", "surrogateescape"))
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out_fd, stderr=out_fd, close_fds=True)
    except OSError as exc:
        message = f"{command[0] if command else 'nimadm'}: cannot start: {exc.strerror or exc}"
        os.write(out_fd, f"# {message}\n".encode())
        os.close(out_fd)
        _say(args.handshake, {"error": message, "output": str(output)})
        return 127
    os.close(out_fd)

    def on_term(signum: int, frame: Any) -> None:
        with contextlib.suppress(OSError):  # it has just ended
            proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    record = RunRecord(
        path=path,
        client=args.client,
        argv=command,
        cwd=os.getcwd(),
        started=started,
        pid=proc.pid,
        supervisor_pid=os.getpid(),
        output=str(output),
        log=args.log,
        journal=args.journal,
        log_before=before,
    )
    try:
        record.save()
    except OSError as exc:
        _say(args.handshake, {"error": f"{path}: cannot write the run record: {exc}", "pid": proc.pid, "started": True})
    else:
        _journal(record)
        _say(args.handshake, {"record": str(path), "pid": proc.pid})
    code = proc.wait()
    record.ended = time.time()
    if code < 0:
        record.signal = -code
    else:
        record.exit_code = code
    record.save()
    _journal(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
