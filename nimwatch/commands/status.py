"""``nimwatch status [DIR|LOG...] [--watch SECONDS]``: the dashboard as a plain table.

The fallback for terminals where Textual cannot draw (it has drawn blank
screens on some AIX terminals): one line per client with the same columns as
the TUI dashboard, printed once, or redrawn every SECONDS with plain ANSI
(clear screen, cursor home). Never imports Textual.

Arrival times come from the state journal when it knows a log; otherwise a
log's lines are taken to have arrived at the file's modification time, so
that a silent log still shows as stalled, but its elapsed time and ETA are
unknown (``-``). A log unchanged for longer than the config's
``stall.incomplete_after_minutes`` is read as finished (the parser then says
whether it succeeded, failed or is incomplete, as ``report`` does). The exit
status of a nimadm ``nimwatch run`` started settles what its log leaves open
and is said under the table; with ``nim_state:`` in the config each client's
NIM state is read and shown beside its phase.

Exit status: 0 when every client's last run succeeded, 1 when one failed,
3 when none failed but one is still running, stalled or incomplete, 2 for
usage or input errors (a path that cannot be read is one line on stderr; the
table still shows the others).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

from nimwatch.commands import DEFAULT_LOG_DIR, add_rules_option
from nimwatch.errors import ExitCode, NimwatchError
from nimwatch.terminal import can_encode, say, write

log = logging.getLogger(__name__)

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


def open_journal(config: Any) -> Any:
    """The state journal, read-only, when nimwatch's journal module and file exist (else None)."""
    try:
        from nimwatch.journal import Journal  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    from nimwatch.config import default_state_path

    path = config.state or default_state_path()
    if not Path(path).is_file():
        return None
    try:
        return Journal.open(path, readonly=True)
    except NimwatchError as exc:
        say(f"{exc} (elapsed times unknown)")
        return None


def stall_monitor(engine: Any, config: Any, rules: Any, clock: Callable[[], float]) -> Any:
    """The watcher's stall monitor when present (None: stalls are not shown)."""
    try:
        from nimwatch.stall import StallMonitor  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    nim = config.nim_state.stall_minutes if config.nim_state is not None else None
    return StallMonitor(engine, config.stall, rules, clock, nim_stall_minutes=nim)


def runs_dir_of(config: Any) -> Path:
    """Where ``nimwatch run`` keeps its run records for this config's state journal."""
    from nimwatch.config import default_state_path
    from nimwatch.launcher.records import runs_dir

    return runs_dir(Path(config.state or default_state_path()))


def nim_feed(engine: Any, config: Any, clock: Callable[[], float]) -> Any:
    """The NIM state cross-check when the config turns it on (None: off)."""
    if config.nim_state is None:
        return None
    from nimwatch.sources.nim_feed import NimStateFeed

    return NimStateFeed(engine, config.nim_state, clock=clock)


def eta_source(rules: Any, journal: Any) -> Any:
    """The ETA from the journal's run history (an empty history without a journal)."""
    from nimwatch.eta_live import EtaSource, HistoryCache

    try:
        history = HistoryCache.load(journal)
    except NimwatchError as exc:
        log.warning("%s (ETA without history)", exc)
        history = HistoryCache()
    return EtaSource(rules, history)


