"""``nimwatch report``: post-mortem reports of finished (or running) nimadm logs.

The exit status of a nimadm that ``nimwatch run`` started (its run record,
beside the state journal) settles a run the log leaves open
(:mod:`nimwatch.core.outside`) and is shown with the run; ``--no-state``
leaves the records out too.

Exit status (the README documents it), judged per client on its last
migration (:func:`nimwatch.core.verdict.client_verdict`): 0 when every
client's last migration succeeded (or its log holds no migration, e.g. a
clean-up only), 1 when any failed, 3 when none failed but one did not finish
(still running, killed, cut off, or abandoned and cleaned up; an empty client
log is a run that has not started), 2 for usage or input errors: a path that
cannot be read or listed, or a binary file, is one line on stderr and the
others are still reported.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nimwatch.commands import add_rules_option, exit_code_for
from nimwatch.errors import ExitCode, NimwatchError
from nimwatch.terminal import escape_controls, write

DOCUMENT_SUFFIXES = (".md", ".markdown", ".rst", ".html")
"""Files a shell glob over a log directory may name that are never logs."""

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "report",
        help="report on finished nimadm logs (text, Markdown or JSON)",
        description="Report on nimadm logs: per client a phase table, findings with advice and a reboot verdict.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files, or directories meaning their *_alt_mig.log")
    p.add_argument(
        "--format", "-f", choices=("text", "json", "markdown"), default="text", help="output format (default text)"
    )
    add_rules_option(p)
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument(
        "--state",
        metavar="PATH",
        help="the state journal of `nimwatch watch`, for phase durations (default: $NIMWATCH_STATE or the "
        "default journal, when it exists)",
    )
    p.add_argument("--no-state", action="store_true", help="ignore the state journal")
    p.add_argument(
        "--verbose", "-v", action="store_true", help="list routine (benign) findings one by one instead of folding them"
    )
    p.set_defaults(func=run)


def _open_journal(state: Path, named: bool) -> Any:
    """The journal at ``state`` read-only; None when it is the default one and is missing or unusable."""
    if not named and not state.is_file():
        return None
    from nimwatch.journal import Journal  # (SQLite: imported only when there is a journal to read)

    try:
        return Journal.open(state, readonly=True)
    except NimwatchError as exc:
        if named:
            raise  # a named journal must be usable
        log.warning("%s; reporting without durations", exc)
        return None


def _output(path: str | None, produce: Callable[[Callable[[str], object]], object]) -> None:
    """Give ``produce`` a writer to the file at ``path`` (stdout when None), control characters escaped."""
    if path is None:
        produce(lambda piece: write(piece, flush=False))
        write("")
        return
    try:
        with open(path, "w", encoding="utf-8") as handle:
            produce(lambda piece: handle.write(escape_controls(piece)))
    except OSError as exc:
        raise NimwatchError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _shared_scanner(rules: Any) -> Any:
    """One scanner set for every log of the call, on the scan anchors stored with the rules.

    A bad anchors file is a warning: the scan is exact without it, only slower.
    """
    from nimwatch.anchorfile import load_anchor_data
    from nimwatch.core.scanset import build_scanner

    anchors, problem = load_anchor_data()
    if problem:
        log.warning("%s", problem)
    return build_scanner(rules, anchors)


def run(args: argparse.Namespace) -> int:
    from nimwatch.launcher.exits import exits_of, finished_exits
    from nimwatch.rulefiles import load_rules
    from nimwatch.sources.files import BINARY, LOG_SUFFIX, ArrivalTimes, find_logs, read_log, sniff
    from nimwatch.views.report_data import (
        Judgement,
        client_records,
        iter_report_records,
        report_records,
        write_report_document,
    )

    rules = load_rules(args.rules)
    scanner = _shared_scanner(rules)
    journal = runs = None
    if not args.no_state:  # `nimwatch run`'s run records are kept beside the state journal
        from nimwatch.config import default_state_path
        from nimwatch.launcher.records import runs_dir

        where = Path(args.state) if args.state is not None else default_state_path()
        journal, runs = _open_journal(where, named=args.state is not None), runs_dir(where)
    exits = finished_exits(runs)
    logs = []
    mtimes: dict[str, float] = {}
    timed: set[str] = set()
    paths, problems = find_logs(args.paths)  # one bad path is one line; the others are still reported on
    for problem in problems:
        log.error("%s", problem)
    input_errors = len(problems)
    for path in paths:
        if path.suffix.lower() in DOCUMENT_SUFFIXES:
            # `report sample_logs/*` also names the README: documentation, not a log
            log.info("%s: documentation, not a log; skipped", path)
            continue
        try:
            kind = sniff(path)
            if kind == BINARY:
                log.error("%s: %s; skipped", path, kind)
                input_errors += 1
                continue
            if kind is not None:
                log.warning("%s: %s", path, kind)
            times = ArrivalTimes(journal.arrival_times(os.path.abspath(path))) if journal else None
            state = read_log(path, rules, scanner, times=times)
            for event in exits_of(exits, str(path)):  # nimadm's exit status settles what the log leaves open
                state.apply(event)
        except NimwatchError as exc:
            log.error("%s", exc)
            input_errors += 1
            continue
        if not state.runs and not path.name.endswith(LOG_SUFFIX):
            # `report dir/*` also names READMEs and notes: not logs, so not runs
            log.info("%s: no nimadm output; skipped", path)
            continue
        log.debug("%s: %d line(s), %d run(s)", path, state.lines, len(state.runs))
        logs.append(state)
        if times:
            timed.add(state.log)
        with contextlib.suppress(OSError):  # no mtime: the run is "in progress (or stopped)"
            mtimes[state.log] = path.stat().st_mtime
    if not logs and input_errors:
        return ExitCode.USAGE
    # a log that simply ends is "in progress (or stopped)" until it is silent past its phase's stall threshold
    # a run the log simply ends in gets an ETA from the run history when its arrival times are known (they
    # come from the journal: without one no run has an ETA, and the estimator is not even imported)
    now = time.time()
    eta = None
    if journal is not None:
        from nimwatch.eta_live import eta_source, report_eta  # (not nimwatch.session: it imports the config)

        eta = report_eta(eta_source(rules, journal), timed.__contains__, now)
    judge = Judgement(rules, now, mtimes, eta=eta)
    clients = client_records(logs, rules, judge)
    if args.format == "json":
        # written one run at a time: memory does not grow with the number of runs
        records = iter_report_records(logs, rules, judge)
        _output(args.output, lambda out: write_report_document(out, records, clients))
    else:
        listed = report_records(logs, rules, judge)
        from nimwatch.views.report_text import render_markdown, render_text

        render = render_markdown if args.format == "markdown" else render_text
        text = render(listed, clients, verbose=args.verbose)
        _output(args.output, lambda out: out(text))
    return ExitCode.USAGE if input_errors else exit_code_for({c["status"] for c in clients})
