"""When will a running nimadm run finish: an estimate from the history of finished runs.

Owns :func:`estimate` and its inputs and outputs: :class:`RunningRun` (the
run now: current phase, seconds in it, progress counts, phases done),
:class:`EtaOptions` (the estimator's knobs, measured by
``bench/eta_accuracy.py``), :class:`PhaseStats` and :class:`Estimate`
(remaining seconds, finish time, basis, per-phase p50/p90/p95, overdue).
Pure: no clock (``now`` is passed in), no file, no database.

How the estimate is built:

1. **Which history.** Only succeeded, complete (not ``-P``) migrations with
   timed phases count (:attr:`HistoryRecord.usable_for_eta`). The first level
   with at least ``min_runs`` of them wins, newest ``window`` runs kept:
   ``client`` (same client and master, same mode when both are known), then
   ``kind`` (same target level and mode), then ``all``. Without any,
   ``weights``: the phase weights of ``phases/nimadm.yaml`` scaled by what
   this run's finished phases took (``rough`` when not even that is known:
   then a nominal run of ``default_run_seconds``).
2. **Per phase**, the expected duration is the median (or the mean, an option)
   of that phase's durations in the chosen runs, with p90 and p95 beside it
   (floored at 1.2x and 1.3x the median, and at +60 s and +120 s, so that one
   run's spread does not make a normal phase "overdue"). A phase that none of
   the chosen runs timed is filled from the weights, scaled by the phases
   that were timed.
3. **The current phase**: without counts, ``max(0, expected - elapsed)``.
   With counts (phase 6's filesets, merge methods, file systems), a fraction
   ``f = done / total`` gives two estimates of what is left: history scaled
   by the count (``expected * (1 - f)``) and this run's own rate
   (``elapsed * (1 - f) / f``); they are blended with weight ``w = f ** k``
   on the rate, so the run's own pace wins as the phase advances.
4. **Remaining** = the current phase's remainder + the expected durations of
   the phases after it. **Overdue** = how far the current phase runs past its
   p90, never negative. Nothing is frozen: while a phase overruns, the later
   phases still count, the finish time moves with the clock and the overdue
   amount grows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from nimwatch.core.history import PHASE_COUNT, HistoryRecord

STATISTICS = ("median", "mean")
PROGRESS_MODES = ("blend", "count", "rate", "none")

P90_FLOOR = (1.2, 60.0)
"""p90 is at least 1.2x the expected duration and at least 60 s above it."""
P95_FLOOR = (1.3, 120.0)
"""p95 is at least 1.3x the expected duration and at least 120 s above it."""
WEIGHTS_SPREAD = (2.0, 2.5)
"""Without history, p90 and p95 are 2x and 2.5x the weighted duration (a wide band)."""
MIN_OWN_SHARE = 0.05
"""Without history, this run's own finished phases scale the weights once they hold this share of the total."""
SCALE_LIMITS = (1 / 3, 3.0)
"""``run_scaling`` never stretches or shrinks the remaining phases by more than this."""


class EtaInputError(ValueError):
    """The running run or the options are not valid (a bug in the caller, not in the user's input)."""


@dataclass(frozen=True)
class EtaOptions:
    """The estimator's knobs; the defaults are the variant ``bench/eta_accuracy.py`` measured best."""

    window: int = 10
    """Newest runs used at the chosen level."""
    min_runs: int = 1
    """Runs a level needs before it is used (else the next, less specific level)."""
    statistic: str = "median"
    """``median`` or ``mean`` of the window (``mean`` with ``window=3`` is Jenkins' estimate)."""
    progress: str = "blend"
    """Counts inside the current phase: ``blend``, ``count`` (history x remaining fraction), ``rate``
    (this run's own pace) or ``none`` (ignore them)."""
    blend_exponent: float = 2.0
    """``k`` of the blend weight ``w = f ** k`` given to the run's own pace."""
    run_scaling: float = 0.0
    """0 = off; else how strongly this run's finished phases (actual / expected) stretch the remaining ones:
    the factor is ``(actual / expected) ** run_scaling``, clamped to :data:`SCALE_LIMITS`."""
    default_run_seconds: float = 3600.0
    """A nominal run with no history and no timed phase (about one hour per client, nimadm_facts.md 6)."""

    def __post_init__(self) -> None:
        if self.window < 1 or self.min_runs < 1:
            raise EtaInputError("window and min_runs must be at least 1")
        if self.statistic not in STATISTICS:
            raise EtaInputError(f"statistic must be one of {STATISTICS}, not {self.statistic!r}")
        if self.progress not in PROGRESS_MODES:
            raise EtaInputError(f"progress must be one of {PROGRESS_MODES}, not {self.progress!r}")
        if not self.blend_exponent >= 0 or not 0 <= self.run_scaling <= 1 or not self.default_run_seconds > 0:
            raise EtaInputError("blend_exponent >= 0, 0 <= run_scaling <= 1, default_run_seconds > 0")


