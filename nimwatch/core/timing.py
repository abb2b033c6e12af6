"""How long a run's phases took, how long the run has left, and which phases ran slow.

Owns :func:`phase_seconds` (a phase's duration, a running phase's until
"now"), :func:`running_run` and :func:`eta_of` (the ETA estimator of
:mod:`nimwatch.core.eta` fed from the reducer's :class:`RunState`, with the
fleet's history when there is one, else its phase-weights fallback),
:func:`heat_rows` and :func:`slowness` (each phase's duration against the
median of the same phase over the other clients: the fleet heatmap). Pure:
"now" and whether a run's arrival times are real come in as arguments.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

from nimwatch.core.eta import Estimate, RunningRun, estimate
from nimwatch.core.events import Outcome, PhaseStatus
from nimwatch.core.history import PHASE_COUNT, HistoryRecord, run_mode
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import PhaseState, RunState

SLOW = 1.5
"""A phase this many times the fleet's median (or more) is slow."""
VERY_SLOW = 3.0
"""... and this many times, very slow."""
FAST = 0.5
"""A phase at most this fraction of the median is fast (a phase that skipped its work?)."""
MIN_COMPARED = 30.0
"""Phases shorter than this (seconds), and medians shorter than this, are not compared: noise."""


def phase_seconds(ps: PhaseState, now: float, timed: bool = True) -> Optional[float]:
    """How long phase ``ps`` took (a running phase: so far); None when its times are not known."""
    if not timed or ps.started_at is None or ps.inferred:
        return None
    if ps.finished_at is not None:
        return max(0.0, ps.finished_at - ps.started_at)
    if ps.status is PhaseStatus.RUNNING:
        return max(0.0, now - ps.started_at)
    return None


def running_run(run: RunState, now: float, timed: bool = True) -> RunningRun:
    """``run`` as the ETA estimator sees it: current phase, time in it, counts, the phases done."""
    phase = run.current_phase if 0 <= run.current_phase <= PHASE_COUNT else 0
    current = run.phase(phase) if phase else None
    elapsed = phase_seconds(current, now, timed) if current is not None else None
    done: dict[int, Optional[float]] = {}
    for ps in run.phases:
        if ps.number != phase and ps.status is PhaseStatus.DONE:
            done[ps.number] = phase_seconds(ps, now, timed)
    return RunningRun(
        client=run.client,
        phase=phase,
        phase_elapsed=elapsed or 0.0,
        progress_done=current.progress_done if current is not None else None,
        progress_total=current.progress_total if current is not None else None,
        done=done,
        master=run.facts.get("master", ""),
        target_level=run.facts.get("target_level", ""),
        mode=run_mode(tuple(run.variants)),
    )


def eta_of(
    run: RunState, rules: RuleSet, now: float, *, timed: bool = True, history: Iterable[HistoryRecord] = ()
) -> Optional[Estimate]:
    """The estimate for a running run (None for a finished one, or one whose times are not known)."""
    if run.outcome is not Outcome.RUNNING or not timed or run.started_at is None:
        return None
    weights = {spec.number: spec.weight for spec in rules.model.phases}
    return estimate(history, running_run(run, now, timed), now, weights)


# --------------------------------------------------------------------------- the fleet heatmap


@dataclass(frozen=True)
class Cell:
    """One phase of one client on the heatmap."""

    status: PhaseStatus
    seconds: Optional[float]
    ratio: Optional[float]
    """``seconds`` / the median of the same phase over the other clients (None: not compared)."""

    @property
    def pace(self) -> str:
        """``very slow``, ``slow``, ``fast``, ``usual`` or "" (not compared)."""
        return slowness(self.ratio)


def median(values: Sequence[float]) -> Optional[float]:
    """The median of sorted ``values`` (None for none)."""
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def slowness(ratio: Optional[float]) -> str:
    """A duration ratio to the median in words (see :data:`SLOW`, :data:`VERY_SLOW`, :data:`FAST`)."""
    if ratio is None:
        return ""
    if ratio >= VERY_SLOW:
        return "very slow"
    if ratio >= SLOW:
        return "slow"
    if ratio <= FAST:
        return "fast"
    return "usual"


def heat_rows(runs: Mapping[str, tuple[RunState, bool]], now: float) -> dict[str, list[Cell]]:
    """Each key's 12 cells: status, duration, and the ratio to the median of the other keys' finished phases.

    ``runs`` maps a key (a log) to its run and whether its arrival times are real.
    A running phase is compared too (its time so far, once past :data:`MIN_COMPARED`).
    """
    seconds: dict[str, list[Optional[float]]] = {}
    finished: dict[str, list[Optional[float]]] = {}
    for key, (run, timed) in runs.items():
        seconds[key] = [phase_seconds(ps, now, timed) for ps in run.phases]
        finished[key] = [
            s if ps.status in (PhaseStatus.DONE, PhaseStatus.FAILED) and ps.finished_at is not None else None
            for ps, s in zip(run.phases, seconds[key])
        ]
    pools = [sorted(v for d in finished.values() for v in (d[i],) if v is not None) for i in range(PHASE_COUNT)]
    out: dict[str, list[Cell]] = {}
    for key, (run, _) in runs.items():
        cells = []
        for index, ps in enumerate(run.phases):
            value = seconds[key][index]
            own = finished[key][index]
            others = pools[index]
            if own is not None:  # the median of the OTHER clients
                others = others.copy()
                del others[bisect.bisect_left(others, own)]
            mid = median(others)
            compared = value is not None and mid is not None and mid >= MIN_COMPARED
            early = ps.status is PhaseStatus.RUNNING and (value or 0.0) < MIN_COMPARED
            ratio = value / mid if compared and not early and value is not None and mid else None
            cells.append(Cell(ps.status, value, ratio))
        out[key] = cells
    return out
