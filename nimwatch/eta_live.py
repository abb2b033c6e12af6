"""The ETA of live runs: the one place that joins the run history and a running run into an estimate.

Owns :class:`HistoryCache` (the finished runs the ETA learns from: loaded once
from the state journal, appended as runs finish; thread-safe),
:func:`running_run` (a reducer :class:`~nimwatch.core.state.RunState` as the
estimator's :class:`~nimwatch.core.eta.RunningRun`), :class:`EtaSource` with
:meth:`EtaSource.eta_for` (what ``watch`` events, ``status``, ``report``, the
metrics and the TUI show) and how an estimate is shown: :func:`eta_fields`
(the JSON keys of events and reports), :func:`basis_words` and
:func:`short_duration` (``1h05m``).

Wiring, not core: the estimator (:mod:`nimwatch.core.eta`) stays pure; the
clock's "now" is passed in by the caller. A phase whose start and end arrived
in the same read (duration 0) was not seen running: it counts as untimed.
A run whose arrival times are not real (``timed=False``: lines that were all
in the file when nimwatch started and that the journal does not know) gets no
estimate. A partial run (``nimadm -P``) is estimated to the end of its current
phase only: the log does not say which phases follow.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional

from nimwatch.core.eta import Estimate, EtaOptions, RunningRun, estimate
from nimwatch.core.events import Outcome, PhaseStatus
from nimwatch.core.history import PHASE_COUNT, HistoryRecord, run_mode
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState, PhaseState, RunState
from nimwatch.errors import NimwatchError


class _Index:
    """Every record (``view``) and the usable ones (succeeded, complete, timed), whole and by client and by kind.

    Oldest first: the estimator sorts the same way, and sorting a sorted list costs one pass.
    """

    def __init__(self, records: Iterable[HistoryRecord]) -> None:
        self.view = tuple(sorted(records, key=_finish_key))
        self.usable = [r for r in self.view if r.usable_for_eta]
        self.by_client: dict[str, list[HistoryRecord]] = {}
        self.by_kind: dict[tuple[str, str], list[HistoryRecord]] = {}
        for record in self.usable:
            self.by_client.setdefault(record.client, []).append(record)
            self.by_kind.setdefault((record.target_level, record.mode), []).append(record)


class HistoryCache:
    """The run history in memory: what every estimate of this process rests on."""

    def __init__(self, records: Iterable[HistoryRecord] = ()) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, HistoryRecord] = {r.key: r for r in records}
        self._index = _Index(self._records.values())

    @classmethod
    def load(cls, journal: Any, on_error: Optional[Callable[[str], None]] = None) -> HistoryCache:
        """Every row of the journal's history (None: an empty history).

        With ``on_error``, a history that cannot be read is said there and an empty one returned
        (else its :class:`~nimwatch.errors.NimwatchError` is raised).
        """
        if journal is None:
            return cls()
        from nimwatch.history_store import records

        try:
            return cls(records(journal))
        except NimwatchError as exc:
            if on_error is None:
                raise
            on_error(str(exc))
            return cls()

    def add(self, record: HistoryRecord) -> None:
        """A run finished (a row with the same key replaces the old one)."""
        with self._lock:
            self._records[record.key] = record
            self._index = _Index(self._records.values())

    @property
    def records(self) -> tuple[HistoryRecord, ...]:
        """The records now (an immutable snapshot: safe to iterate while runs finish)."""
        return self._index.view

    def __len__(self) -> int:
        return len(self._index.view)

    def candidates(self, run: RunningRun, keep: int) -> list[HistoryRecord]:
        """The records :func:`~nimwatch.core.eta.choose_history` can pick for ``run``, and no others.

        Every usable run of the client (its level filters them by master and mode), the newest
        ``keep`` of the same target level and mode, and the newest ``keep`` of all: the estimate
        is the same as over the whole history (``keep`` >= the window), at a cost that does not
        grow with the history's length.
        """
        index = self._index
        chosen = {id(r): r for r in index.by_client.get(run.client, ())}
        chosen.update((id(r), r) for r in index.by_kind.get((run.target_level, run.mode), [])[-keep:])
        chosen.update((id(r), r) for r in index.usable[-keep:])
        return list(chosen.values())


def _finish_key(record: HistoryRecord) -> float:
    at = record.finished_at if record.finished_at is not None else record.started_at
    return at if at is not None else float("-inf")


def seen_duration(ps: PhaseState) -> Optional[float]:
    """A finished phase's seconds, when nimwatch saw it run (start and end arrived apart)."""
    if ps.inferred or ps.started_at is None or ps.finished_at is None:
        return None
    seconds = ps.finished_at - ps.started_at
    return seconds if seconds > 0 else None