@dataclass(frozen=True)
class RunningRun:
    """The run being estimated, as the reducer knows it now."""

    client: str
    phase: int
    """Current phase, 1-12; 0 before phase 1 started."""
    phase_elapsed: float = 0.0
    """Seconds since the current phase started."""
    progress_done: Optional[int] = None
    progress_total: Optional[int] = None
    """Counts inside the current phase, when the log shows them (``done`` of ``total``)."""
    done: Mapping[int, Optional[float]] = field(default_factory=dict)
    """Phases of this run already finished: their seconds, or None when not timed (a log read mid-run)."""
    master: str = ""
    target_level: str = ""
    source_level: str = ""
    mode: str = ""
    phases: tuple[int, ...] = tuple(range(1, PHASE_COUNT + 1))
    """The phases this run goes through (all 12 unless a partial ``-P`` run names fewer)."""

    def __post_init__(self) -> None:
        if not 0 <= self.phase <= PHASE_COUNT:
            raise EtaInputError(f"phase {self.phase} is not 0-12")
        if not math.isfinite(self.phase_elapsed):
            raise EtaInputError("phase_elapsed must be finite")

    @property
    def fraction(self) -> Optional[float]:
        """``done / total`` inside the current phase, 0.0 to 1.0, or None without a usable total."""
        if self.progress_total is None or self.progress_done is None or self.progress_total <= 0:
            return None
        return min(1.0, max(0.0, self.progress_done / self.progress_total))


@dataclass(frozen=True)
class PhaseStats:
    """One phase's duration as the estimate sees it."""

    phase: int
    expected: float
    """What the ETA counts for the phase (the median or the mean, times the run scaling)."""
    p50: float
    p90: float
    p95: float
    runs: int
    """Runs that timed this phase (0: filled from the phase weights)."""

    def to_json(self) -> dict[str, Any]:
        seconds = {name: round(getattr(self, name), 1) for name in ("expected", "p50", "p90", "p95")}
        return {"phase": self.phase, **seconds, "runs": self.runs}


@dataclass(frozen=True)
class Estimate:
    """What :func:`estimate` says about a running run."""

    remaining: float
    """Seconds until the run is expected to finish, never negative."""
    finish_at: float
    """``now + remaining``."""
    basis: str
    """``client``, ``kind``, ``all`` or ``weights`` (no history)."""
    basis_runs: int
    """How many finished runs the estimate rests on (0 for ``weights``)."""
    phase: int
    current_remaining: float
    """Seconds left in the current phase (included in ``remaining``)."""
    overdue: float
    """Seconds the current phase runs past its p90 (0 when it does not)."""
    stats: tuple[PhaseStats, ...]
    """Every phase 1-12, in order."""
    scale: float = 1.0
    """The run-scaling factor applied to the remaining phases (1.0 when off)."""
    rough: bool = False
    """No history and no timed phase in this run: a nominal run length, to be shown as a rough guess."""

    @property
    def is_overdue(self) -> bool:
        return self.overdue > 0

    @property
    def current(self) -> Optional[PhaseStats]:
        """The current phase's stats (its p95 feeds the "slower than history" alert); None before phase 1."""
        return self.stats[self.phase - 1] if self.phase else None

    def to_json(self) -> dict[str, Any]:
        """For ``watch`` events and ``status --format json``: ``eta`` and ``eta_basis`` and the details."""
        return {
            "eta": round(self.remaining, 1),
            "finish_at": round(self.finish_at, 1),
            "eta_basis": self.basis_runs,
            "basis": self.basis,
            "overdue": round(self.overdue, 1),
            "current_remaining": round(self.current_remaining, 1),
            "rough": self.rough,
            "phases": [s.to_json() for s in self.stats],
        }


