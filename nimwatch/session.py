"""The composition root: one pipeline for every command that follows logs, built in one place.

Owns :class:`Session` and its builders. A session is the config and the
rules, one engine, the state journal (read-only here; ``watch`` hands in its
own), the ETA from the run history, the stall monitor, one source of log
bytes and the sources from outside the logs (nimadm's exit status from
``nimwatch run``'s records; the clients' NIM state when ``nim_state:`` is on).
The commands differ only in the source and the view they attach:

* ``tui``: :func:`live` (the tailer; what the logs held at start gets the
  journal's arrival times) and the Textual app;
* ``replay``: :func:`replay` (finished logs at their recorded pace) and the
  Textual app, or the JSON lines of ``watch``;
* ``status``: :func:`plain` (the same tailer, read when the table is drawn,
  :class:`~nimwatch.sources.plain.PlainFollower`) and the plain table;
* ``watch``: :func:`live` into the journal-backed recorder
  (:class:`~nimwatch.watcher.Watcher`), with alerts, hooks and metrics.

The tests build their sessions here too. Headless: no Textual.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional

from nimwatch.config import Config, default_config_path, default_state_path, load_config
from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine, FindingLimits
from nimwatch.errors import NimwatchError
from nimwatch.eta_live import EtaSource, eta_source
from nimwatch.feed import FeedSink
from nimwatch.launcher.exits import LaunchFollower, read_to_end
from nimwatch.launcher.records import runs_dir
from nimwatch.sources.arrivals import JournalArrivals
from nimwatch.sources.files import LOG_SUFFIX
from nimwatch.sources.hook_results import HookResultFollower
from nimwatch.sources.replay import ArrivalTimes, ReplaySource
from nimwatch.stall import StallMonitor
from nimwatch.terminal import say

log = logging.getLogger(__name__)

OnError = Callable[[str], None]


# --------------------------------------------------------------------------- the parts


def load_setup(
    config_path: Optional[str] = None, rules_files: Sequence[str] = (), state: Optional[str] = None
) -> tuple[Config, RuleSet]:
    """(config, rules) from ``--config`` (default: the usual places), ``--rules`` and ``--state``."""
    from nimwatch.rulefiles import load_rules

    config = load_config(Path(config_path) if config_path else default_config_path())
    if state:
        config.state = Path(state)
    return config, load_rules([*config.rules, *rules_files])


def open_journal(config: Config) -> Any:
    """The state journal, read-only, when its file exists (else None: times and history unknown)."""
    from nimwatch.journal import Journal

    path = config.state or default_state_path()
    if not Path(path).is_file():
        return None
    try:
        return Journal.open(path, readonly=True)
    except NimwatchError as exc:
        say(f"{exc} (elapsed times unknown)")
        return None


def nim_stall_minutes(config: Config) -> Optional[float]:
    """NIM info unchanged this long counts toward the stall rule (None: the NIM state cross-check is off)."""
    return config.nim_state.stall_minutes if config.nim_state is not None else None


def stall_monitor(engine: Engine, config: Config, rules: RuleSet, clock: Callable[[], float]) -> StallMonitor:
    """The stall monitor, with NIM's info counting toward a stall when the cross-check is on."""
    return StallMonitor(engine, config.stall, rules, clock, nim_stall_minutes=nim_stall_minutes(config))


def nim_feed(engine: Engine, config: Config, clock: Callable[[], float], on_error: Optional[OnError] = None) -> Any:
    """The NIM state cross-check when the config turns it on (None: off)."""
    if config.nim_state is None:
        return None
    from nimwatch.sources.nim_feed import NimStateFeed

    return NimStateFeed(engine, config.nim_state, on_error=on_error, clock=clock)


