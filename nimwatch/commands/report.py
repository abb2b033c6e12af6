"""``nimwatch report``: post-mortem reports of finished (or running) nimadm logs.

Exit status (the README documents it): 0 when the last run of every log
succeeded, 1 when any failed, 3 when none failed but one did not finish, 2 for
usage or input errors: a path that cannot be read or listed, or a binary file,
is one line on stderr and the others are still reported (an empty client log
is a run that has not started: 3).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from nimwatch.commands import add_rules_option
from nimwatch.errors import ExitCode, NimwatchError
from nimwatch.terminal import escape_controls, say, write

DOCUMENT_SUFFIXES = (".md", ".markdown", ".rst", ".html")
"""Files a shell glob over a log directory may name that are never logs."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "report",
        help="report on finished nimadm logs (text, Markdown or JSON)",
        description="Report on nimadm logs: per client a phase table, findings with advice and a reboot verdict.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files, or directories meaning their *_alt_mig.log")
    p.add_argument("--format", "-f", choices=("text", "json", "markdown"), default="text")
    add_rules_option(p)
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument(
        "--state",
        metavar="PATH",
        help="the state journal of `nimwatch watch`, for phase durations (default: $NIMWATCH_STATE or the "
        "default journal, when it exists)",
    )
    p.add_argument("--no-state", action="store_true", help="ignore the state journal")
    p.set_defaults(func=run)


def exit_code_for(records: list[dict[str, Any]]) -> ExitCode:
    """Judged on the last run of each log: earlier runs in the same file are history."""
    last: dict[str, dict[str, Any]] = {}
    for rec in records:
        last[rec["log"]] = rec
    outcomes = {rec["outcome"] for rec in last.values()}
    if "failed" in outcomes:
        return ExitCode.FAILED
    if "incomplete" in outcomes:
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def _open_journal(path: str | None) -> Any:
    """The journal read-only: the one named, else the default one if it exists (None when there is none)."""
    from pathlib import Path

    from nimwatch.config import default_state_path
    from nimwatch.journal import Journal

    if path is not None:
        return Journal.open(Path(path), readonly=True)  # a named journal must be usable
    default = default_state_path()
    if not default.is_file():
        return None
    try:
        return Journal.open(default, readonly=True)
    except NimwatchError as exc:
        say(f"{exc}; reporting without durations")
        return None


def run(args: argparse.Namespace) -> int:
    from nimwatch.rulefiles import load_rules
    from nimwatch.sources.files import BINARY, LOG_SUFFIX, ArrivalTimes, find_logs, read_log, sniff
    from nimwatch.views.report_data import report_records

    rules = load_rules(args.rules)
    journal = None if args.no_state else _open_journal(args.state)
    logs = []
    paths, problems = find_logs(args.paths)  # one bad path is one line; the others are still reported on
    for problem in problems:
        say(problem)
    input_errors = len(problems)
    for path in paths:
        if path.suffix.lower() in DOCUMENT_SUFFIXES:
            # `report sample_logs/*` also names the README: documentation, not a log
            say(f"{path}: documentation, not a log; skipped")
            continue
        try:
            kind = sniff(path)
            if kind == BINARY:
                say(f"{path}: {kind}; skipped")
                input_errors += 1
                continue
            if kind is not None:
                say(f"{path}: {kind}")
            times = ArrivalTimes(journal.arrival_times(os.path.abspath(path))) if journal else None
            state = read_log(path, rules, times=times)
        except NimwatchError as exc:
            say(str(exc))
            input_errors += 1
            continue
        if not state.runs and not path.name.endswith(LOG_SUFFIX):
            # `report dir/*` also names READMEs and notes: not logs, so not runs
            say(f"{path}: no nimadm output; skipped")
            continue
        logs.append(state)
    if not logs and input_errors:
        return ExitCode.USAGE
    records = report_records(logs, rules)
    if args.format == "json":
        text = json.dumps({"runs": records}, indent=2, ensure_ascii=True) + "\n"
    elif args.format == "markdown":
        from nimwatch.views.report_text import render_markdown

        text = render_markdown(records)
    else:
        from nimwatch.views.report_text import render_text

        text = render_text(records)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(escape_controls(text))
        except OSError as exc:
            raise NimwatchError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    else:
        write(text)
    if input_errors:
        return ExitCode.USAGE
    return exit_code_for(records)
