"""The ETA of live runs: a reducer run as the estimator's input, history from the cache, how it is shown."""

from __future__ import annotations

import threading

import pytest
from watch.watchkit import running_run as running_text
from watch.watchkit import success_run

from nimwatch.core.history import HistoryRecord
from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.eta_live import EtaSource, HistoryCache, eta_fields, running_run, short_duration

LOG = "/l/lpar1_alt_mig.log"


def history(n: int = 5, client: str = "lpar1", phase_seconds: float = 100.0) -> list[HistoryRecord]:
    return [
        HistoryRecord(
            client=client,
            outcome="succeeded",
            master="nim01",
            log=f"/old/{client}_{i}.log",
            started_at=1000.0 * i,
            finished_at=1000.0 * i + 1200,
            phases={p: phase_seconds for p in range(1, 13)},
        )
        for i in range(1, n + 1)
    ]


def fed(rules: RuleSet, upto: int, t0: float = 10_000.0, step: float = 100.0) -> Engine:
    """lpar1 running phase ``upto``; each phase began ``step`` seconds after the previous one."""
    engine = Engine(rules)
    previous = ""
    for phase in range(1, upto + 1):
        text = running_text("lpar1", phase)
        engine.feed(LOG, text[len(previous) :].encode(), at=t0 + (phase - 1) * step)
        previous = text
    return engine


def test_running_run_from_the_reducer(rules: RuleSet) -> None:
    engine = fed(rules, 3)
    run = engine.logs[LOG].current
    assert run is not None
    rr = running_run(run, now=10_250.0)
    assert rr.phase == 3 and rr.phase_elapsed == pytest.approx(50.0)
    assert rr.done == {1: pytest.approx(100.0), 2: pytest.approx(100.0)}
    assert rr.client == "lpar1" and rr.phases == tuple(range(1, 13))


def test_phases_read_together_are_untimed(rules: RuleSet) -> None:
    engine = Engine(rules)
    engine.feed(LOG, running_text("lpar1", 4).encode(), at=5000.0)  # all in one read: nobody saw them run
    run = engine.logs[LOG].current
    assert run is not None
    assert running_run(run, 5000.0).done == {1: None, 2: None, 3: None}
    est = EtaSource(rules).eta_for(run, 5000.0)
    assert est is not None and est.rough and est.remaining > 0, "a nominal run, never 0 from phases of 0 s"


def test_history_gives_the_remaining_phases(rules: RuleSet) -> None:
    engine = fed(rules, 3)
    source = EtaSource(rules, HistoryCache(history()))
    run = engine.logs[LOG].current
    est = source.eta_for(run, 10_230.0)
    assert est is not None
    assert (est.basis, est.basis_runs) == ("client", 5)
    assert est.remaining == pytest.approx(70.0 + 9 * 100.0)
    assert eta_fields(est)["eta"] == pytest.approx(970.0) and eta_fields(est)["eta_basis"] == 5


def test_overdue_grows_and_the_eta_never_goes_negative_or_freezes(rules: RuleSet) -> None:
    engine = fed(rules, 3)
    source = EtaSource(rules, HistoryCache(history()))
    run = engine.logs[LOG].current
    seen = []
    for now in (10_200.0, 10_500.0, 11_000.0, 20_000.0):
        est = source.eta_for(run, now)
        assert est is not None and est.remaining >= 0 and est.overdue >= 0
        seen.append(est)
    assert [e.is_overdue for e in seen] == [False, True, True, True]
    assert seen[1].overdue < seen[2].overdue < seen[3].overdue, "the overdue amount grows with the clock"
    assert seen[3].finish_at > seen[2].finish_at, "the finish time moves: never frozen"
    assert short_duration(seen[0].remaining) == "16m"


def test_no_estimate_for_finished_or_untimed_runs(rules: RuleSet) -> None:
    engine = Engine(rules)
    engine.feed(LOG, success_run("lpar1").encode(), at=1.0)
    source = EtaSource(rules, HistoryCache(history()))
    assert source.eta_for(engine.logs[LOG].current, 2.0) is None
    running = fed(rules, 2)
    assert source.eta_for(running.logs[LOG].current, 10_150.0, timed=False) is None
    assert source.eta_for(None, 1.0) is None
    assert eta_fields(None) == dict.fromkeys(("eta", "eta_basis", "eta_level", "eta_finish", "overdue", "eta_rough"))


def test_cache_replaces_a_run_with_the_same_key_and_is_safe_to_read_while_it_grows() -> None:
    cache = HistoryCache(history(2))
    first = cache.records
    cache.add(history(2)[0])
    assert len(cache) == 2 and first is not cache.records
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(200):
                sum(len(r.phases) for r in cache.records)
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(200):
        cache.add(HistoryRecord(client=f"c{i}", outcome="failed", started_at=float(i)))
    thread.join()
    assert not errors and len(cache) == 202


def test_short_duration() -> None:
    assert [short_duration(s) for s in (0, 29.6, 60, 3599, 3600, 3900, -5)] == [
        "0s",
        "30s",
        "1m",
        "59m",
        "1h00m",
        "1h05m",
        "0s",
    ]


def test_the_candidates_give_the_estimate_of_the_whole_history(rules: RuleSet) -> None:
    """EtaSource hands the estimator a few dozen records, not the whole history: the answer must not change."""
    import random

    from nimwatch.core.eta import EtaOptions, RunningRun, estimate

    rng = random.Random(13)
    records = [
        HistoryRecord(
            client=rng.choice(["a", "b", "c", "d"]),
            outcome=rng.choice(["succeeded"] * 5 + ["failed", "incomplete"]),
            master=rng.choice(["", "nim01", "nim02"]),
            log=f"/old/{i}",
            started_at=float(rng.randrange(10**6)),
            finished_at=None if rng.random() < 0.1 else float(rng.randrange(10**6, 2 * 10**6)),
            target_level=rng.choice(["", "7.2", "7.3"]),
            mode=rng.choice(["", "cache", "nfs"]),
            partial=rng.random() < 0.1,
            phases={p: float(rng.randrange(1, 900)) for p in range(1, 13) if rng.random() < 0.9},
        )
        for i in range(400)
    ]
    cache = HistoryCache(records)
    weights = {spec.number: spec.weight for spec in rules.model.phases}
    for options in (EtaOptions(), EtaOptions(window=3), EtaOptions(min_runs=12, window=5)):
        keep = max(options.window, options.min_runs)
        for client in ("a", "b", "z"):
            for master in ("", "nim01"):
                for level in ("", "7.3"):
                    for mode in ("", "cache"):
                        run = RunningRun(client, 5, 30.0, master=master, target_level=level, mode=mode)
                        fewer = cache.candidates(run, keep)
                        assert len(fewer) < len(records)
                        assert estimate(fewer, run, 1e7, weights, options) == estimate(
                            records, run, 1e7, weights, options
                        ), (client, master, level, mode, options)


def test_a_partial_run_is_estimated_to_the_end_of_its_current_phase(rules: RuleSet) -> None:
    """nimadm -P 4: the log does not say which phases follow, so only the current one counts."""
    from watch.watchkit import banner, phase_body, preamble

    engine = Engine(rules)
    engine.feed(LOG, (preamble("lpar1") + banner(4) + phase_body(4)).encode(), at=10_000.0)
    run = engine.logs[LOG].current
    assert run is not None and "partial" in run.variants
    assert running_run(run, 10_030.0).phases == (4,)
    est = EtaSource(rules, HistoryCache(history())).eta_for(run, 10_030.0)
    assert est is not None and est.remaining == pytest.approx(70.0)
