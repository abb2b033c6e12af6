"""``nimwatch tui [DIR|LOG...]``: the live dashboard (the default command).

The live session of :func:`nimwatch.session.live` seen through the Textual
app (:func:`tui_app`, which ``replay`` uses too): the watcher's tailer
(directories: their ``*_alt_mig.log``, including logs that appear later),
the stall monitor asked every few seconds, nimadm's exit status (``nimwatch
run``'s records) and, with ``nim_state:`` in the config, the clients' NIM
state through their own threads. What the logs held at start gets the
arrival times the state journal of ``nimwatch watch`` recorded
(:class:`~nimwatch.sources.arrivals.JournalArrivals`); a run that began
before nimwatch started and that the journal does not know shows no elapsed
time or ETA. The ETA comes from the run history in that journal; the alerts'
acknowledgements are kept there too.
Once the arguments and the config are checked, and before Textual is
imported, :func:`nimwatch.termcheck.tui_problem` says whether the terminal
can show the TUI; where it cannot, the error points to
``nimwatch status``, the same table in plain text. A terminal whose character
set is not Unicode gets the TUI drawn in ASCII. With a Prometheus
(``--fleet URL``, ``NIMWATCH_PROMETHEUS`` or the config's ``fleet:``), the
fleet screen shows every master's clients (:func:`fleet_fetch`); ``--fleet``
starts on it, and on a host without ``/var/adm/ras/alt_mig`` (an admin
host, not a NIM master) and no DIR|LOG given, the fleet is all there is.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
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
    p.add_argument(
        "--no-bell", action="store_true", help="do not ring the terminal bell when a migration fails or stalls"
    )
    p.add_argument(
        "--fleet",
        metavar="URL",
        help="start on the fleet screen: every NIM master's clients from this Prometheus "
        "(F on the dashboard; default: NIMWATCH_PROMETHEUS, then the config's fleet.prometheus)",
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


def import_textual_app() -> Any:
    """The TUI module, or a NimwatchError pointing at the plain fallback."""
    try:
        from nimwatch.tui import app
    except ImportError as exc:
        raise NimwatchError(
            f"the TUI needs Textual ({exc}); `nimwatch status --watch 10` shows the dashboard as plain text"
        ) from None
    return app


def open_alert_journal(config: Any) -> Any:
    """Where the TUI keeps its alerts' acknowledgements: the state journal (None, said once, when it cannot)."""
    from nimwatch.alert_journal import AlertJournal
    from nimwatch.config import default_state_path

    path = config.state or default_state_path()
    try:
        return AlertJournal.open(Path(path))
    except NimwatchError as exc:
        logging.getLogger(__name__).warning("%s (acknowledgements last this session only)", exc)
        return None


def run_app(app: Any) -> None:
    """Run the Textual ``app`` until it quits or its terminal goes away.

    The TUI lives in its terminal: a hang-up (the ssh session closed) ends it even when
    SIGHUP was ignored by whoever started it (``nohup``, a background job), where it
    would otherwise go on drawing into a dead terminal. Under ``nimwatch run`` nimadm
    and its supervisor ignore SIGHUP themselves and go on.
    """
    import signal

    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    app.run()


def tui_app(session: Any, **options: Any) -> Any:
    """The Textual app over a session (:mod:`nimwatch.session`): ``tui``'s, ``replay``'s and the tests' view.

    A live session's tailer and stall monitor are started and asked by the app; a replay's stall
    checks follow its clock. ``options`` go to :func:`nimwatch.tui.app.make_app` (theme, bell...).
    """
    tui = import_textual_app()
    arrivals = session.arrivals
    wiring: dict[str, Any] = {"timed": session.timed}
    if session.replay is not None:
        wiring["replay"] = session.replay
    else:
        wiring.update(tailer=session.tailer, stall=session.stall)
    if arrivals is not None:
        wiring.update(fresh=arrivals.fresh, time_known=arrivals.time_known)
    app = tui.make_app(session.engine, **{**wiring, **options})
    if session.eta is not None:
        app.ctx.estimate = session.eta.eta_for
    return app


def fleet_fetch(given: Optional[str], config: Any) -> Optional[tuple[str, Callable[[], Any], Any]]:
    """(the URL shown, a function that looks at Prometheus, the ``fleet:`` options), or None when no
    Prometheus is configured. A bad URL is a usage error, raised before the terminal is touched."""
    from nimwatch.config.file import FleetOptions, url_problem
    from nimwatch.errors import UsageError
    from nimwatch.fleet import collect
    from nimwatch.fleet_options import PROMETHEUS_ENV, fleet_url
    from nimwatch.prometheus_api import PrometheusClient

    options = config.fleet or FleetOptions()
    url = fleet_url(given, options, os.environ)
    if not url:
        return None
    problem = url_problem(url)
    if problem:
        origin = "--fleet" if given else PROMETHEUS_ENV
        raise UsageError(f"{origin} {url!r} {problem}")
    client = PrometheusClient(url, timeout=options.timeout)
    return client.url, functools.partial(collect, client, options.lookback), options


def run(args: argparse.Namespace) -> int:
    from nimwatch import session as sessions
    from nimwatch.commands.watch import check_poll
    from nimwatch.config import TuiOptions
    from nimwatch.termcheck import needs_ascii, tui_problem

    try:
        import nimwatch.sources.tail  # noqa: F401
    except ImportError as exc:
        raise NimwatchError(f"live following is not available in this build ({exc}): try `nimwatch replay`") from None
    if args.poll is not None:
        check_poll(args.poll)
    config, rules = sessions.load_setup(args.config, args.rules)
    fleet = fleet_fetch(args.fleet, config)
    paths = [Path(p) for p in (args.paths or [DEFAULT_LOG_DIR])]
    # not local: an admin host, not a NIM master (the fleet only)
    local = fleet is None or bool(args.paths) or Path(DEFAULT_LOG_DIR).exists()
    missing = [p for p in paths if not p.exists() and not p.name.endswith(".log")]
    if missing and local:
        raise LogSourceError(f"{missing[0]}: no such directory")
    problem = tui_problem()  # after the arguments and the config: what is wrong with them is said first
    if problem is not None:
        raise NimwatchError(problem)
    import_textual_app()
    holder: dict[str, Any] = {}

    def on_error(message: str) -> None:
        app = holder.get("app")
        if app is not None and app.is_running:
            app.call_from_thread(app.notify, message, severity="error", title="Log source")

    poll = args.poll if args.poll is not None else config.poll
    session = sessions.live(config, rules, paths if local else [], poll=poll, on_error=on_error)
    options = config.tui or TuiOptions()
    feed = None
    if fleet is not None:
        from nimwatch.tui.fleet_feed import FleetFeed

        url, fetch, fleet_options = fleet
        feed = FleetFeed(url, fetch, fleet_options.refresh)
    app = tui_app(
        session,
        report_dir=Path(args.report_dir),
        theme=pick_theme(args.theme),
        alert_journal=open_alert_journal(config),
        bell=options.bell and not args.no_bell,
        title=options.title,
        charset=(getattr(sys.__stderr__, "encoding", None) or "ascii") if needs_ascii() else None,
        fleet=feed,
        open_fleet=feed is not None and (bool(args.fleet) or not local),
    )
    holder["app"] = app
    session.start_outside()
    try:
        run_app(app)
    finally:
        session.stop_outside()
    return ExitCode.OK
