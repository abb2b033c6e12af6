"""``nimwatch run [--headless | --detach] -- nimadm ARGS...``: start nimadm detached from the terminal, then watch it.

nimadm runs under a supervisor in a session of its own (closing the ssh
session, or nimwatch ending, does not stop it); its output goes to a file in
the ``runs`` directory next to the state journal, and the supervisor records
the command line, PIDs, start time and exit status there (and in the
journal). A second nimadm for a client whose run is still going is refused
(exit 3, naming the PID).

Then: the TUI on that client; with ``--headless`` the watch JSON lines of its
log on stdout (after a ``nimadm_started`` line; the watcher's ``nimadm_exited``
line, with the exit status and the outcome it settles, comes last), until
nimadm ends; with ``--detach`` nothing more (SMIT uses this). ``--list`` shows
the runs recorded so far. Exit status (--headless): 0 nimadm exited 0 and the
log shows no failed run, 1 nimadm failed or the log shows a failure, 2 usage
or config error, 3 refused (a run is still going), 130 stopped watching
(nimadm goes on).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nimwatch.commands import DEFAULT_LOG_DIR
from nimwatch.errors import ExitCode, NimwatchError, StateError, UsageError
from nimwatch.schema import SCHEMA_VERSION

if TYPE_CHECKING:
    import subprocess

POLL = 1.0
"""Seconds between two looks at the run record while watching headless."""
STOP_WAIT = 60.0
"""Seconds the watch is given to stop cleanly."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "run",
        help="start nimadm detached from the terminal (its exit status recorded), then watch it",
        description="Starts nimadm under a supervisor that survives the terminal closing and records nimadm's "
        "exit status next to the state journal; refuses a second nimadm for the same client. Then opens the "
        "TUI on the client, or prints its watch JSON lines with --headless.",
        epilog="Example: nimwatch run --headless -- nimadm -c lpar1 -l lpp_7302 -s spot_7302 -d hdisk1 -j nimvg -Y. "
        "Exit codes: 0 ok, 1 nimadm or the run failed (--headless), 2 usage or config error, 3 a run of that "
        "client is still going, 130 stopped watching (nimadm goes on).",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument("--headless", action="store_true", help="print the watch JSON lines until nimadm ends")
    how.add_argument("--detach", action="store_true", help="start nimadm and return (for SMIT and scripts)")
    how.add_argument("--list", action="store_true", help="list the runs recorded so far, with their status")
    p.add_argument("--format", choices=("text", "json"), default="text", help="--list output")
    p.add_argument("--config", metavar="FILE", help="config file (default: NIMWATCH_CONFIG, then the usual places)")
    p.add_argument("--state", metavar="PATH", help="state journal (runs are recorded in its directory's runs/)")
    p.add_argument(
        "--log-dir", default=DEFAULT_LOG_DIR, metavar="DIR", help=f"nimadm's log directory ({DEFAULT_LOG_DIR})"
    )
    p.add_argument("nimadm", nargs=argparse.REMAINDER, metavar="-- nimadm ARGS", help="the nimadm command line")
    p.set_defaults(func=run)


def _state(args: argparse.Namespace) -> Path:
    """The state journal: ``--state``, else the config's (the config is checked either way), else the default."""
    from nimwatch.config import default_config_path, default_state_path, load_config

    config = load_config(Path(args.config) if args.config else default_config_path())
    return Path(args.state) if args.state else (config.state or default_state_path())


def _sync(state: Path) -> None:
    from nimwatch.launcher.records import runs_dir, sync_journal

    for problem in sync_journal(state, runs_dir(state)):
        _diag(problem)


def _safe(text: str) -> str:
    """Text for a terminal in any locale: control characters escaped, ASCII only."""
    from nimwatch.aix.text import ascii_only, clean

    return ascii_only(clean(text))


def _diag(message: str) -> None:
    """A diagnostic, through the log (stderr by default; escaped for any terminal by the log's handler)."""
    logging.getLogger(__name__).warning("%s", message)