# --------------------------------------------------------------------------- statistics


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` with linear interpolation between the closest ranks."""
    if not values:
        raise EtaInputError("quantile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _floored(expected: float, value: float, floor: tuple[float, float]) -> float:
    return max(value, expected * floor[0], expected + floor[1])


# --------------------------------------------------------------------------- choosing the history


def _sort_key(record: HistoryRecord) -> float:
    at = record.finished_at if record.finished_at is not None else record.started_at
    return at if at is not None else -math.inf


def _same(a: str, b: str) -> bool:
    """Equal, or one of them unknown."""
    return not a or not b or a == b


def choose_history(
    history: Iterable[HistoryRecord], run: RunningRun, options: EtaOptions
) -> tuple[str, list[HistoryRecord]]:
    """The fallback: the first level with ``min_runs`` usable runs, and its newest ``window`` runs."""
    usable = sorted((r for r in history if r.usable_for_eta), key=_sort_key)
    own = [r for r in usable if r.client == run.client and _same(r.master, run.master) and _same(r.mode, run.mode)]
    levels = [("client", own)]
    if run.target_level or run.mode:
        levels.append(("kind", [r for r in usable if r.target_level == run.target_level and r.mode == run.mode]))
    levels.append(("all", usable))
    for level, records in levels:
        if len(records) >= options.min_runs:
            return level, records[-options.window :]
    return "weights", []


def _stats_from_history(
    records: Sequence[HistoryRecord], weights: Mapping[int, float], options: EtaOptions
) -> list[PhaseStats]:
    found: dict[int, list[float]] = {}
    for record in records:
        for number, seconds in record.phases.items():
            found.setdefault(number, []).append(float(seconds))
    stats: dict[int, PhaseStats] = {}
    for number, values in found.items():
        p50 = quantile(values, 0.5)
        expected = p50 if options.statistic == "median" else sum(values) / len(values)
        p90 = _floored(p50, quantile(values, 0.9), P90_FLOOR)
        p95 = _floored(p50, quantile(values, 0.95), P95_FLOOR)
        stats[number] = PhaseStats(number, expected, p50, p90, p95, len(values))
    known_weight = sum(weights.get(n, 0.0) for n in stats)
    per_weight = sum(s.expected for s in stats.values()) / known_weight if known_weight > 0 else 0.0
    return [stats.get(n) or _weighted(n, weights, per_weight) for n in range(1, PHASE_COUNT + 1)]


def _weighted(number: int, weights: Mapping[int, float], per_weight: float) -> PhaseStats:
    seconds = weights.get(number, 0.0) * per_weight
    return PhaseStats(number, seconds, seconds, seconds * WEIGHTS_SPREAD[0], seconds * WEIGHTS_SPREAD[1], 0)


def _stats_from_weights(
    run: RunningRun, weights: Mapping[int, float], options: EtaOptions
) -> tuple[list[PhaseStats], bool]:
    """Phase weights scaled by this run's own timed phases, else by the nominal run length."""
    total_weight = sum(weights.get(n, 0.0) for n in range(1, PHASE_COUNT + 1))
    if total_weight <= 0:
        raise EtaInputError("the phase weights add up to nothing")
    timed = {n: s for n, s in run.done.items() if s is not None}
    timed_weight = sum(weights.get(n, 0.0) for n in timed)
    rough = timed_weight < MIN_OWN_SHARE * total_weight
    per_weight = options.default_run_seconds / total_weight if rough else sum(timed.values()) / timed_weight
    return [_weighted(n, weights, per_weight) for n in range(1, PHASE_COUNT + 1)], rough


def _run_scale(run: RunningRun, stats: Sequence[PhaseStats], options: EtaOptions) -> float:
    """How much slower (>1) or faster (<1) this run's finished phases were than expected."""
    if not options.run_scaling:
        return 1.0
    actual = expected = 0.0
    for number, seconds in run.done.items():
        if seconds is not None and 1 <= number <= PHASE_COUNT:
            actual += seconds
            expected += stats[number - 1].expected
    if actual <= 0 or expected <= 0:
        return 1.0
    factor = math.pow(actual / expected, options.run_scaling)
    return min(SCALE_LIMITS[1], max(SCALE_LIMITS[0], factor))


def _current_remaining(run: RunningRun, stats: PhaseStats, options: EtaOptions) -> float:
    elapsed = max(0.0, run.phase_elapsed)
    fraction = run.fraction
    if fraction is None or options.progress == "none" or fraction <= 0.0:
        return max(0.0, stats.expected - elapsed)
    if fraction >= 1.0:
        return 0.0
    by_history = stats.expected * (1.0 - fraction)
    by_rate = elapsed * (1.0 - fraction) / fraction
    # ``count`` and ``rate`` give all the weight to one of them, ``blend`` moves it to the rate as f grows
    weight = {"count": 0.0, "rate": 1.0}.get(options.progress, math.pow(fraction, options.blend_exponent))
    return (1.0 - weight) * by_history + weight * by_rate


# --------------------------------------------------------------------------- the estimate


def estimate(
    history: Iterable[HistoryRecord],
    run: RunningRun,
    now: float,
    weights: Mapping[int, float],
    options: Optional[EtaOptions] = None,
) -> Estimate:
    """Estimate when ``run`` finishes.

    Args:
        history: finished runs, any order (unusable ones, failed or partial, are skipped here).
        run: the running run.
        now: the current time (seconds since the epoch); only ``finish_at`` uses it.
        weights: phase number to its share of a typical run (``weight:`` in phases/nimadm.yaml).
        options: the estimator's knobs.
    """
    options = options or EtaOptions()
    level, records = choose_history(history, run, options)
    if records:
        stats, rough = _stats_from_history(records, weights, options), False
    else:
        stats, rough = _stats_from_weights(run, weights, options)
    scale = _run_scale(run, stats, options) if records else 1.0
    if scale != 1.0:
        stats = [
            PhaseStats(s.phase, s.expected * scale, s.p50 * scale, s.p90 * scale, s.p95 * scale, s.runs) for s in stats
        ]
    current_remaining = overdue = 0.0
    if run.phase:
        current = stats[run.phase - 1]
        current_remaining = _current_remaining(run, current, options)
        overdue = max(0.0, run.phase_elapsed - current.p90)
    later = sum(s.expected for s in stats if s.phase > run.phase and s.phase in run.phases and s.phase not in run.done)
    remaining = max(0.0, current_remaining + later)
    return Estimate(
        remaining=remaining,
        finish_at=now + remaining,
        basis=level,
        basis_runs=len(records),
        phase=run.phase,
        current_remaining=current_remaining,
        overdue=overdue,
        stats=tuple(stats),
        scale=scale,
        rough=rough,
    )