def lines_present(paths: Sequence[Path]) -> dict[str, int]:
    """Lines each log already has (absolute path, as the tailer keys logs)."""
    files: list[Path] = []
    for path in paths:
        with suppress(OSError):  # a path this user may not look at is said by the source that reads it
            if path.is_dir():
                files.extend(p for p in path.glob("*" + LOG_SUFFIX) if p.is_file())
            elif path.is_file():
                files.append(path)
    out: dict[str, int] = {}
    for file in files:
        with suppress(OSError), file.open("rb") as handle:
            blocks = iter(lambda: handle.read(1 << 20), b"")
            out[os.path.abspath(file)] = sum(block.count(b"\n") for block in blocks)
    return out


# --------------------------------------------------------------------------- the session


@dataclass
class Session:
    """One pipeline: engine, journal, ETA, stall monitor, a source of log bytes, the sources outside the logs.

    Exactly one of ``tailer`` (live, plain) and ``replay`` is set. ``launches``, ``nim`` and
    ``hook_results`` are the sources from outside the logs, not started (:meth:`start_outside`).
    """

    config: Config
    rules: RuleSet
    engine: Engine
    journal: Any = None
    eta: Optional[EtaSource] = None
    stall: Optional[StallMonitor] = None
    tailer: Any = None
    replay: Optional[ReplaySource] = None
    arrivals: Optional[JournalArrivals] = None
    launches: Optional[LaunchFollower] = None
    nim: Any = None
    hook_results: Any = None
    """The hook results ``watch`` keeps in the journal, for a session that runs no hooks (tui, status)."""
    runs: Optional[Path] = None
    """Where ``nimwatch run`` keeps its run records (nimadm's exit status)."""

    @property
    def clock(self) -> Callable[[], float]:
        return self.engine.clock

    @property
    def outside(self) -> list[Any]:
        """The sources from outside the logs: started by :meth:`start_outside`, stopped by :meth:`stop_outside`."""
        return [source for source in (self.launches, self.hook_results, self.nim) if source is not None]

    def timed(self, log: str) -> bool:
        """The times of ``log``'s current run are real (elapsed and ETA can be shown)."""
        return self.arrivals is None or self.arrivals.timed(log)

    def start_outside(self) -> None:
        for source in self.outside:
            source.start()

    def stop_outside(self) -> None:
        for source in self.outside:
            source.stop()

    def check_stalls(self, now: Optional[float] = None) -> None:
        if self.stall is not None:
            self.stall.check(now)


def _beside_watch(config: Config, rules: RuleSet, engine: Engine, paths: Sequence[Path]) -> Session:
    """A view's session beside ``watch`` (tui, status): the read-only journal, its ETA and its arrival times for
    what the logs hold now, and the run records."""
    journal = open_journal(config)
    runs = runs_dir(Path(config.state or default_state_path()))  # where ``nimwatch run`` keeps its run records
    session = Session(config, rules, engine, journal=journal, eta=eta_source(rules, journal), runs=runs)
    session.arrivals = JournalArrivals(engine, journal, lines_present(list(paths)))
    return session


def _outside(session: Session, on_error: Optional[OnError], clock: Callable[[], float], told: bool = True) -> None:
    """The launch follower (an exit status once its log is read to its end) and the NIM state feed, not started.

    ``told``: ``on_error`` hears the NIM feed's problems from the start (False: what it finds while
    it is built goes to the log, ``on_error`` the rest; the TUI, which can show nothing yet).
    """
    engine, caught_up = session.engine, partial(read_to_end, session.tailer)
    assert session.runs is not None
    session.launches = LaunchFollower(engine, session.runs, caught_up, on_error)
    session.nim = nim_feed(engine, session.config, clock, on_error if told else None)
    if session.nim is not None and on_error is not None:
        session.nim.on_error = on_error
    if not told and session.journal is not None:  # a view beside the watcher, which runs the hooks
        session.hook_results = HookResultFollower(engine, session.journal, caught_up)


