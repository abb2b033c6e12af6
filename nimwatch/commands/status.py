"""``nimwatch status [DIR|LOG...] [--watch SECONDS]``: the dashboard as a plain table.

The fallback for terminals where Textual cannot draw (it has drawn blank
screens on some AIX terminals): one line per client with the same columns as
the TUI dashboard, printed once, or redrawn every SECONDS with plain ANSI
(clear screen, cursor home). Never imports Textual.

The pipeline is :func:`nimwatch.session.plain`, the tailer of ``watch`` and
``tui`` read each time the table is drawn
(:class:`~nimwatch.sources.plain.PlainFollower`). Arrival times come from the
state journal when it knows a log; otherwise a log's lines are taken to have
arrived at the file's modification time, so that a silent log still shows as
stalled, but its elapsed time and ETA are unknown (``-``). A log unchanged
for longer than the config's ``stall.incomplete_after_minutes`` is read as
finished (the parser then says whether it succeeded, failed or is
incomplete, as ``report`` does). The exit status of a nimadm ``nimwatch
run`` started settles what its log leaves open and is said under the table;
with ``nim_state:`` in the config each client's NIM state is read and shown
beside its phase. Under the table too: the hooks whose last result failed for a
client's latest run, and the alert sinks that are failing: the watcher's spool
in the state journal (alerts pending after a failed try) is reduced into the
fleet's state (:func:`sink_trouble`), which the table reads.

Exit status: 0 when every client's last run succeeded, 1 when one failed,
3 when none failed but one is still running, stalled or incomplete, 2 for
usage or input errors (a path that cannot be read is one line on stderr; the
table still shows the others).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from nimwatch.commands import DEFAULT_LOG_DIR, add_rules_option, exit_code_for
from nimwatch.errors import ExitCode, NimwatchError
from nimwatch.terminal import can_encode, say, write

CLEAR = "\x1b[H\x1b[2J"
"""Cursor home, clear screen: understood by every ANSI/VT100 terminal, aixterm included."""

sleep: Callable[[float], None] = time.sleep
"""The pause between two redraws of ``--watch`` (tests replace it)."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "status",
        help="print the dashboard once as a plain table (no Textual), or redraw it with --watch",
        description="The TUI dashboard as plain text: one line per client (status, phase, progress, elapsed, "
        "ETA, findings, last line). For terminals where the TUI cannot draw.",
    )
    p.add_argument("paths", nargs="*", metavar="DIR|LOG", help=f"log directory or files (default {DEFAULT_LOG_DIR})")
    p.add_argument("--watch", "-w", type=float, metavar="SECONDS", help="redraw every SECONDS until Ctrl-C")
    p.add_argument(
        "--sort",
        choices=("status", "name", "progress", "elapsed"),
        default="status",
        help="row order (default status: what needs you first)",
    )
    p.add_argument(
        "--ascii", action="store_true", help="ASCII symbols and bars only (default when the output is not UTF-8)"
    )
    p.add_argument(
        "--colour",
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        dest="colour",
        help="auto: on a terminal, unless NO_COLOR is set (default auto)",
    )
    add_rules_option(p)
    p.add_argument("--config", metavar="FILE", help="config file (default: NIMWATCH_CONFIG, then the usual places)")
    p.add_argument(
        "--state",
        metavar="PATH",
        help="state journal, for arrival times and the exit status of runs `nimwatch run` started (default: the "
        "config's state, $NIMWATCH_STATE, then the system or user path)",
    )
    p.set_defaults(func=run)


def rows_of(session: Any, follower: Any, order: str = "status") -> list[Any]:
    """One row per log read so far, sorted: the table of :mod:`nimwatch.views.status_text`."""
    from nimwatch.views.status_table import client_row, sort_rows

    now = session.clock()
    eta = session.eta
    with session.engine.locked():
        rows = [
            client_row(
                state,
                session.rules,
                now,
                timed=session.timed(state.log),
                estimate=lambda run: eta.eta_for(run, now),
            )
            for state in session.engine.snapshot().values()
            if state.log in follower.read
        ]
    return sort_rows(rows, order)


def sink_trouble(session: Any) -> list[Any]:
    """The alert sinks failing now, as the fleet's state has them once the journal's spool is reduced into it.

    A sink whose oldest pending alert has failed tries is failing (``SinkFailed``); one that no
    longer has such an alert delivers again (``SinkRecovered``): both go through the engine's reducer.
    """
    from nimwatch.core.events import SinkFailed, SinkRecovered

    journal, engine = session.journal, session.engine
    if journal is not None:
        types = {spec.name: spec.type for spec in session.config.alerts}
        pending = journal.spool_pending()
        with engine.locked():
            failing = {s.name for s in engine.fleet.failing}
        for sink, count in sorted(pending.items()):
            head = journal.spool_due(sink, float("inf"), limit=1)
            if head and head[0].attempts:
                item, meta = head[0], head[0].payload.get("meta", {})
                summary, event = str(meta.get("summary", "")), str(meta.get("event", ""))
                failed = SinkFailed(sink, types.get(sink, "?"), item.last_error, count, item.attempts, item.next_try,
                                    alert=summary, alert_event=event, log=str(meta.get("log", "")))
                engine.report(failed, session.clock(), failed.log)
                failing.discard(sink)
        for sink in sorted(failing):
            engine.report(SinkRecovered(sink, types.get(sink, "?"), pending.get(sink, 0)), session.clock())
    with engine.locked():
        return list(engine.fleet.failing)


def _use_colour(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM", "") != "dumb"


def run(args: argparse.Namespace) -> int:
    from nimwatch import session as sessions
    from nimwatch.sources.plain import PlainFollower
    from nimwatch.views.status_table import SYMBOL
    from nimwatch.views.status_text import render_table

    if args.watch is not None and args.watch <= 0:
        raise NimwatchError("--watch needs a positive number of seconds")
    paths = list(args.paths or [DEFAULT_LOG_DIR])
    config, rules = sessions.load_setup(args.config, args.rules, state=args.state)
    session = sessions.plain(config, rules, [Path(p) for p in paths], once=args.watch is None)
    follower = PlainFollower(session, paths, say)
    follower.look()
    colour = _use_colour(args.colour)
    # ASCII symbols and bars: asked for, or the output cannot encode the UTF-8 ones
    ascii_only = args.ascii or not can_encode("".join(SYMBOL.values()) + "█░")
    import shutil  # (here: every command's parser is built at start-up)

    while True:
        width = shutil.get_terminal_size((100, 24)).columns
        rows = rows_of(session, follower, args.sort)
        text = render_table(rows, width, colour=colour, ascii_only=ascii_only, sinks=sink_trouble(session))
        if args.watch is None:
            write(text, raw=True)  # the table escaped the log's text; raw keeps its own colour codes
            return ExitCode.USAGE if follower.problems else exit_code_for({row.status for row in rows})
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        write(f"{CLEAR}nimwatch status  {stamp}  (every {args.watch:g} s, Ctrl-C quits)\n\n{text}", raw=True)
        sleep(args.watch)
        follower.look()
