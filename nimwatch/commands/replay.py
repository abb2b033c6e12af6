"""``nimwatch replay LOG... [--speed N | --max] [--headless]``: a finished migration, again.

Feeds finished logs through the engine at the pace the state journal
recorded: line by line from its arrival times, else from the log's runs in
the journal's run history (each phase as long as it was, its lines spread
evenly), else evenly paced (0.1 s per line). In the TUI with
pause, step, seek and speed keys, or ``--headless`` as the JSON lines of
``nimwatch watch`` (one public notice per line, flushed, written by
:class:`~nimwatch.output.JsonLines`). Textual is imported only for
the TUI.

Exit status as ``report``: 0 when the last run of every log succeeded, 1 when
one failed, 3 when none failed but one did not finish, 2 when a path could not
be read (or is binary data): said on stderr, the other logs are replayed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Optional

from nimwatch.commands.tui import add_display_options
from nimwatch.errors import ExitCode, NimwatchError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "replay",
        help="replay finished logs at their recorded pace (TUI, or --headless JSON lines)",
        description="Replay finished nimadm logs through nimwatch at their real pace: the arrival times the "
        "state journal recorded, else the phase durations of the journal's run history, else evenly paced "
        "(0.1 s per line at speed 1).",
    )
    p.add_argument("paths", nargs="+", metavar="LOG", help="log files, or directories meaning their *_alt_mig.log")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, metavar="N", help="N times the recorded pace (default 1)")
    pace.add_argument("--max", action="store_true", help="as fast as possible")
    p.add_argument(
        "--headless", action="store_true", help="print the JSON lines of `nimwatch watch` instead of the TUI"
    )
    add_display_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nimwatch import session as sessions
    from nimwatch.commands import exit_code_for
    from nimwatch.sources.files import BINARY, find_logs, sniff
    from nimwatch.terminal import say
    from nimwatch.views.report_data import client_records

    speed: Optional[float] = None if args.max else args.speed
    if speed is not None and speed <= 0:
        raise NimwatchError("--speed needs a positive factor")
    config, rules = sessions.load_setup(args.config, args.rules)
    found, problems = find_logs(args.paths)  # one line per path that cannot be used; the others are replayed
    paths = []
    for path in found:
        try:
            kind = sniff(path)
        except NimwatchError as exc:
            problems.append(str(exc))
            continue
        if kind == BINARY:
            problems.append(f"{path}: {kind}; skipped")
            continue
        if kind is not None:
            say(f"{path}: {kind}")
        paths.append(path)
    for problem in problems:
        say(problem)
    if not paths:
        return ExitCode.USAGE
    session = sessions.replay(config, rules, paths, speed=speed)
    engine = session.engine
    if args.headless:
        from nimwatch.output import JsonLines

        output = JsonLines(sys.stdout, sys.stderr)

        def emit(notice: Any) -> None:
            if notice.public:
                output.notice(notice)

        engine.subscribe(emit)
        session.replay.run()  # type: ignore[union-attr]
    else:
        from nimwatch.commands.tui import pick_theme, run_app, tui_app

        run_app(tui_app(session, report_dir=Path(args.report_dir), theme=pick_theme(args.theme)))
    if problems:
        return ExitCode.USAGE
    with engine.locked():
        clients = client_records(list(engine.logs.values()), engine.rules)
    return exit_code_for({c["status"] for c in clients})