def live(
    config: Config,
    rules: RuleSet,
    paths: Sequence[Path],
    *,
    poll: Optional[float] = None,
    on_error: Optional[OnError] = None,
    clock: Callable[[], float] = time.time,
    sink: Optional[Callable[[Engine], FeedSink]] = None,
    journal: Any = None,
    limits: Optional[FindingLimits] = None,
    **tailer_options: Any,
) -> Session:
    """Logs followed live.

    ``tui``: ``sink`` None; what the logs hold at start gets the read-only journal's arrival times, and
    the runs seen with real times go into its history when no watcher holds it. ``watch``: ``sink``
    makes the recorder over the new engine, ``journal`` is the watcher's own (writable), ``limits``
    its findings limits; ``tailer_options`` go to the tailer (journal offsets, backlog).
    """
    from nimwatch.sources.tail import Tailer

    engine = Engine(rules, clock, limits=limits)
    if sink is None:
        session = _beside_watch(config, rules, engine, paths)
    else:
        session = Session(config, rules, engine, journal=journal, runs=runs_dir(Path(journal.path)))
    feed = session.arrivals if sink is None else sink(engine)
    if paths:  # none: nothing to follow here (the TUI on an admin host shows the fleet only)
        session.tailer = Tailer(
            engine, list(paths), poll=poll, on_error=on_error, clock=clock, sink=feed, **tailer_options
        )
        session.stall = stall_monitor(engine, config, rules, clock)
        _outside(session, on_error, clock, told=sink is not None)
    if sink is None:
        from nimwatch.run_history import tui_recorder

        engine.subscribe(tui_recorder(engine, config.state or default_state_path(), rules, session.timed))
    return session


def replay(
    config: Config,
    rules: RuleSet,
    paths: Sequence[Path],
    *,
    speed: Optional[float],
    times: Optional[ArrivalTimes] = None,
    stalls: bool = True,
    **pace: Any,
) -> Session:
    """Finished logs again at their recorded pace: the journal's arrival times, else its run history's phase
    durations, else evenly paced (``times`` replaces them; ``pace``: the replay's epoch, clock and sleep)."""
    from nimwatch.run_history import LiveHistory
    from nimwatch.sources.history_pace import PacedTimes

    engine = Engine(rules)
    journal = open_journal(config)
    eta = eta_source(rules, journal)
    session = Session(config, rules, engine, journal=journal, eta=eta)
    paced = PacedTimes(journal, eta.history.records, rules) if times is None else None
    engine.annotate = LiveHistory(engine, None, rules, eta=eta).annotate  # the ETA as watch gave it
    times = times if paced is None else paced
    source = ReplaySource(engine, list(paths), speed=speed, journal=times, on_advance=session.check_stalls, **pace)
    for name in sorted(paced.from_history if paced is not None else ()):
        log.info("%s: paced from the phase durations of the run history (the journal has no arrival times)", name)
    session.replay = source
    engine.clock = lambda: source.now
    if stalls:
        session.stall = stall_monitor(engine, config, rules, engine.clock)
    return session


def plain(
    config: Config, rules: RuleSet, paths: Sequence[Path], *, once: bool, clock: Callable[[], float] = time.time
) -> Session:
    """The plain table's pipeline (``status``): the tailer, read in the caller's thread each time the table is
    drawn (:class:`~nimwatch.sources.plain.PlainFollower`); the journal's arrival times for what the logs
    hold at start, else the files' modification times. ``once``: one look, its problems not retried."""
    from nimwatch.sources.tail import Tailer

    engine = Engine(rules, clock=clock)
    session = _beside_watch(config, rules, engine, paths)
    session.tailer = Tailer(engine, [], clock=clock, sink=session.arrivals, retrying=not once)
    session.stall = stall_monitor(engine, config, rules, clock)
    session.nim = nim_feed(engine, config, clock)
    if session.journal is not None:  # (the logs are read before each look)
        session.hook_results = HookResultFollower(engine, session.journal, lambda name: True)
    return session
