"""``nimwatch watch``: follow nimadm logs headless, print JSON lines, alert, run hooks.

Owns the command line, stdout/stderr and the signals: one JSON object per
public notice on stdout, flushed at once; diagnostics on stderr; SIGTERM (and
Ctrl-C) stop cleanly with the state journal flushed; SIGHUP reloads the
configuration (a bad one is refused and the old one kept). ``--once``
processes what is there, delivers alerts and hooks, waits for them and exits:
0 no failed run, 1 a failed run, 2 usage or configuration error (4: damaged
state journal, see ``--rebuild-state``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from nimwatch.commands import DEFAULT_LOG_DIR
from nimwatch.errors import ExitCode, UsageError
from nimwatch.logsetup import keep_appending

if TYPE_CHECKING:  # the stdout writer (SQLite, the engine) is imported when watch runs, not by every command
    from nimwatch.output import StdoutWriter

log = logging.getLogger(__name__)

TICK = 1.0
"""Seconds the service loop sleeps between looks at its flags (signals, stall checks)."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "watch",
        help="follow nimadm logs headless: JSON lines, alerts, hooks, metrics",
        description=(
            "Follow nimadm logs live (a directory means its *_alt_mig.log files, including ones that appear "
            "later). Prints one JSON object per event on stdout, sends alerts, runs hooks and keeps a state "
            "journal so that a restart neither repeats nor misses an alert."
        ),
        epilog="Exit codes: 0 no failed run, 1 a failed run (--once), 2 usage or config error (--once: or a path "
        "that could not be read, the rest processed), 4 damaged state journal. SIGTERM stops, SIGHUP reloads.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="DIR|LOG",
        help=f"directories of *_alt_mig.log files or single logs (default {DEFAULT_LOG_DIR})",
    )
    p.add_argument(
        "--config", "-c", metavar="FILE", help="config file (default: $NIMWATCH_CONFIG, then the system or user file)"
    )
    p.add_argument(
        "--poll",
        metavar="auto|SECONDS",
        help="auto: native file events where available (default); SECONDS: poll at this interval (NFS, AIX)",
    )
    p.add_argument(
        "--state", metavar="PATH", help="state journal (default: $NIMWATCH_STATE, then the system or user path)"
    )
    p.add_argument("--once", action="store_true", help="process what is there, deliver alerts and hooks, then exit")
    p.add_argument(
        "--alert-backlog",
        action="store_true",
        help="alert and run hooks for finished runs found at first start in logs unchanged for backlog_hours "
        "(default: they are shown, not alerted)",
    )
    p.add_argument(
        "--rebuild-state",
        action="store_true",
        help="move a damaged state journal aside and rebuild it from the logs",
    )
    p.set_defaults(func=run)


def parse_poll(value: Optional[str]) -> tuple[bool, Optional[float]]:
    """(given, seconds): ``auto`` gives (True, None); nothing gives (False, None)."""
    if value is None:
        return False, None
    if value == "auto":
        return True, None
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"--poll: expected 'auto' or a number of seconds, not {value!r}") from None
    return True, check_poll(seconds)


def check_poll(seconds: float) -> float:
    """``--poll SECONDS`` within the bounds of the config's ``poll``."""
    from nimwatch.config.file import POLL

    if not POLL.above < seconds <= POLL.most:  # type: ignore[operator]
        raise UsageError(f"--poll: the interval must be above {POLL.above:g} and at most {POLL.most:g} seconds")
    return seconds


def _buffer_lines() -> int:
    """Lines stdout may hold back for a slow reader (``NIMWATCH_STDOUT_BUFFER``, default 20,000)."""
    from nimwatch.output import MAX_LINES

    raw = os.environ.get("NIMWATCH_STDOUT_BUFFER", "")
    if not raw:
        return MAX_LINES
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"NIMWATCH_STDOUT_BUFFER: expected a number of lines, not {raw!r}")
    return int(raw)


def run(args: argparse.Namespace) -> int:
    from nimwatch.config import default_config_path, default_state_path, load_config
    from nimwatch.journal import Journal
    from nimwatch.rulefiles import load_rules
    from nimwatch.watcher import Watcher

    poll_given, poll = parse_poll(args.poll)
    config_path = Path(args.config) if args.config else default_config_path()
    config = load_config(config_path)
    if not poll_given:
        poll = config.poll
    state_path = Path(args.state) if args.state else (config.state or default_state_path())
    paths = [Path(p) for p in (args.paths or [DEFAULT_LOG_DIR])]
    if args.once:  # a service may wait for its directory to appear; a single pass has nothing to wait for
        missing = [p for p in paths if not os.path.lexists(p) and not p.name.endswith(".log")]
        if missing and len(missing) == len(paths):
            raise UsageError(f"{missing[0]}: no such directory")
    rules = load_rules(config.rules)
    log.debug("config %s, state %s, %d signature(s)", config_path or "(none)", state_path, len(rules.signatures))
    log.debug("following %s; %s", ", ".join(map(str, paths)), f"polling every {poll:g} s" if poll else "file events")
    keep_appending(sys.stdout, sys.stderr)
    from nimwatch.output import StdoutWriter

    output = StdoutWriter(sys.stdout, sys.stderr, block=args.once, max_lines=_buffer_lines())
    if args.rebuild_state:
        journal, aside = Journal.rebuild(state_path)
        if aside is not None:
            log.warning("state journal moved aside to %s; rebuilding %s from the logs", aside, state_path)
    else:
        journal = Journal.open(state_path)
    output.journal = journal
    try:
        watcher = Watcher(
            config,
            rules,
            journal,
            paths,
            poll=poll,
            output=output,
            diag=output.diag,
            alert_backlog=args.alert_backlog,
        )
        if args.once:
            return watcher.run_once()
        return _serve(watcher, config_path, output)
    finally:
        journal.close()


def _serve(watcher: Any, config_path: Optional[Path], output: StdoutWriter) -> int:
    stop = threading.Event()
    reload = threading.Event()
    interrupted = threading.Event()

    def on_int(signum: int, frame: Any) -> None:
        interrupted.set()
        stop.set()

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, lambda signum, frame: stop.set()),
        signal.SIGINT: signal.signal(signal.SIGINT, on_int),
    }
    if hasattr(signal, "SIGHUP"):
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, lambda signum, frame: reload.set())
    watcher.start()
    kinds = watcher.tailer.observer_kinds()
    log.info("watching %s", ", ".join(f"{d} ({k})" for d, k in kinds.items()) or "nothing")
    try:
        while not stop.is_set() and not output.broken.is_set():
            stop.wait(TICK)
            if reload.is_set():
                reload.clear()
                watcher.reload(config_path)
            watcher.tick()
    finally:
        watcher.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return ExitCode.INTERRUPTED if interrupted.is_set() else ExitCode.OK
