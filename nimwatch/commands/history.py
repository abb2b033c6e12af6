"""``nimwatch history``: the finished runs the state journal kept, and ``history import`` for old logs.

``nimwatch history [--client C] [--since DATE] [--format text|json|csv]``
lists the runs ``nimwatch watch`` (or the TUI) recorded when they finished:
client, master, levels, mode, outcome, sizes and each phase's duration
(from the arrival times of the lines). ``nimwatch history import PATH...``
adds the runs of old logs: with the phase durations the journal recorded for
a log it followed, else outcomes only (such runs never feed an ETA). A run
the log simply ends in (it may still be going) is not imported. The journal
is written with one short SQLite transaction, beside a running watcher.

Exit status: 0, or 2 for usage errors, a journal that cannot be read, or a
path to import that cannot be read (the other paths are still imported).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path
from typing import Optional

from nimwatch.commands import add_rules_option
from nimwatch.errors import ExitCode, NimwatchError, UsageError

SAME_START = 5.0
"""Seconds: an imported run starting this close to a recorded run of the same log and index is that run."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "history",
        help="list the finished runs and their phase durations (history import PATH...: add old logs)",
        description="The run history kept in the state journal: one line per finished run (client, run, "
        "outcome, mode, target level, total time, master) and its phase durations. `nimwatch history import "
        "PATH...` adds the runs of old logs (phase durations when the journal followed them, else outcomes "
        "only). The ETA learns from the succeeded, complete runs with phase durations.",
        epilog="Exit codes: 0 done, 2 usage error, unreadable journal, or a path to import that cannot be read.",
    )
    p.add_argument(
        "words",
        nargs="*",
        metavar="import PATH",
        help="`import` followed by log files or directories (their *_alt_mig.log): add their finished runs",
    )
    p.add_argument("--client", metavar="NAME", help="only this client's runs")
    p.add_argument(
        "--since",
        metavar="DATE",
        help="only runs finished since DATE: YYYY-MM-DD, 'YYYY-MM-DD HH:MM' (local time), or 7d, 12h, 30m ago",
    )
    p.add_argument("--format", "-f", choices=("text", "json", "csv"), default="text")
    p.add_argument(
        "--state", metavar="PATH", help="state journal (default: $NIMWATCH_STATE, then the system or user path)"
    )
    p.add_argument("--config", metavar="FILE", help="config file (default: NIMWATCH_CONFIG, then the usual places)")
    p.add_argument(
        "--master", metavar="NAME", help="import: the NIM master of the runs (default: the log's, else this host)"
    )
    p.add_argument(
        "--source-level", metavar="LEVEL", default="", help="import: the AIX level the clients had (e.g. 7.2)"
    )
    add_rules_option(p)
    p.set_defaults(func=run)


_AGO = re.compile(r"^(\d+(?:\.\d+)?)([dhm])$")


def parse_since(text: str, now: Optional[float] = None) -> float:
    """``--since``: a local date or date and time, or an age (``7d``, ``12h``, ``30m``) -> Unix seconds."""
    now = time.time() if now is None else now
    value = text.strip()
    ago = _AGO.match(value)
    if ago:
        return now - float(ago.group(1)) * {"d": 86400, "h": 3600, "m": 60}[ago.group(2)]
    from datetime import datetime  # (here: every command's parser is built at start-up)

    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).timestamp()
        except ValueError:
            continue
    raise UsageError(f"--since: {text!r} is not YYYY-MM-DD, 'YYYY-MM-DD HH:MM' or an age such as 7d, 12h, 30m")


def _state_path(args: argparse.Namespace) -> Path:
    from nimwatch.config import default_config_path, default_state_path, load_config

    if args.state:
        return Path(args.state)
    config = load_config(Path(args.config) if args.config else default_config_path())
    return Path(config.state or default_state_path())


def run(args: argparse.Namespace) -> int:
    words = list(args.words)
    if words and words[0] == "import":
        if len(words) < 2:
            raise UsageError("history import: give the log files or directories to import")
        if args.client or args.since:
            raise UsageError("history import: --client and --since are for listing")
        return import_logs(args, words[1:])
    if words:
        raise UsageError(f"history: unknown word {words[0]!r} (did you mean `nimwatch history import PATH...`?)")
    return list_runs(args)


def list_runs(args: argparse.Namespace) -> int:
    from nimwatch.history_store import records
    from nimwatch.journal import Journal
    from nimwatch.terminal import say, write
    from nimwatch.views.history_text import render_csv, render_json, render_text

    since = parse_since(args.since) if args.since else None
    path = _state_path(args)
    if not path.is_file():
        raise NimwatchError(f"{path}: no state journal here, so no history (nimwatch watch keeps one)")
    journal = Journal.open(path, readonly=True)
    problems: list[str] = []
    try:
        found = records(journal, client=args.client, since=since, problems=problems)
    finally:
        journal.close()
    for problem in problems:
        say(problem)
    write({"json": render_json, "csv": render_csv, "text": render_text}[args.format](found))
    return ExitCode.OK


def import_logs(args: argparse.Namespace, raw_paths: list[str]) -> int:
    from nimwatch.core.history import record_from_run
    from nimwatch.history_store import master_of, records, store_records
    from nimwatch.journal import Journal
    from nimwatch.rulefiles import load_rules
    from nimwatch.sources.files import ArrivalTimes, find_logs, read_log
    from nimwatch.terminal import say, write

    state_path = _state_path(args)
    rules = load_rules(args.rules)
    paths, problems = find_logs(raw_paths)
    for problem in problems:
        say(problem)
    # read-only: the runs the history already holds, and the arrival times of the logs the journal followed
    journal = Journal.open(state_path, readonly=True) if state_path.is_file() else None
    known: dict[tuple[str, str, int], list[float]] = {}  # (master, log, run) -> start times in the history
    new = []
    timed = going = already = 0
    try:
        for rec in records(journal) if journal is not None else []:
            if rec.started_at is not None:
                known.setdefault((rec.master, rec.log, rec.run), []).append(rec.started_at)
        for path in paths:
            name = os.path.abspath(path)
            times = ArrivalTimes(journal.arrival_times(name)) if journal is not None else None
            try:
                state = read_log(path, rules, times=times or None)
            except NimwatchError as exc:
                say(str(exc))
                problems.append(str(exc))
                continue
            for run_state in state.runs:
                if run_state.open_end:
                    going += 1
                    continue
                record = record_from_run(
                    run_state,
                    log=name,
                    master=args.master or master_of(run_state),
                    source_level=args.source_level,
                )
                starts = known.get((record.master, record.log, record.run), [])
                if record.started_at is not None and any(abs(s - record.started_at) <= SAME_START for s in starts):
                    already += 1
                    continue
                timed += bool(record.phases)
                new.append(record)
    finally:
        if journal is not None:
            journal.close()
    written = store_records(state_path, new) if new else 0
    parts = [f"{written} run{'s' if written != 1 else ''} imported into {state_path}"]
    parts.append(f"{timed} with phase durations from the journal, {written - timed} outcome only")
    if already:
        parts.append(f"{already} already in the history")
    if going:
        parts.append(f"{going} not finished (the log ends in it) left out")
    write("; ".join(parts) + "\n")
    return ExitCode.USAGE if problems else ExitCode.OK
