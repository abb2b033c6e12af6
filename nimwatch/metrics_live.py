"""The metrics a fleet alerts on: heartbeat, ETA per client, and the run history as a histogram.

Owns :class:`LiveMetrics`, which :func:`nimwatch.metrics.render` asks for the
families of ``examples/prometheus/README.md`` beyond the per-client state:

* per watcher: ``nimwatch_heartbeat_timestamp_seconds`` (when the exporter's
  loop last beat: rewritten every ``interval`` even when no log changed, so a
  dead or hung watcher's metrics go stale), ``nimwatch_heartbeat_interval_seconds``,
  ``nimwatch_history_runs_total{outcome}`` and the histogram
  ``nimwatch_history_phase_duration_seconds{phase,mode}`` over the succeeded,
  complete, timed runs of the history (:data:`BUCKETS`; ``mode`` is cache, nfs,
  mksysb or unknown: at most 12 x 4 label sets);
* per client: ``nimwatch_eta_seconds``, ``nimwatch_eta_basis_runs{basis}``,
  ``nimwatch_phase_overdue_seconds`` and ``nimwatch_phase_p95_seconds`` (the
  last only when at least :data:`P95_MIN_RUNS` runs timed the current phase)
  while a run is running, and ``nimwatch_run_finished_timestamp_seconds`` once
  it finished.

The histogram and the counter are computed from the in-memory history
(:class:`~nimwatch.eta_live.HistoryCache`, the state journal's ``history``
table) and cached until it changes. No third-party library.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Protocol

from nimwatch.core.events import Outcome
from nimwatch.core.history import HistoryRecord
from nimwatch.eta_live import EtaSource, HistoryCache

BUCKETS = (30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800)
"""Upper bounds (seconds) of the phase-duration histogram; ``+Inf`` follows."""
P95_MIN_RUNS = 3
"""``nimwatch_phase_p95_seconds`` is exported only when this many runs timed the current phase."""


class Writer(Protocol):
    """The exposition writer of :mod:`nimwatch.metrics`."""

    def family(self, name: str, kind: str, doc: str) -> None: ...

    def sample(self, name: str, labels: dict[str, str], value: float) -> None: ...


@dataclass(frozen=True)
class Histogram:
    """One label set's cumulative bucket counts, sum and count."""

    buckets: tuple[int, ...]
    total: float
    count: int


def history_histograms(records: tuple[HistoryRecord, ...]) -> dict[tuple[str, str], Histogram]:
    """(phase, mode) -> the histogram of that phase's durations in the usable runs."""
    values: dict[tuple[str, str], list[float]] = {}
    for record in records:
        if not record.usable_for_eta:
            continue
        mode = record.mode or "unknown"
        for number, seconds in record.phases.items():
            values.setdefault((str(number), mode), []).append(float(seconds))
    return {
        key: Histogram(tuple(sum(1 for d in durations if d <= top) for top in BUCKETS), sum(durations), len(durations))
        for key, durations in values.items()
    }


