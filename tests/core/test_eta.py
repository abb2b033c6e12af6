"""The ETA estimator: which history it rests on, what it counts, overdue phases, and its invariants."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nimwatch.core.eta import (
    P90_FLOOR,
    P95_FLOOR,
    EtaInputError,
    EtaOptions,
    RunningRun,
    estimate,
    quantile,
)
from nimwatch.core.history import HistoryRecord
from nimwatch.rulefiles import load_rules

WEIGHTS = {p.number: p.weight for p in load_rules().model.phases}
TOTAL_WEIGHT = sum(WEIGHTS.values())
NOW = 1_800_000_000.0

PHASES = {
    1: 300.0,
    2: 60.0,
    3: 900.0,
    4: 10.0,
    5: 600.0,
    6: 1800.0,
    7: 10.0,
    8: 120.0,
    9: 900.0,
    10: 60.0,
    11: 200.0,
    12: 40.0,
}


def rec(client: str = "lpar1", scale: float = 1.0, night: int = 0, **changes: Any) -> HistoryRecord:
    fields: dict[str, Any] = {
        "client": client,
        "master": "nim01",
        "target_level": "7.3",
        "mode": "cache",
        "outcome": "succeeded",
        "phases": {p: s * scale for p, s in PHASES.items()},
        "started_at": 1_700_000_000.0 + night * 86400,
        "finished_at": 1_700_000_000.0 + night * 86400 + 5000,
    }
    fields.update(changes)
    return HistoryRecord(**fields)


def running(phase: int = 6, elapsed: float = 0.0, **changes: Any) -> RunningRun:
    fields: dict[str, Any] = {
        "client": "lpar1",
        "phase": phase,
        "phase_elapsed": elapsed,
        "done": {p: PHASES[p] for p in range(1, phase)},
        "master": "nim01",
        "target_level": "7.3",
        "mode": "cache",
    }
    fields.update(changes)
    return RunningRun(**fields)


def later(phase: int, scale: float = 1.0) -> float:
    return sum(PHASES[p] * scale for p in range(phase + 1, 13))


# --------------------------------------------------------------------------- the basis


def test_same_client_first() -> None:
    history = [rec(scale=2.0, night=1), rec("other", night=2), rec("other", night=3)]
    est = estimate(history, running(6), NOW, WEIGHTS)
    assert (est.basis, est.basis_runs) == ("client", 1)
    assert est.remaining == pytest.approx(2 * PHASES[6] + later(6, 2.0))
    assert est.finish_at == pytest.approx(NOW + est.remaining)


def test_then_same_target_level_and_mode_then_all() -> None:
    history = [rec("a", scale=2.0), rec("b", scale=2.0, mode="nfs"), rec("c", target_level="7.2", scale=3.0)]
    est = estimate(history, running(1), NOW, WEIGHTS)
    assert (est.basis, est.basis_runs) == ("kind", 1)
    assert est.remaining == pytest.approx(2 * sum(PHASES.values()))
    est = estimate(history, running(1, target_level="7.1"), NOW, WEIGHTS)
    assert (est.basis, est.basis_runs) == ("all", 3)
    assert est.remaining == pytest.approx(2 * sum(PHASES.values()))  # the median of 2, 2 and 3


def test_the_same_client_in_another_mode_or_on_another_master_is_not_its_history() -> None:
    history = [rec(mode="nfs", scale=3.0), rec(master="nim02", scale=3.0), rec("x")]
    est = estimate(history, running(1), NOW, WEIGHTS)
    assert est.basis == "kind" and est.basis_runs == 2, "nim02's lpar1 and x: same target level and mode"
    unknown = estimate([rec(mode="", master="", scale=3.0)], running(1), NOW, WEIGHTS)
    assert unknown.basis == "client", "an unknown mode or master does not exclude a run"


def test_failed_partial_and_untimed_runs_never_count() -> None:
    bad = [
        rec(outcome="failed", scale=9.0),
        rec(outcome="incomplete", scale=9.0),
        rec(partial=True, variants=("partial",), scale=9.0),
        rec(variants=("wakeup",), scale=9.0),
        rec(phases={}),
    ]
    good = [rec(night=1)]
    assert estimate(bad + good, running(3), NOW, WEIGHTS) == estimate(good, running(3), NOW, WEIGHTS)
    assert estimate(bad, running(3), NOW, WEIGHTS).basis == "weights"


def test_min_runs_falls_through_to_a_richer_level() -> None:
    history = [rec(scale=2.0), rec("a"), rec("b"), rec("c")]
    assert estimate(history, running(1), NOW, WEIGHTS).basis == "client"
    est = estimate(history, running(1), NOW, WEIGHTS, EtaOptions(min_runs=3))
    assert (est.basis, est.basis_runs) == ("kind", 4)


def test_only_the_newest_window_counts_whatever_the_input_order() -> None:
    history = [rec(scale=1.0, night=n) for n in range(10, 20)] + [rec(scale=5.0, night=n) for n in range(10)]
    est = estimate(history, running(1), NOW, WEIGHTS, EtaOptions(window=10))
    assert est.basis_runs == 10
    assert est.remaining == pytest.approx(sum(PHASES.values()))


def test_median_or_mean() -> None:
    history = [rec(scale=1.0, night=1), rec(scale=1.0, night=2), rec(scale=4.0, night=3)]
    med = estimate(history, running(12), NOW, WEIGHTS)
    mean = estimate(history, running(12), NOW, WEIGHTS, EtaOptions(statistic="mean"))
    assert med.current_remaining == pytest.approx(PHASES[12])
    assert mean.current_remaining == pytest.approx(2 * PHASES[12])
    assert mean.stats[11].p50 == pytest.approx(PHASES[12])


def test_quantiles_and_their_floors() -> None:
    assert quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert quantile([1.0, 2.0], 0.9) == pytest.approx(1.9)
    assert quantile([7.0], 0.95) == 7.0
    with pytest.raises(EtaInputError):
        quantile([], 0.5)
    history = [rec(night=n, scale=s) for n, s in enumerate((1.0, 1.0, 1.0, 1.0, 3.0))]
    stats = estimate(history, running(6), NOW, WEIGHTS).stats[5]
    assert stats.p50 == PHASES[6] and stats.runs == 5
    assert stats.p90 == pytest.approx(quantile([PHASES[6]] * 4 + [3 * PHASES[6]], 0.9))
    one = estimate([rec()], running(6), NOW, WEIGHTS)
    assert one.stats[5].p90 == pytest.approx(PHASES[6] * P90_FLOOR[0])
    assert one.stats[5].p95 == pytest.approx(PHASES[6] * P95_FLOOR[0])
    assert one.stats[3].p90 == pytest.approx(PHASES[4] + P90_FLOOR[1]), "a 10 s phase is not overdue at 13 s"


def test_a_phase_no_run_timed_is_filled_from_the_weights() -> None:
    partial_timing = {p: s for p, s in PHASES.items() if p != 9}
    est = estimate([rec(phases=partial_timing)], running(8), NOW, WEIGHTS)
    per_weight = sum(partial_timing.values()) / sum(WEIGHTS[p] for p in partial_timing)
    assert est.stats[8].runs == 0
    assert est.stats[8].expected == pytest.approx(WEIGHTS[9] * per_weight)


# --------------------------------------------------------------------------- no history


def test_no_history_scales_the_weights_by_this_runs_own_phases() -> None:
    run = running(4, done={1: 500.0, 2: 200.0, 3: 1800.0})
    est = estimate([], run, NOW, WEIGHTS)
    per_weight = 2500.0 / (WEIGHTS[1] + WEIGHTS[2] + WEIGHTS[3])
    assert (est.basis, est.basis_runs, est.rough) == ("weights", 0, False)
    assert est.remaining == pytest.approx(per_weight * sum(WEIGHTS[p] for p in range(4, 13)))


def test_no_history_and_no_timed_phase_is_a_rough_nominal_run() -> None:
    est = estimate([], running(0, done={}), NOW, WEIGHTS)
    assert est.rough and est.basis == "weights"
    assert est.remaining == pytest.approx(EtaOptions().default_run_seconds)
    assert est.current is None
    mid_log = estimate([], running(7, done={p: None for p in range(1, 7)}), NOW, WEIGHTS)
    assert mid_log.rough, "phases done before the log began have no timing"
    assert mid_log.remaining == pytest.approx(3600.0 * sum(WEIGHTS[p] for p in range(7, 13)) / TOTAL_WEIGHT)


def test_a_tiny_timed_phase_does_not_scale_the_whole_run() -> None:
    est = estimate([], running(5, done={4: 1.0}), NOW, WEIGHTS)
    assert est.rough


# --------------------------------------------------------------------------- the current phase


def test_without_counts_the_phase_counts_down_then_stops_at_zero() -> None:
    history = [rec()]
    assert estimate(history, running(6, 600.0), NOW, WEIGHTS).current_remaining == pytest.approx(1200.0)
    est = estimate(history, running(6, 2000.0), NOW, WEIGHTS)
    assert est.current_remaining == 0.0 and not est.is_overdue
    assert est.remaining == pytest.approx(later(6))


def test_overdue_past_p90_grows_and_later_phases_still_count() -> None:
    history = [rec()]
    p90 = PHASES[6] * P90_FLOOR[0]
    est = estimate(history, running(6, p90 + 300.0), NOW, WEIGHTS)
    assert est.is_overdue and est.overdue == pytest.approx(300.0)
    assert est.remaining == pytest.approx(later(6))
    est2 = estimate(history, running(6, p90 + 900.0), NOW + 600.0, WEIGHTS)
    assert est2.overdue == pytest.approx(900.0)
    assert est2.finish_at == pytest.approx(est.finish_at + 600.0), "the finish time moves with the clock"
    assert est.to_json()["overdue"] == 300.0


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("none", PHASES[6] - 900.0),
        ("count", PHASES[6] * 0.75),
        ("rate", 900.0 * 0.75 / 0.25),
        ("blend", (1 - 0.25**2) * PHASES[6] * 0.75 + 0.25**2 * 900.0 * 3),
    ],
)
def test_counts_scale_the_current_phase(mode: str, expected: float) -> None:
    run = running(6, 900.0, progress_done=250, progress_total=1000)
    est = estimate([rec()], run, NOW, WEIGHTS, EtaOptions(progress=mode))
    assert est.current_remaining == pytest.approx(expected)
    assert est.remaining == pytest.approx(expected + later(6))


def test_counts_at_the_edges() -> None:
    history = [rec()]
    done = estimate(history, running(6, 100.0, progress_done=900, progress_total=900), NOW, WEIGHTS)
    assert done.current_remaining == 0.0
    zero = estimate(history, running(6, 100.0, progress_done=0, progress_total=900), NOW, WEIGHTS)
    assert zero.current_remaining == pytest.approx(PHASES[6] - 100.0)
    no_total = estimate(history, running(6, 100.0, progress_done=12, progress_total=None), NOW, WEIGHTS)
    assert no_total.current_remaining == pytest.approx(PHASES[6] - 100.0)
    assert running(6, progress_done=1200, progress_total=900).fraction == 1.0
    assert running(6, progress_done=5, progress_total=0).fraction is None


def test_run_scaling_stretches_the_remaining_phases_within_limits() -> None:
    slow = running(6, done={p: 2 * PHASES[p] for p in range(1, 6)})
    est = estimate([rec()], slow, NOW, WEIGHTS, EtaOptions(run_scaling=1.0))
    assert est.scale == pytest.approx(2.0)
    assert est.remaining == pytest.approx(2 * (PHASES[6] + later(6)))
    half = estimate([rec()], slow, NOW, WEIGHTS, EtaOptions(run_scaling=0.5))
    assert half.scale == pytest.approx(2**0.5)
    crawl = running(6, done={p: 50 * PHASES[p] for p in range(1, 6)})
    assert estimate([rec()], crawl, NOW, WEIGHTS, EtaOptions(run_scaling=1.0)).scale == 3.0
    assert estimate([rec()], slow, NOW, WEIGHTS).scale == 1.0, "off by default"


def test_a_partial_run_counts_only_its_phases() -> None:
    run = running(4, phases=(4, 5, 6), done={})
    est = estimate([rec()], run, NOW, WEIGHTS)
    assert est.remaining == pytest.approx(PHASES[4] + PHASES[5] + PHASES[6])


def test_json_for_watch_events() -> None:
    est = estimate([rec(), rec(night=2)], running(6, 60.0), NOW, WEIGHTS)
    doc = est.to_json()
    assert doc["eta"] == pytest.approx(est.remaining, abs=0.1)
    assert doc["eta_basis"] == 2 and doc["basis"] == "client"
    assert [p["phase"] for p in doc["phases"]] == list(range(1, 13))
    assert set(doc["phases"][5]) == {"phase", "expected", "p50", "p90", "p95", "runs"}


def test_bad_options_and_runs_are_bugs_not_guesses() -> None:
    for bad in ({"window": 0}, {"statistic": "mode"}, {"progress": "yes"}, {"run_scaling": 2.0}):
        with pytest.raises(EtaInputError):
            EtaOptions(**bad)
    with pytest.raises(EtaInputError):
        running(13)
    with pytest.raises(EtaInputError):
        estimate([], running(1, done={}), NOW, {p: 0.0 for p in range(1, 13)})


# --------------------------------------------------------------------------- invariants

durations = st.floats(0.0, 20_000.0, allow_nan=False)
records = st.builds(
    rec,
    client=st.sampled_from(("lpar1", "lpar2", "db1")),
    scale=st.floats(0.1, 5.0),
    night=st.integers(0, 50),
    mode=st.sampled_from(("cache", "nfs", "")),
    outcome=st.sampled_from(("succeeded", "succeeded", "failed")),
    phases=st.dictionaries(st.integers(1, 12), durations, min_size=0, max_size=12),
)
options = st.builds(
    EtaOptions,
    window=st.integers(1, 10),
    min_runs=st.integers(1, 3),
    statistic=st.sampled_from(("median", "mean")),
    progress=st.sampled_from(("blend", "count", "rate", "none")),
    blend_exponent=st.floats(0.0, 4.0),
    run_scaling=st.floats(0.0, 1.0),
)


@st.composite
def runs(draw: st.DrawFn) -> RunningRun:
    phase = draw(st.integers(0, 12))
    done = {p: draw(st.none() | durations) for p in range(1, phase)}
    total = draw(st.none() | st.integers(0, 2000))
    done_count = draw(st.integers(0, 2500)) if total is not None else None
    return RunningRun(
        "lpar1",
        phase,
        draw(durations),
        progress_done=done_count,
        progress_total=total,
        done=done,
        mode=draw(st.sampled_from(("cache", "nfs", ""))),
        target_level="7.3",
    )


@settings(max_examples=300, deadline=None)
@given(history=st.lists(records, max_size=15), run=runs(), opts=options)
def test_never_negative_never_undefined(history: list[HistoryRecord], run: RunningRun, opts: EtaOptions) -> None:
    est = estimate(history, run, NOW, WEIGHTS, opts)
    assert est.remaining >= 0 and est.overdue >= 0 and est.current_remaining >= 0
    assert est.current_remaining <= est.remaining + 1e-6
    assert est.remaining < float("inf") and est.finish_at >= NOW
    assert all(s.p50 <= s.p90 <= s.p95 for s in est.stats)
    if est.basis == "weights":
        assert est.basis_runs == 0
    else:
        assert min(opts.window, opts.min_runs) <= est.basis_runs <= opts.window


@settings(max_examples=300, deadline=None)
@given(
    history=st.lists(records, max_size=15),
    run=runs().filter(lambda r: r.phase > 0),
    opts=options,
    steps=st.lists(st.floats(0.0, 5000.0, allow_nan=False), min_size=1, max_size=6),
)
def test_as_time_passes_without_progress_the_finish_never_moves_earlier(
    history: list[HistoryRecord], run: RunningRun, opts: EtaOptions, steps: list[float]
) -> None:
    """Nothing new in the log: the finish time can only move later, overdue only grow, later phases still count."""
    now = NOW
    before = estimate(history, run, now, WEIGHTS, opts)
    later_phases = before.remaining - before.current_remaining
    for step in steps:
        now += step
        run = replace(run, phase_elapsed=run.phase_elapsed + step)
        after = estimate(history, run, now, WEIGHTS, opts)
        assert after.finish_at >= before.finish_at - 1e-6 * max(1.0, before.finish_at)
        assert after.overdue >= before.overdue
        if before.is_overdue:
            assert after.overdue == pytest.approx(before.overdue + step)
        assert after.remaining >= later_phases - 1e-6
        before = after


@settings(max_examples=200, deadline=None)
@given(history=st.lists(records, max_size=10), run=runs(), extra=st.lists(records, max_size=5))
def test_failed_or_partial_runs_never_change_the_estimate(
    history: list[HistoryRecord], run: RunningRun, extra: list[HistoryRecord]
) -> None:
    unusable = [replace(r, outcome="failed") for r in extra] + [replace(r, partial=True) for r in extra]
    assert estimate(history + unusable, run, NOW, WEIGHTS) == estimate(history, run, NOW, WEIGHTS)


def test_the_benchmark_meets_its_target_on_generated_histories() -> None:
    """bench/eta_accuracy.py --quick: median error <= 15 % from phase 6 on with 5 prior runs of the client."""
    bench = Path(__file__).resolve().parents[2] / "bench" / "eta_accuracy.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--quick", "--json"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["per_phase_own"]["5"]["6-12"]["median"] <= figures["target"]
    assert figures["per_phase_own"]["10"]["6-12"]["median"] <= figures["target"]
