"""The 12 phases of one run as a timeline: status, duration and progress.

Owns :class:`PhaseTimeline`. Status reads without colour (a symbol and a
word); durations come from arrival times (for a running phase: until "now",
which is the replay's log time in a replay).
"""

from __future__ import annotations

from typing import Optional

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from nimwatch.core.events import PhaseStatus
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import PhaseState, RunState
from nimwatch.core.timing import phase_seconds
from nimwatch.views.status_table import fmt_duration

PHASE_MARK = {
    PhaseStatus.DONE: ("✔ done", "green"),
    PhaseStatus.RUNNING: ("▶ running", "cyan"),
    PhaseStatus.FAILED: ("✖ failed", "bold red"),
    PhaseStatus.NOT_RUN: ("· not run", "dim"),
}


def phase_progress(ps: PhaseState) -> str:
    if ps.progress_done is None:
        return ""
    total = f"/{ps.progress_total}" if ps.progress_total else ""
    return f"{ps.progress_done}{total} {ps.progress_unit}".rstrip()


class PhaseTimeline(Static):
    """The phase table of the client detail."""

    _args: Optional[tuple[Optional[RunState], RuleSet, float, bool]] = None

    def on_resize(self) -> None:
        if self._args is not None:
            self.show_run(*self._args)

    def show_run(self, run: Optional[RunState], rules: RuleSet, now: float, timed: bool) -> None:
        """The table sized to its content: the progress counts whole, the phase names cut first."""
        self._args = (run, rules, now, timed)
        phases = [run.phase(spec.number) if run is not None else PhaseState(spec.number) for spec in rules.model.phases]
        progress = [phase_progress(ps) for ps in phases]
        progress_width = max([len("Progress"), *map(len, progress)])
        names = max(len(spec.name) for spec in rules.model.phases)
        room = (self.size.width or 200) - (2 + 10 + 8 + progress_width) - 4 * 2  # the other columns, the gaps
        table = Table(box=None, pad_edge=False, expand=False, show_edge=False, header_style="bold")
        table.add_column("#", justify="right", width=2, no_wrap=True)
        table.add_column("Phase", no_wrap=True, overflow="ellipsis", width=max(12, min(names, room)))
        table.add_column("Status", width=10, no_wrap=True)
        table.add_column("Time", justify="right", width=8, no_wrap=True)
        table.add_column("Progress", no_wrap=True, overflow="ellipsis", width=progress_width)
        for spec, ps, counts in zip(rules.model.phases, phases, progress):
            label, style = ("✔ before", "green dim") if ps.inferred else PHASE_MARK[ps.status]
            current = run is not None and run.current_phase == spec.number and not run.is_finished
            table.add_row(
                Text(str(spec.number), style="bold" if current else ""),
                Text(spec.name, style="bold" if current else ""),
                Text(label, style=style),
                fmt_duration(phase_seconds(ps, now, timed)),
                counts,
            )
        self.update(table)