def running_run(run: RunState, now: float) -> RunningRun:
    """``run`` as the estimator sees it at ``now``: current phase, seconds in it, counts, phases done."""
    phase = run.current_phase if 0 <= run.current_phase <= PHASE_COUNT else 0
    current = run.phase(phase) if phase else None
    elapsed = 0.0
    if current is not None and current.started_at is not None and not current.inferred:
        elapsed = max(0.0, now - current.started_at)
    done = {ps.number: seen_duration(ps) for ps in run.phases if ps.number != phase and ps.status is PhaseStatus.DONE}
    phases: tuple[int, ...] = tuple(range(1, PHASE_COUNT + 1))
    if "partial" in run.variants:
        phases = tuple(ps.number for ps in run.phases if ps.status is not PhaseStatus.NOT_RUN)
    return RunningRun(
        client=run.client,
        phase=phase,
        phase_elapsed=elapsed,
        progress_done=current.progress_done if current is not None else None,
        progress_total=current.progress_total if current is not None else None,
        done=done,
        master=run.facts.get("master", ""),
        target_level=run.facts.get("target_level", ""),
        mode=run_mode(tuple(run.variants)),
        phases=phases,
    )


log = logging.getLogger(__name__)


class EtaSource:
    """Estimates for running runs, from one history.

    Args:
        rules: the phase model (its ``weight:`` per phase is the fallback without history).
        history: the run history (shared with whatever records finished runs).
    """

    def __init__(self, rules: RuleSet, history: Optional[HistoryCache] = None):
        self.history = history if history is not None else HistoryCache()
        self.weights: Mapping[int, float] = {spec.number: spec.weight for spec in rules.model.phases}

    def eta_for(
        self, run: Optional[RunState], now: float, *, timed: bool = True, open_end: bool = False
    ) -> Optional[Estimate]:
        """The estimate for ``run`` at ``now``; None when it is not running or its times are not real.

        ``open_end``: a run a finished read of the log ended as incomplete only because the
        log ends there (``report`` of a log still being written) counts as running.
        """
        if run is None or not timed or run.started_at is None:
            return None
        if not (run.outcome is Outcome.RUNNING or (open_end and run.open_end and run.outcome is Outcome.INCOMPLETE)):
            return None
        live = running_run(run, now)
        options = EtaOptions()  # the defaults are what ``bench/eta_accuracy.py`` measured best
        keep = max(options.window, options.min_runs)
        return estimate(self.history.candidates(live, keep), live, now, self.weights, options)


def eta_source(rules: RuleSet, journal: Any) -> EtaSource:
    """The ETA from the journal's run history (an empty history without a journal, or one it cannot read)."""
    return EtaSource(rules, HistoryCache.load(journal, lambda why: log.warning("%s (ETA without history)", why)))


def report_eta(
    source: EtaSource, timed: Callable[[str], bool], now: float
) -> Callable[[LogState, RunState], Optional[dict[str, Any]]]:
    """For ``report``: the ETA of a run its log ends in, at ``now``, when the log's arrival times are known.

    The result is :func:`eta_fields` plus ``basis``, the basis in words; None without an estimate.
    """

    def eta(log: LogState, run: RunState) -> Optional[dict[str, Any]]:
        est = source.eta_for(run, now, timed=timed(log.log), open_end=True)
        return None if est is None else {**eta_fields(est), "basis": basis_words(est), "phase": est.phase}

    return eta


# --------------------------------------------------------------------------- showing it


def short_duration(seconds: float) -> str:
    """``1h05m``, ``47m``, ``30s`` (never negative)."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def basis_words(est: Estimate) -> str:
    """What the estimate rests on, for people: ``5 runs of this client``, ``no history``..."""
    if est.basis == "weights" or not est.basis_runs:
        return "no history (phase weights)"
    runs = f"{est.basis_runs} run{'s' if est.basis_runs != 1 else ''}"
    where = {"client": "of this client", "kind": "of the same target level and mode", "all": "of any client"}
    return f"{runs} {where.get(est.basis, '')}".rstrip()


def eta_fields(est: Optional[Estimate]) -> dict[str, Any]:
    """The keys ``watch`` events and ``report --format json`` carry (all None without an estimate).

    ``eta`` seconds left, ``eta_basis`` finished runs it rests on, ``eta_level`` (client,
    kind, all, weights), ``eta_finish`` (Unix time), ``overdue`` (seconds the current
    phase runs past its p90; 0 when it does not), ``eta_rough`` (no history, no timed phase).
    """
    if est is None:
        return dict.fromkeys(("eta", "eta_basis", "eta_level", "eta_finish", "overdue", "eta_rough"))
    return {
        "eta": round(est.remaining, 1),
        "eta_basis": est.basis_runs,
        "eta_level": est.basis,
        "eta_finish": round(est.finish_at, 1),
        "overdue": round(est.overdue, 1),
        "eta_rough": est.rough,
    }