class LiveMetrics:
    """Heartbeat, ETA and history families for the exporter.

    Args:
        eta: the ETA source (its history is the one exported); None: no ETA, no history.
        interval: seconds between two heartbeats (exported, so one rule fits every watcher).
    """

    def __init__(self, eta: Optional[EtaSource], interval: float) -> None:
        self.eta = eta
        self.interval = interval
        self.heartbeat: Optional[float] = None
        """When the exporter's loop last beat (None before the first beat)."""
        self._lock = threading.Lock()
        self._cached: tuple[Any, dict[tuple[str, str], Histogram], Counter[str]] = ((), {}, Counter())

    @property
    def history(self) -> Optional[HistoryCache]:
        return self.eta.history if self.eta is not None else None

    def _summaries(self) -> tuple[dict[tuple[str, str], Histogram], Counter[str]]:
        history = self.history
        records = history.records if history is not None else ()
        with self._lock:
            if self._cached[0] is not records:
                self._cached = (records, history_histograms(records), Counter(record.outcome for record in records))
            return self._cached[1], self._cached[2]

    # ------------------------------------------------------------------ per watcher

    def watcher_families(self, w: Writer, now: float) -> None:
        w.family(
            "nimwatch_heartbeat_timestamp_seconds",
            "gauge",
            "When nimwatch last rewrote its metrics (every interval, even when no log changed).",
        )
        w.sample("nimwatch_heartbeat_timestamp_seconds", {}, round(self.heartbeat if self.heartbeat else now, 3))
        w.family("nimwatch_heartbeat_interval_seconds", "gauge", "Seconds between two heartbeats.")
        w.sample("nimwatch_heartbeat_interval_seconds", {}, self.interval)
        if self.history is None:
            return
        histograms, counts = self._summaries()
        w.family("nimwatch_history_runs_total", "counter", "Finished runs in the state journal's history, by outcome.")
        for outcome in ("succeeded", "failed", "incomplete"):
            w.sample("nimwatch_history_runs_total", {"outcome": outcome}, counts[outcome])
        name = "nimwatch_history_phase_duration_seconds"
        w.family(name, "histogram", "Phase durations of the succeeded, complete runs in the history.")
        for (phase, mode), hist in sorted(histograms.items(), key=lambda kv: (int(kv[0][0]), kv[0][1])):
            for bound, count in zip(BUCKETS, hist.buckets):
                w.sample(name + "_bucket", {"mode": mode, "phase": phase, "le": str(bound)}, count)
            w.sample(name + "_bucket", {"mode": mode, "phase": phase, "le": "+Inf"}, hist.count)
            w.sample(name + "_sum", {"mode": mode, "phase": phase}, round(hist.total, 3))
            w.sample(name + "_count", {"mode": mode, "phase": phase}, hist.count)

    # ------------------------------------------------------------------ per client

    def client_families(self, w: Writer, rows: Mapping[str, Mapping[str, Any]], now: float) -> None:
        """``rows``: client -> {"run": RunState or None, ...} (the exporter's per-client rows)."""
        eta = self.eta
        found = {c: eta.eta_for(r["run"], now) for c, r in rows.items() if eta is not None and r.get("run") is not None}
        estimates = {client: est for client, est in found.items() if est is not None}
        w.family("nimwatch_eta_seconds", "gauge", "Seconds until the client's running run is expected to finish.")
        for client, est in sorted(estimates.items()):
            w.sample("nimwatch_eta_seconds", {"client": client}, round(est.remaining, 1))
        w.family(
            "nimwatch_eta_basis_runs", "gauge", "Finished runs the ETA rests on, and at which level of the fallback."
        )
        for client, est in sorted(estimates.items()):
            w.sample("nimwatch_eta_basis_runs", {"basis": est.basis, "client": client}, est.basis_runs)
        w.family("nimwatch_phase_overdue_seconds", "gauge", "How far the current phase runs past its history's p90.")
        for client, est in sorted(estimates.items()):
            w.sample("nimwatch_phase_overdue_seconds", {"client": client}, round(est.overdue, 1))
        w.family("nimwatch_phase_p95_seconds", "gauge", "p95 of the current phase's duration in the history.")
        for client, est in sorted(estimates.items()):
            current = est.current
            if current is not None and current.runs >= P95_MIN_RUNS:
                w.sample("nimwatch_phase_p95_seconds", {"client": client}, round(current.p95, 1))
        w.family("nimwatch_run_finished_timestamp_seconds", "gauge", "When the client's latest run finished.")
        for client, row in sorted(rows.items()):
            run = row.get("run")
            if run is not None and run.outcome is not Outcome.RUNNING and run.finished_at is not None:
                w.sample("nimwatch_run_finished_timestamp_seconds", {"client": client}, round(run.finished_at, 3))

