"""Stall detection with an injected clock: thresholds, clearing, silent runs ending incomplete."""

from __future__ import annotations

from nimwatch.config import StallConfig
from nimwatch.core.events import Outcome
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import RunState
from nimwatch.engine import Engine
from nimwatch.stall import StallMonitor

from .watchkit import Collector, banner, failing_run, running_run

LOG = "/logs/lpar1_alt_mig.log"
MIN = 60.0


def current(engine: Engine) -> RunState:
    run = engine.logs[LOG].current
    assert run is not None
    return run


def setup(rules: RuleSet, upto: int, config: StallConfig) -> tuple[Engine, StallMonitor, Collector]:
    engine = Engine(rules, clock=lambda: 0.0)
    notices = Collector(engine)
    engine.feed(LOG, running_run("lpar1", upto).encode(), at=1000.0)
    return engine, StallMonitor(engine, config, rules, clock=lambda: 0.0), notices


def test_thresholds_come_from_config_then_default_then_the_phase_model(rules: RuleSet) -> None:
    engine = Engine(rules)
    model = {p.number: p.stall_minutes for p in rules.model.phases}
    assert model[3] > model[2] and model[6] > model[2] and model[9] > model[2]
    plain = StallMonitor(engine, StallConfig(), rules)
    assert plain.threshold_minutes(3) == model[3]
    overridden = StallMonitor(engine, StallConfig(phase_minutes={3: 5.0}, default_minutes=7.0), rules)
    assert overridden.threshold_minutes(3) == 5.0
    assert overridden.threshold_minutes(6) == 7.0


def test_stalled_after_the_phase_threshold_and_cleared_when_lines_resume(rules: RuleSet) -> None:
    engine, stall, notices = setup(rules, 2, StallConfig())
    limit = stall.threshold_minutes(2) * MIN
    assert stall.check(1000.0 + limit - 1) == []
    (stalled,) = stall.check(1000.0 + limit + 1)
    assert (stalled.event, stalled.phase, stalled.client) == ("stalled", 2, "lpar1")
    assert stalled.get("threshold_minutes") == stall.threshold_minutes(2)
    assert stalled.get("line") == current(engine).last_line
    assert stall.check(1000.0 + limit + 600) == []  # reported once
    assert stall.stalled == {(LOG, 1)}
    engine.feed(LOG, b"Still copying.\n", at=1000.0 + limit + 700)
    (cleared,) = notices.events("stall_cleared")
    assert cleared.phase == 2 and cleared.ts == 1000.0 + limit + 700
    assert stall.stalled == set()
    engine.feed(LOG, banner(3).encode(), at=1000.0 + limit + 800)
    assert stall.check(1000.0 + limit + 900) == []


def test_a_long_phase_gets_its_longer_threshold(rules: RuleSet) -> None:
    _, stall, _ = setup(rules, 3, StallConfig(default_minutes=None))
    assert stall.check(1000.0 + 60 * MIN) == []  # phase 3 allows 90 minutes by default
    assert [n.event for n in stall.check(1000.0 + stall.threshold_minutes(3) * MIN + 1)] == ["stalled"]


def test_a_silent_run_ends_incomplete_and_comes_back_when_lines_resume(rules: RuleSet) -> None:
    engine, stall, notices = setup(rules, 4, StallConfig(default_minutes=10, incomplete_after_minutes=60))
    out = stall.check(1000.0 + 61 * MIN)
    assert [n.event for n in out] == ["stalled", "run_finished"]
    assert out[1].get("outcome") == "incomplete" and "no new line for 61 minutes" in out[1].get("reason")
    assert current(engine).outcome is Outcome.INCOMPLETE
    assert stall.check(1000.0 + 200 * MIN) == []
    engine.feed(LOG, banner(5).encode(), at=1000.0 + 201 * MIN)
    assert current(engine).outcome is Outcome.RUNNING
    assert len(notices.events("stall_cleared")) == 1


def test_finished_runs_never_stall(rules: RuleSet) -> None:
    engine = Engine(rules)
    engine.feed(LOG, failing_run("lpar1", 2).encode(), at=1000.0)
    stall = StallMonitor(engine, StallConfig(default_minutes=1, incomplete_after_minutes=2), rules)
    assert stall.check(1000.0 + 10_000 * MIN) == []


def test_a_run_that_finishes_after_being_declared_incomplete_keeps_its_real_outcome(rules: RuleSet) -> None:
    engine, stall, notices = setup(rules, 1, StallConfig(incomplete_after_minutes=60))
    stall.check(1000.0 + 61 * MIN)
    tail = failing_run("lpar1", 1).split(banner(1), 1)[1]
    engine.feed(LOG, tail.encode(), at=1000.0 + 62 * MIN)
    assert current(engine).outcome is Outcome.FAILED
    assert [n.get("outcome") for n in notices.events("run_finished")] == ["incomplete", "failed"]
