"""``nimwatch tui [DIR|LOG...]``: the live dashboard (the default command).

Follows the logs with the watcher's :class:`~nimwatch.sources.tail.Tailer`
(directories: their ``*_alt_mig.log``, including logs that appear later) and
asks the stall monitor every few seconds. nimadm's exit status (``nimwatch
run``'s records) and, with ``nim_state:`` in the config, the clients' NIM
state come in through their own threads (:func:`outside_sources`). A run that began before nimwatch
started shows no elapsed time or ETA (its lines all arrived at start-up). Textual is imported only inside
:func:`run`; where it cannot draw, ``nimwatch status`` shows the same table
in plain text.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Callable, Optional

from nimwatch.commands import DEFAULT_LOG_DIR, add_rules_option
from nimwatch.errors import ExitCode, LogSourceError, NimwatchError

THEMES = ("auto", "textual-dark", "textual-light", "ansi-dark", "ansi-light")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "tui",
        help="the live dashboard of every client (default when nimwatch runs without arguments)",
        description="Follow nimadm logs live: a dashboard row per client, the detail of one client (phases, "
        "facts, findings, log), the alerts of all. Press ? for the keys.",
    )
    p.add_argument("paths", nargs="*", metavar="DIR|LOG", help=f"log directories or files (default {DEFAULT_LOG_DIR})")
    add_display_options(p)
    p.add_argument(
        "--poll", type=float, metavar="SECONDS", help="poll the files every SECONDS instead of file events (NFS, AIX)"
    )
    p.set_defaults(func=run)


def add_display_options(p: argparse.ArgumentParser) -> None:
    """Options the tui and replay commands share."""
    add_rules_option(p)
    p.add_argument("--config", metavar="FILE", help="config file (default: NIMWATCH_CONFIG, then the usual places)")
    p.add_argument(
        "--theme",
        choices=THEMES,
        default="auto",
        help="colours; ansi-dark keeps to the terminal's 16 colours (auto: ansi-dark on 8/16-colour terminals)",
    )
    p.add_argument("--report-dir", metavar="DIR", default=".", help="where the report key writes (default: .)")


def pick_theme(choice: str, environ: Optional[dict[str, str]] = None) -> str:
    """``auto``: the 16-colour ansi-dark theme unless the terminal says it has more colours."""
    if choice != "auto":
        return choice
    env = os.environ if environ is None else environ
    term = env.get("TERM", "")
    if env.get("COLORTERM") or "256" in term or "direct" in term:
        return "textual-dark"
    return "ansi-dark"


def load_setup(args: argparse.Namespace) -> tuple[Any, Any]:
    """(config, rules) from --config and --rules."""
    from nimwatch.config import default_config_path, load_config
    from nimwatch.rulefiles import load_rules

    config = load_config(Path(args.config) if args.config else default_config_path())
    rules = load_rules([*config.rules, *args.rules])
    return config, rules


def import_textual_app() -> Any:
    """The TUI module, or a NimwatchError pointing at the plain fallback."""
    try:
        from nimwatch.tui import app
    except ImportError as exc:
        raise NimwatchError(
            f"the TUI needs Textual ({exc}); `nimwatch status --watch 10` shows the dashboard as plain text"
        ) from None
    return app


def lines_present(paths: list[Path]) -> dict[str, int]:
    """Lines each log already has (absolute path, as the tailer keys logs)."""
    from nimwatch.sources.files import LOG_SUFFIX

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in path.glob("*" + LOG_SUFFIX) if p.is_file())
        elif path.is_file():
            files.append(path)
    out: dict[str, int] = {}
    for file in files:
        try:
            with file.open("rb") as handle:
                blocks = iter(lambda: handle.read(1 << 20), b"")
                out[os.path.abspath(file)] = sum(block.count(b"\n") for block in blocks)
        except OSError:
            continue
    return out


def started_while_watching(engine: Any, paths: list[Path]) -> Callable[[str], bool]:
    """``timed(log)`` for the TUI: True when the log's current run began after nimwatch started.

    Lines already in a file when nimwatch starts all "arrive" at start-up: the
    elapsed time and ETA of a run that began in them would be made up, so they
    are not shown.
    """
    history = lines_present(paths)

    def timed(log: str) -> bool:
        state = engine.logs.get(log)
        run = state.current if state is not None else None
        return run is not None and run.start_line > history.get(log, 0)

    return timed


def outside_sources(engine: Any, config: Any, tailer: Any, on_error: Callable[[str], None]) -> list[Any]:
    """Started: nimadm's exit status from ``nimwatch run``'s records, the NIM state when configured (stop each)."""
    from nimwatch.commands.status import nim_feed, runs_dir_of
    from nimwatch.launcher.exits import LaunchFollower, read_to_end

    def caught_up(log: str) -> bool:
        return read_to_end(tailer, log)

    sources = [LaunchFollower(engine, runs_dir_of(config), caught_up, on_error=on_error)]
    feed = nim_feed(engine, config, engine.clock)
    if feed is not None:
        feed.on_error = on_error
        sources.append(feed)
    for source in sources:
        source.start()
    return sources


def wire_history(app: Any, engine: Any, config: Any, rules: Any, timed: Optional[Callable[[str], bool]]) -> None:
    """The TUI's ETA from the journal's run history, and its finished runs recorded there.

    A run is recorded only when no ``nimwatch watch`` holds the journal (a watcher records it
    itself) and only when the TUI saw it with real arrival times (:func:`nimwatch.run_history.tui_recorder`).
    """
    from nimwatch.commands.status import eta_source, open_journal
    from nimwatch.config import default_state_path

    journal = open_journal(config)
    try:
        app.ctx.estimate = eta_source(rules, journal).eta_for
    finally:
        if journal is not None:
            journal.close()
    if timed is not None:
        from nimwatch.run_history import tui_recorder

        engine.subscribe(tui_recorder(engine, config.state or default_state_path(), rules, timed))


def run(args: argparse.Namespace) -> int:
    from nimwatch.commands.status import stall_monitor
    from nimwatch.engine import Engine

    try:
        from nimwatch.sources.tail import Tailer
    except ImportError as exc:
        raise NimwatchError(f"live following is not available in this build ({exc}): try `nimwatch replay`") from None
    paths = [Path(p) for p in (args.paths or [DEFAULT_LOG_DIR])]
    missing = [p for p in paths if not p.exists() and not p.name.endswith(".log")]
    if missing:
        raise LogSourceError(f"{missing[0]}: no such directory")
    if args.poll is not None and args.poll <= 0:
        raise NimwatchError("--poll needs a positive number of seconds")
    config, rules = load_setup(args)
    tui = import_textual_app()
    engine = Engine(rules)
    holder: dict[str, Any] = {}

    def on_error(message: str) -> None:
        app = holder.get("app")
        if app is not None and app.is_running:
            app.call_from_thread(app.notify, message, severity="error", title="Log source")

    timed = started_while_watching(engine, paths)
    tailer = Tailer(engine, paths, poll=args.poll if args.poll is not None else config.poll, on_error=on_error)
    stall = stall_monitor(engine, config, rules, engine.clock)
    app = tui.make_app(
        engine,
        tailer=tailer,
        stall=stall,
        report_dir=Path(args.report_dir),
        theme=pick_theme(args.theme),
        timed=timed,
    )
    holder["app"] = app
    wire_history(app, engine, config, rules, timed)
    sources = outside_sources(engine, config, tailer, on_error)
    try:
        app.run()
    finally:
        for source in sources:
            source.stop()
    return ExitCode.OK