class PlainStatus:
    """The engine fed from log files for the plain table: once, then what the files gained."""

    def __init__(
        self,
        paths: list[str],
        rules_files: list[str],
        config_path: Optional[str],
        clock: Callable[[], float] = time.time,
        state: Optional[str] = None,
    ) -> None:
        from nimwatch.config import default_config_path, load_config
        from nimwatch.engine import Engine
        from nimwatch.rulefiles import load_rules

        self.paths = paths
        self.clock = clock
        self.config = load_config(Path(config_path) if config_path else default_config_path())
        if state:
            self.config.state = Path(state)
        self.rules = load_rules([*self.config.rules, *rules_files])
        self.engine = Engine(self.rules, clock=clock)
        self.journal = open_journal(self.config)
        self.eta = eta_source(self.rules, self.journal)
        self.monitor = stall_monitor(self.engine, self.config, self.rules, clock)
        self.runs = runs_dir_of(self.config)
        self.nim = nim_feed(self.engine, self.config, clock)
        self.timed: set[str] = set()
        self.offsets: dict[str, int] = {}
        self.closed: set[str] = set()
        self.problems: dict[str, str] = {}
        """Paths that cannot be read now -> why (each said once on stderr, while it lasts)."""

    def _problem(self, key: str, message: str) -> None:
        if self.problems.get(key) != message:
            self.problems[key] = message
            say(message)

    def files(self) -> list[Path]:
        from nimwatch.sources.files import find_logs

        found, problems = find_logs(self.paths)
        for problem in problems:
            self._problem(problem.split(": ", 1)[0], problem)
        return found

    def load(self) -> None:
        """Read every log from its start (journal times when known, else the file's mtime)."""
        from nimwatch.launcher.exits import finished_exits
        from nimwatch.sources.replay import ReplaySource

        exits = finished_exits(self.runs)  # before the logs: a finished record's log is whole
        for path in self.files():
            name = os.path.abspath(path)
            if name in self.offsets:
                continue
            try:
                data = path.read_bytes()
                mtime = path.stat().st_mtime
            except OSError as exc:
                self._problem(str(path), f"{path}: cannot read: {exc.strerror or exc}")
                continue
            self.problems.pop(str(path), None)
            replay = None
            if self.journal is not None:
                replay = ReplaySource(self.engine, [path], speed=None, journal=self.journal, close_at_end=False)
            if replay is not None and replay.timed(name):
                replay.run_to_end()
                self.timed.add(name)
            else:
                self.engine.feed(name, data, at=mtime)
            self.offsets[name] = len(data)
        self.close_silent()
        self.outside(exits)

    def outside(self, exits: dict[str, list[Any]]) -> None:
        """What the logs cannot say: nimadm's exit status (run records), the clients' NIM state; then stalls."""
        from nimwatch.launcher.exits import exits_of
        from nimwatch.outside_notices import apply_outside

        for name in list(self.offsets):
            for event in exits_of(exits, name):
                apply_outside(self.engine, name, event)
        if self.nim is not None:
            self.nim.tick(self.clock())
        self.check_stalls()

    def poll(self) -> None:
        """Feed what each log gained since the last look; new logs in a directory are read whole."""
        from nimwatch.launcher.exits import finished_exits

        exits = finished_exits(self.runs)
        for path in self.files():
            name = os.path.abspath(path)
            if name not in self.offsets:
                self.load()
                return
            try:
                size = path.stat().st_size
                if size < self.offsets[name] or (name in self.closed and size > self.offsets[name]):
                    self.engine.restart(name, "truncated" if size < self.offsets[name] else "resumed")
                    self.closed.discard(name)
                    self.offsets[name] = 0
                if size > self.offsets[name]:
                    with path.open("rb") as handle:
                        handle.seek(self.offsets[name])
                        data = handle.read(size - self.offsets[name])
                    self.engine.feed(name, data)
                    self.offsets[name] += len(data)
            except OSError as exc:
                self._problem(str(path), f"{path}: cannot read: {exc.strerror or exc}")
        self.close_silent()
        self.outside(exits)

    def close_silent(self) -> None:
        """A log unchanged for ``stall.incomplete_after_minutes`` is finished: the parser gives its outcome."""
        limit = self.config.stall.incomplete_after_minutes * 60.0
        now = self.clock()
        for name in self.offsets:
            if name in self.closed:
                continue
            try:
                mtime = os.stat(name).st_mtime
            except OSError:
                continue
            if now - mtime > limit:
                self.engine.close(name, at=mtime)
                self.closed.add(name)

    def check_stalls(self) -> None:
        if self.monitor is not None:
            self.monitor.check(self.clock())

    def rows(self, order: str = "status") -> list[Any]:
        from nimwatch.views.status_table import client_row, sort_rows

        now = self.clock()
        with self.engine.locked():
            rows = [
                client_row(
                    log,
                    self.rules,
                    now,
                    timed=log.log in self.timed,
                    estimate=lambda run: self.eta.eta_for(run, now),
                )
                for log in self.engine.snapshot().values()
            ]
        return sort_rows(rows, order)


def _use_colour(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM", "") != "dumb"


def _ascii_output(flag: bool) -> bool:
    """ASCII symbols and bars: asked for, or the output cannot encode the UTF-8 ones."""
    from nimwatch.views.status_table import SYMBOL

    return flag or not can_encode("".join(SYMBOL.values()) + "█░")


def exit_code_for(rows: list[Any]) -> ExitCode:
    statuses = {row.status for row in rows}
    if "failed" in statuses:
        return ExitCode.FAILED
    if statuses & {"running", "stalled", "incomplete"}:
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def run(args: argparse.Namespace) -> int:
    from nimwatch.views.status_text import render_table

    if args.watch is not None and args.watch <= 0:
        raise NimwatchError("--watch needs a positive number of seconds")
    status = PlainStatus(list(args.paths or [DEFAULT_LOG_DIR]), args.rules, args.config, state=args.state)
    status.load()
    colour = _use_colour(args.colour)
    ascii_only = _ascii_output(args.ascii)
    while True:
        width = shutil.get_terminal_size((100, 24)).columns
        rows = status.rows(args.sort)
        text = render_table(rows, width, colour=colour, ascii_only=ascii_only)
        if args.watch is None:
            write(text, raw=True)  # the table escaped the log's text; raw keeps its own colour codes
            return ExitCode.USAGE if status.problems else exit_code_for(rows)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        write(f"{CLEAR}nimwatch status  {stamp}  (every {args.watch:g} s, Ctrl-C quits)\n\n{text}", raw=True)
        sleep(args.watch)
        status.poll()
