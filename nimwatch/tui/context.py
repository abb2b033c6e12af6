"""What every screen of the TUI reads: the engine, the rules, the time, the alerts.

Owns :class:`TuiContext`, handed by the app to each screen so that screens
never reach into the app or into sources. "Now" is injected: the wall clock
when following live logs, the replay's log time in a replay, a fixed value in
tests (no wall clock ever reaches the rendered output in a test). Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState, RunState
from nimwatch.core.verdict import cause_label, root_finding
from nimwatch.engine import Engine
from nimwatch.terminal import escape_controls
from nimwatch.tui.alert_store import AlertStore
from nimwatch.tui.replay_control import ReplayControl
from nimwatch.views.status_table import ClientRow, client_row

if TYPE_CHECKING:
    from nimwatch.core.eta import Estimate


@dataclass
class TuiContext:
    """The shared model of the TUI's screens."""

    engine: Engine
    now: Callable[[], float]
    """Seconds since the epoch as the views should see them."""
    replay: Optional[ReplayControl] = None
    report_dir: Path = field(default_factory=Path.cwd)
    """Where the "write report" key writes Markdown reports."""
    alerts: AlertStore = field(default_factory=AlertStore)
    timed: Callable[[str], bool] = field(default=lambda log: True)
    """False for a log whose arrival times are made up (elapsed and ETA are then unknown)."""
    fresh: Callable[[str, int], bool] = field(default=lambda log, line: True)
    """Whether line N of a log was written during this session (False: it was in the file when nimwatch
    started): only fresh failures are announced."""
    estimate: Optional[Callable[[RunState, float], Optional[Estimate]]] = None
    """The ETA of a run at a time, from the run history (:meth:`nimwatch.eta_live.EtaSource.eta_for`)."""
    fleet: list[ClientRow] = field(default_factory=list)
    """Every client's row as of the last refresh (:meth:`refresh_fleet`, before the screens redraw)."""
    _fleet: dict[str, ClientRow] = field(default_factory=dict, repr=False)

    @staticmethod
    def display_path(log: str) -> str:
        """``log`` relative to the current directory when it is below it (shorter, and stable in tests)."""
        try:
            return str(Path(log).relative_to(Path.cwd()))
        except ValueError:
            return log

    @property
    def rules(self) -> RuleSet:
        return self.engine.rules

    def row(self, log: str) -> Optional[ClientRow]:
        with self.engine.locked():
            state = self.engine.logs.get(log)
            return self._row(state, self.now()) if state is not None else None

    def run_cause(self, log: str, run: Optional[int]) -> Optional[tuple[str, int, str]]:
        """Run ``run`` of ``log``'s cause, as the dashboard's Cause column says it: (label, line, severity)."""
        with self.engine.locked():
            state = self.engine.logs.get(log)
            if state is None or run is None or not 1 <= run <= len(state.runs):
                return None
            found = state.run(run)
            root = root_finding(found)
            if root is None:
                return None
            return escape_controls(cause_label(root, found, self.rules)), root.line, root.severity.value

    def run_count(self, log: str) -> int:
        """How many runs ``log`` holds (0: not followed)."""
        with self.engine.locked():
            state = self.engine.logs.get(log)
            return len(state.runs) if state is not None else 0

    def rows(self) -> list[ClientRow]:
        """One row per followed log, in no particular order."""
        now = self.now()
        with self.engine.locked():
            return [self._row(state, now) for state in self.engine.logs.values()]

    def refresh_fleet(self, dirty: set[str], full: bool = False) -> list[ClientRow]:
        """:attr:`fleet` again: the rows of the ``dirty`` logs (every row when ``full``), the others kept."""
        now = self.now()
        with self.engine.locked():
            logs = self.engine.logs
            kept = {} if full else self._fleet
            self._fleet = {log: row for log, row in kept.items() if log in logs and log not in dirty}
            for log, state in logs.items():
                if log not in self._fleet:
                    self._fleet[log] = self._row(state, now)
        self.fleet = list(self._fleet.values())
        return self.fleet

    def _row(self, state: LogState, now: float) -> ClientRow:
        est = self.estimate
        return client_row(
            state,
            self.rules,
            now,
            timed=self.timed(state.log),
            estimate=(lambda r: est(r, now)) if est is not None else None,
        )
