"""How long a run's phases took, and which phases ran slow against the fleet.

Owns :func:`phase_seconds` (a phase's duration, a running phase's until
"now"), :func:`heat_rows` and :func:`slowness` (each phase's duration against
the median of the same phase over the other clients: the fleet heatmap). The
ETA is :mod:`nimwatch.eta_live`'s. Pure: "now" and whether a run's arrival
times are real come in as arguments.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from nimwatch.core.events import PhaseStatus
from nimwatch.core.history import PHASE_COUNT
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
        for ps, value, own, others in zip(run.phases, seconds[key], finished[key], pools):
            if own is not None:  # the median of the OTHER clients
                others = others.copy()
                del others[bisect.bisect_left(others, own)]
            mid = statistics.median(others) if others else None
            early = ps.status is PhaseStatus.RUNNING and (value or 0.0) < MIN_COMPARED
            ratio = value / mid if value is not None and mid is not None and mid >= MIN_COMPARED and not early else None
            cells.append(Cell(ps.status, value, ratio))
        out[key] = cells
    return out