def _emit(doc: dict[str, Any]) -> None:
    try:
        sys.stdout.write(json.dumps({"schema": SCHEMA_VERSION, **doc}, ensure_ascii=True) + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # nobody reads any more: nimadm and its record go on


def run(args: argparse.Namespace) -> int:
    command = list(args.nimadm)
    if command[:1] == ["--"]:
        command = command[1:]
    state = _state(args)
    if args.list:
        if command:
            raise UsageError("--list takes no nimadm command")
        return _list(state, args.format)
    if not command:
        raise UsageError("nimwatch run needs the nimadm command after --: nimwatch run -- nimadm -c CLIENT ...")
    if args.headless:
        _check_journal_free(state)
    from nimwatch.launcher.launch import start

    _sync(state)
    call, record = start(command, journal=state, log_dir=Path(args.log_dir))
    if args.headless:
        return _headless(args, state, record)
    lines = [
        f"nimadm started for {call.client}: PID {record.pid} (supervisor {record.supervisor_pid})",
        f"  output: {record.output}",
        f"  record: {record.path}",
        f"  log:    {record.log}",
    ]
    if args.detach:
        lines.append(f"Follow it with `nimwatch tui {record.log}` or `nimwatch status {record.log}`.")
        sys.stdout.write(_safe("\n".join(lines) + "\n"))
        return ExitCode.OK
    sys.stderr.write(_safe("\n".join(lines) + "\n"))
    return _tui(args, record)


def _check_journal_free(state: Path) -> None:
    """--headless runs a watcher on the state journal: refuse before nimadm starts when another holds it."""
    from nimwatch.journal import Journal

    try:
        Journal.open(state).close()
    except StateError as exc:
        raise NimwatchError(
            f"{exc}. A nimwatch watch (the service?) already follows the logs with this journal: run without "
            "--headless (TUI), with --detach, or give --state a journal of this run's own"
        ) from None


def _list(state: Path, fmt: str) -> int:
    from nimwatch.aix.text import clean_line
    from nimwatch.engine import iso
    from nimwatch.launcher.records import all_records, runs_dir

    _sync(state)
    records = all_records(runs_dir(state))
    if fmt == "json":
        docs = [{**r.as_json(), "status": r.status()} for r in records]
        sys.stdout.write(json.dumps({"schema": SCHEMA_VERSION, "runs": docs}, indent=2, ensure_ascii=True) + "\n")
        return ExitCode.OK
    if not records:
        sys.stdout.write(f"no run recorded in {runs_dir(state)}\n")
        return ExitCode.OK
    for r in records:
        line = f"{r.client}  {iso(r.started)}  {r.status():8}  {r.describe()}  output {r.output}"
        sys.stdout.write(_safe(clean_line(line)) + "\n")
    return ExitCode.OK


def _tui(args: argparse.Namespace, record: Any) -> int:
    """The TUI on the client's log (in the simplest way the TUI allows: the log as its only path)."""
    from nimwatch.commands import tui

    parser = argparse.ArgumentParser(prog="nimwatch")
    tui.add_parser(parser.add_subparsers())
    tui_args = parser.parse_args(["tui", *(["--config", args.config] if args.config else []), "--", record.log])
    try:
        tui.run(tui_args)
    finally:
        _diag(f"nimadm goes on (PID {record.pid}); its exit status will be in {record.path}")
    return ExitCode.OK


def _watch_command(args: argparse.Namespace, state: Path, log: str, once: bool) -> list[str]:
    cmd = [sys.executable, "-m", "nimwatch", "watch", "--state", str(state)]
    if args.config:
        cmd += ["--config", args.config]
    if once:
        cmd.append("--once")
    return [*cmd, "--", log]


def _headless(args: argparse.Namespace, state: Path, record: Any) -> int:
    import subprocess

    from nimwatch.engine import iso
    from nimwatch.launcher.launch import child_env
    from nimwatch.launcher.records import RunRecord

    started = {key: getattr(record, key) for key in ("client", "log", "pid", "supervisor_pid", "argv", "output")}
    _emit({"event": "nimadm_started", "ts": iso(record.started), **started, "record": str(record.path)})
    stop = threading.Event()
    signalled: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        signalled.append(signum)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    watch = subprocess.Popen(
        _watch_command(args, state, record.log, once=False), stdin=subprocess.DEVNULL, env=child_env()
    )
    try:
        current = record
        while not stop.is_set():
            current = RunRecord.load(record.path)
            if current.finished or watch.poll() is not None:
                break
            if not _alive(current.supervisor_pid):
                current = RunRecord.load(record.path)
                if not current.finished:
                    break
            stop.wait(POLL)
    finally:
        _stop(watch)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if signalled:
        _diag(f"stopped watching; nimadm goes on as PID {record.pid}, its exit status will be in {record.path}")
        return ExitCode.INTERRUPTED
    if not current.finished:
        if watch.returncode not in (None, 0):
            _diag(f"the watch ended ({watch.returncode}); nimadm goes on as PID {record.pid}")
            return int(watch.returncode)
        _diag(f"the supervisor ended without recording nimadm's exit status ({record.path})")
        return ExitCode.INCOMPLETE
    # the final pass reads the log to its end and applies the exit status: its nimadm_exited line closes the output
    final = subprocess.run(
        _watch_command(args, state, record.log, once=True), stdin=subprocess.DEVNULL, env=child_env(), check=False
    )
    _sync(state)
    if final.returncode in (ExitCode.USAGE, ExitCode.STATE):
        return final.returncode
    failed = current.exit_code != 0 or final.returncode == ExitCode.FAILED
    return ExitCode.FAILED if failed else ExitCode.OK


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a child of ours that ended is reaped, not taken for alive)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done != pid
    except ChildProcessError:
        pass  # not our child (any more): ask the kernel
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(watch: subprocess.Popen[bytes]) -> None:
    import subprocess

    if watch.poll() is not None:
        return
    watch.send_signal(signal.SIGTERM)
    try:
        watch.wait(STOP_WAIT)
    except subprocess.TimeoutExpired:
        watch.kill()
        watch.wait()
