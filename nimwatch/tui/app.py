"""The Textual app: wiring only. Screens, widgets and the model live in their own modules.

Owns :class:`NimwatchApp` and :func:`make_app`, the factory the CLI and the
tests share. The app subscribes a :class:`NoticeBridge` to the engine, starts
the source (the live tailer, or a replay in a worker thread), drains the
bridge on :class:`NoticesArrived` and lets a :class:`Coalescer` decide when to
redraw: at once after a quiet period, and during a burst at most every
``BURST_INTERVAL`` seconds however many notices arrive. Before each redraw it
takes every client's row once (:attr:`TuiContext.fleet`) and hands the new
notices to the :class:`~nimwatch.tui.announce.Announcer` (toast, bell,
terminal title). It also holds the keys that work everywhere (quit, help,
alerts); the replay keys are :class:`~nimwatch.tui.replay_keys.ReplayKeys`.
With a :class:`~nimwatch.tui.fleet_feed.FleetFeed`, it starts the feed's
thread and keeps the fleet screen on its answers (:class:`FleetUpdated`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Optional

from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer

from nimwatch.alert_journal import AlertJournal
from nimwatch.engine import Engine
from nimwatch.eta_live import EtaSource
from nimwatch.tui.alert_store import AlertStore
from nimwatch.tui.alerts import AlertsScreen
from nimwatch.tui.announce import Announcer
from nimwatch.tui.app_screen import AppScreen
from nimwatch.tui.ascii_driver import ascii_driver
from nimwatch.tui.bridge import Coalescer, NoticeBridge
from nimwatch.tui.context import TuiContext
from nimwatch.tui.dashboard import DashboardScreen, FleetDashboard
from nimwatch.tui.detail import DetailScreen
from nimwatch.tui.fleet import FleetScreen
from nimwatch.tui.fleet_feed import FleetFeed
from nimwatch.tui.heatmap import HeatmapScreen
from nimwatch.tui.help import HelpScreen, HelpSection
from nimwatch.tui.log_view import LogView
from nimwatch.tui.messages import FleetUpdated, NoticesArrived, OpenClient, OpenFleet
from nimwatch.tui.replay_control import ReplayControl
from nimwatch.tui.replay_keys import ReplayKeys
from nimwatch.vocabulary import LOG_RESET

BURST_INTERVAL = 0.05
"""During a burst of notices, the screens are redrawn at most this often (seconds); a notice
after a quiet period of this length is shown at once."""
TICK_INTERVAL = 1.0
"""Elapsed times of running clients move on this often."""
STALL_INTERVAL = 15.0
"""How often the stall monitor is asked (live mode)."""
NO_FLEET = (
    "No Prometheus to ask: start `nimwatch tui --fleet URL`, or set fleet: prometheus: URL in the config "
    "(or NIMWATCH_PROMETHEUS)."
)


class NimwatchApp(ReplayKeys):
    """The nimwatch TUI."""

    CSS_PATH = "nimwatch.tcss"
    TITLE = "nimwatch"
    ENABLE_COMMAND_PALETTE = False
    GLOBAL_BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("a", "alerts", "Alerts"),
    ]
    BINDINGS = [*GLOBAL_BINDINGS, *ReplayKeys.REPLAY_BINDINGS]

    def __init__(
        self,
        engine: Engine,
        *,
        replay: Optional[ReplayControl] = None,
        tailer: Any = None,
        stall: Any = None,
        clock: Callable[[], float] = time.time,
        report_dir: Optional[Path] = None,
        theme: str = "textual-dark",
        start_replay: bool = True,
        timed: Optional[Callable[[str], bool]] = None,
        fresh: Optional[Callable[[str, int], bool]] = None,
        time_known: Optional[Callable[[str, int], bool]] = None,
        alert_journal: Optional[AlertJournal] = None,
        bell: bool = True,
        title: bool = True,
        charset: Optional[str] = None,
        fleet: Optional[FleetFeed] = None,
        open_fleet: bool = False,
    ) -> None:
        """The nimwatch app, for the CLI and the tests alike.

        Args:
            engine: the engine the sources feed; the app only subscribes to it.
            replay: a replay source (its controls get keys; it runs in a worker unless ``start_replay`` is False).
            tailer: a live source with ``start()`` and ``stop()`` (the watcher's Tailer).
            stall: a stall monitor with ``check(now)``, asked every ``STALL_INTERVAL`` seconds.
            clock: "now" for elapsed times when following live logs (a replay uses its log time).
            report_dir: where the report key writes (default: the current directory).
            theme: a Textual theme; ``ansi-dark`` keeps to the terminal's 16 colours.
            timed: False for logs whose arrival times are unknown (elapsed and ETA hidden).
            fresh: False for a log line that was there before nimwatch started (its failure is not announced).
            time_known: False for a log line whose arrival time is only an upper bound (alerts say ``<=``).
            alert_journal: where the alerts' first times and acknowledgements are kept (None: this session only).
            bell: ring the terminal bell when a migration fails or stalls.
            title: keep the terminal's title on the fleet's counts.
            charset: the encoding to draw in when the terminal cannot show Unicode (None: it can).
            fleet: every master's clients from Prometheus (the ``F`` key's screen), looked at in its own thread.
            open_fleet: start on the fleet screen (``nimwatch tui --fleet URL``).
        """
        super().__init__()
        if charset is not None:  # the terminal cannot show Unicode: draw its characters only
            self.driver_class = ascii_driver(self.driver_class, charset)
        self.ctx = ctx = TuiContext(
            engine=engine,
            now=clock if replay is None else lambda: replay.now,
            replay=replay,
            report_dir=report_dir if report_dir is not None else Path.cwd(),
            timed=timed if timed is not None else (lambda log: True),
            fresh=fresh if fresh is not None else (lambda log, line: True),
            alerts=AlertStore(journal=alert_journal),
            estimate=EtaSource(engine.rules).eta_for,  # no history yet: the CLI hands it the journal's
        )
        if time_known is not None:
            ctx.alerts.time_known = time_known
        self.tailer = tailer
        self.stall = stall
        self.start_replay = start_replay
        self.fleet = fleet
        """Prometheus' view of every master (None: not configured)."""
        self.open_fleet = open_fleet and fleet is not None
        self.initial_theme = theme
        self.bridge = NoticeBridge(self)
        self.dashboard = FleetDashboard(ctx) if fleet is not None else DashboardScreen(ctx)
        self._dirty: set[str] = set()
        self._full = False
        self.coalescer = Coalescer(BURST_INTERVAL)
        """When drained notices are applied (its clock can be replaced in tests)."""
        self._refresh_timer: Optional[Timer] = None
        self.refreshes = 0
        """Redraws so far (the flood tests read it)."""
        self.announcer = Announcer(self, ctx, bell=bell, title=title)
        self._live = False
        """Notices drained from now on are news (those buffered before the app ran are not announced)."""
        self._unsubscribe: Callable[[], None] = ctx.engine.subscribe(self.bridge)

    # ------------------------------------------------------------------ life cycle

    def get_default_screen(self) -> Screen[Any]:
        return self.dashboard

    def on_mount(self) -> None:
        self.theme = self.initial_theme
        self.animation_level = "none"
        self.bridge.attach()
        self.drain()
        self._live = True
        self.refresh_views()
        if self.tailer is not None:
            self.tailer.start()
        if self.ctx.replay is not None and self.start_replay:
            self.run_worker(self.ctx.replay.run, thread=True, group="replay", name="replay")
        self.set_interval(TICK_INTERVAL, self._tick)
        if self.stall is not None:
            self.set_interval(STALL_INTERVAL, lambda: self.stall.check(self.ctx.now()))
        if self.fleet is not None:
            # The feed calls this in its own thread: the answer goes to the UI thread as a message.
            self.fleet.start(lambda result: self.post_message(FleetUpdated(result)))
        if self.open_fleet:
            self.action_fleet()

    def on_unmount(self) -> None:
        self._stop_sources()

    def _stop_sources(self) -> None:
        self.announcer.restore_title()
        self._unsubscribe()
        if self.tailer is not None:
            self.tailer.stop()
        if self.ctx.replay is not None:
            self.ctx.replay.stop()
        if self.fleet is not None:
            self.fleet.stop()

    async def action_quit(self) -> None:
        self._stop_sources()
        self.exit()

    # ------------------------------------------------------------------ engine -> screens

    def on_notices_arrived(self, message: NoticesArrived) -> None:
        self.drain()
        self._schedule_refresh()

    @property
    def updates_pending(self) -> bool:
        """Notices drained or buffered but not shown yet (a flush is due, or the bridge holds some)."""
        return self._refresh_timer is not None or bool(self._dirty) or self.bridge.waiting

    def drain(self) -> None:
        notices, dirty = self.bridge.drain()
        for notice in notices:
            self.ctx.alerts.add_notice(notice)
            if notice.kind is LOG_RESET:
                self._full = True
        self.ctx.alerts.flush()
        if self._live:
            self.announcer.notices(notices)
        self._dirty |= dirty

    def _schedule_refresh(self) -> None:
        """Apply the drained notices now (after a quiet period) or with the burst's next flush."""
        delay = self.coalescer.schedule()
        if delay is None:
            return  # a flush is due: these notices join it
        if delay <= 0:
            self._flush_burst()  # no timer is set: the coalescer had no flush due
        else:
            self._refresh_timer = self.set_timer(delay, self._flush_burst)

    def _flush_burst(self) -> None:
        self._refresh_timer = None
        self.coalescer.applied()
        self.refresh_views()

    def refresh_views(self) -> None:
        """Redraw the dashboard and the screen on top from the engine state, now."""
        if not self.is_running:
            return
        dirty, full = self._dirty, self._full
        self._dirty, self._full = set(), False
        self.refreshes += 1
        self.announcer.update_title(self.ctx.refresh_fleet(dirty, full))
        for screen in self.screen_stack:  # the dashboard first: it is the bottom screen
            if isinstance(screen, AppScreen) and screen.showing:
                screen.refresh_state(dirty, full)

    def _tick(self) -> None:
        running = [row.log for row in self.ctx.fleet if row.status in ("running", "stalled")]
        self._dirty.update(running)
        # The clocks move: redraw now, unless a flush is due anyway. Not a burst of notices:
        # it does not hold back the next notice.
        if (running or self.ctx.replay is not None) and not self.coalescer.pending:
            self.refresh_views()

    # ------------------------------------------------------------------ Prometheus -> the fleet screen

    def on_fleet_updated(self, message: FleetUpdated) -> None:
        if self.fleet is None:
            return
        self.fleet.state.apply(message.result)
        for screen in self.screen_stack:
            if isinstance(screen, FleetScreen) and screen.showing:
                screen.show_state()

    # ------------------------------------------------------------------ navigation

    def on_open_client(self, message: OpenClient) -> None:
        self.open_client(message.log, message.line)

    def open_client(self, log: str, line: Optional[int] = None) -> None:
        screen = self.screen
        if isinstance(screen, DetailScreen) and screen.log_path == log:
            if line is not None:
                screen.show_line(line)
            return
        self.push_screen(DetailScreen(self.ctx, log, line))

    def on_open_fleet(self, message: OpenFleet) -> None:
        self.action_fleet()

    def action_fleet(self) -> None:
        if self.fleet is None:
            self.notify(NO_FLEET, severity="warning", title="Fleet", timeout=10)
            return
        if isinstance(self.screen, FleetScreen):
            return
        names = {spec.number: spec.name for spec in self.ctx.rules.model.phases}
        self.push_screen(FleetScreen(self.fleet.state, names, look_now=self.fleet.now))

    def action_alerts(self) -> None:
        if not isinstance(self.screen, AlertsScreen):
            self.push_screen(AlertsScreen(self.ctx))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[HelpSection]:
        sections: list[HelpSection] = [
            ("Everywhere", self.GLOBAL_BINDINGS),
            ("Dashboard", DashboardScreen.BINDINGS),
            ("Heatmap", HeatmapScreen.BINDINGS),
            ("Fleet (every master, from Prometheus)", FleetScreen.BINDINGS),
            ("Client detail", DetailScreen.BINDINGS),
            ("Log view (client detail, Log tab)", LogView.BINDINGS),
            ("Alerts", AlertsScreen.BINDINGS),
        ]
        if self.ctx.replay is not None:
            sections.insert(1, ("Replay", self.REPLAY_BINDINGS))
        return sections

    def check_action(self, action: str, parameters: tuple[object, ...]) -> Optional[bool]:
        if action.startswith("replay_") and self.ctx.replay is None:
            return False
        return not (action == "alerts" and isinstance(self.screen, AlertsScreen))


make_app = NimwatchApp
"""The factory the CLI and the tests share: the app's constructor."""
