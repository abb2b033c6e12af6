"""Hook results and alert sinks' trouble are reduced into the state (the reducer is their one writer).

Real parts: real log files through the real engine, a real hook script run by the hook manager, a real
HTTP receiver behind the alert dispatcher; the views (status table, metrics) read what the state holds.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from nimwatch.config.hooks import HookSpec
from nimwatch.core.events import SinkFailed
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import FleetState, HookOutcome, SinkState
from nimwatch.engine import Engine, Notice
from nimwatch.hooks.manager import HookManager, MemoryOnceStore
from nimwatch.metrics import render
from nimwatch.views.status_table import client_row
from nimwatch.views.status_text import render_table
from nimwatch.vocabulary import ALERT_FAILED, ALERT_RECOVERED, HOOK_RESULT

from .servers import HttpReceiver
from .test_sinks import AlertRig
from .watchkit import Collector, failing_run, success_run, wait_for

NIMWATCH = Path(__file__).resolve().parents[2] / "nimwatch"


def test_a_failing_hook_is_kept_in_the_runs_state_and_shown_by_status_and_metrics(
    rules: RuleSet, tmp_path: Path
) -> None:
    script = tmp_path / "notify.sh"
    script.write_text("#!/bin/sh\nexit 3\n")
    script.chmod(0o755)
    log = tmp_path / "lpar1_alt_mig.log"
    log.write_text(failing_run("lpar1", 2))
    engine = Engine(rules)
    published = Collector(engine)
    hook = HookSpec(name="notify", on=("run_finished",), run=(str(script),), retries=0)
    manager = HookManager([hook], engine.report, MemoryOnceStore())
    engine.subscribe(manager.handle)
    try:
        engine.feed(str(log), log.read_bytes())
        engine.close(str(log))
        assert manager.wait_idle(60)
    finally:
        manager.stop(timeout=30)
    state = engine.logs[str(log)]
    run = state.run(1)
    outcome = run.hooks["notify"]
    assert (outcome.exit_status, outcome.failed, outcome.trigger, outcome.attempt) == (3, True, "run_finished", 1)
    assert run.failed_hooks == [outcome]
    (result,) = [n for n in published.items if n.kind is HOOK_RESULT]
    assert result.get("exit_status") == 3 and result.ts == outcome.at  # the notice says what the state keeps

    row = client_row(state, rules, engine.clock())
    assert row.hooks == "hook notify failed: exit status 3 (attempt 1)"
    table = render_table([row], 200)
    assert "lpar1: hook notify failed: exit status 3 (attempt 1)" in table
    assert 'nimwatch_hook_failed{client="lpar1",hook="notify"} 1' in render(engine)


def test_a_hook_that_succeeds_after_failing_clears_it(rules: RuleSet, tmp_path: Path) -> None:
    flag = tmp_path / "ok"
    script = tmp_path / "flaky.sh"
    script.write_text(f"#!/bin/sh\n[ -e {flag} ] && exit 0\ntouch {flag}\nexit 1\n")
    script.chmod(0o755)
    log = tmp_path / "lpar2_alt_mig.log"
    engine = Engine(rules)
    hook = HookSpec(name="flaky", on=("run_started", "run_finished"), run=(str(script),), retries=0)
    manager = HookManager([hook], engine.report, MemoryOnceStore())
    engine.subscribe(manager.handle)
    try:
        log.write_text(success_run("lpar2"))
        engine.feed(str(log), log.read_bytes())
        engine.close(str(log))
        assert manager.wait_idle(60)
    finally:
        manager.stop(timeout=30)
    run = engine.logs[str(log)].run(1)
    assert run.hooks["flaky"].exit_status == 0 and run.hooks["flaky"].trigger == "run_finished"
    assert run.failed_hooks == []
    assert "nimwatch_hook_failed{" not in render(engine)


def test_a_sink_that_fails_then_delivers_sets_and_clears_its_state(rules: RuleSet, tmp_path: Path) -> None:
    http = HttpReceiver()
    http.fail = [503, 503]
    rig = AlertRig(rules, tmp_path, f"alerts:\n  - type: webhook\n    name: ops\n    url: {http.url}/x\n")
    seen: list[tuple[str, bool, int]] = []

    def watch(notice: Notice) -> None:  # called after the reducer ran: what the state says with each notice
        if notice.kind in (ALERT_FAILED, ALERT_RECOVERED):
            sink = rig.engine.fleet.sinks["ops"]
            seen.append((notice.event, sink.failing, sink.attempts))

    rig.engine.subscribe(watch)
    try:
        rig.feed("lpar1", failing_run("lpar1", 2))
        wait_for(lambda: any(e == "alert_recovered" for e, _, _ in seen), what="the sink to deliver again")
        assert seen[0] == ("alert_failed", True, 1)
        assert seen[-1] == ("alert_recovered", False, 0)
        sink = rig.engine.fleet.sinks["ops"]
        assert (sink.failing_since, sink.last_error, sink.next_try) == (None, "", None)
        assert rig.engine.fleet.failing == []
        recovered = [n for n in rig.published.items if n.kind is ALERT_RECOVERED]
        assert recovered and recovered[0].get("sink") == "ops" and recovered[0].get("failing_since")
        assert 'nimwatch_alert_sink_failing{sink="ops"} 0' in render(rig.engine)
        assert "alert_recovered" in [n.event for n in rig.out]  # a JSON line of watch, like alert_failed
    finally:
        rig.close()
        http.close()


def test_a_failing_sink_is_shown_under_the_status_table() -> None:
    fleet = FleetState()
    fleet.apply(SinkFailed("ops", "webhook", "HTTP 503", 4, 2, 1_700_000_060.0), 1_700_000_000.0)
    text = render_table([], 120, sinks=fleet.failing)
    assert "alert sink ops (webhook) failing: 4 alert(s) pending after 2 failed tries: HTTP 503" in text


def _writes_outside_the_reducer(path: Path) -> list[str]:
    """Assignments into a run's ``hooks`` or the fleet's ``sinks`` (``x.hooks[k] = ...``), or to ``x.fleet``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[ast.expr] = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Attribute) and owner.attr in ("hooks", "sinks") and node.func.attr in (
                "pop", "clear", "update", "setdefault", "popitem",
            ):  # fmt: skip
                found.append(f"{path}:{node.lineno}")
        for target in targets:
            owner = target.value if isinstance(target, ast.Subscript) else None
            if isinstance(owner, ast.Attribute) and owner.attr in ("hooks", "sinks"):
                found.append(f"{path}:{node.lineno}")
            if isinstance(target, ast.Attribute) and target.attr == "fleet" and _engine_fleet(node, target):
                found.append(f"{path}:{node.lineno}")
    return found


def _engine_fleet(node: ast.AST, target: ast.Attribute) -> bool:
    """``engine.fleet = ...`` or ``... = FleetState()`` (the TUI's own ``fleet`` rows are another thing)."""
    value = getattr(node, "value", None)
    made = isinstance(value, ast.Call) and getattr(value.func, "id", "") == "FleetState"
    owner = target.value
    named = (isinstance(owner, ast.Name) and owner.id == "engine") or (
        isinstance(owner, ast.Attribute) and owner.attr == "engine"
    )
    return made or named


def test_only_the_reducer_writes_hook_results_and_sink_states() -> None:
    reducer = NIMWATCH / "core" / "state.py"
    outside = [hit for p in sorted(NIMWATCH.rglob("*.py")) if p != reducer for hit in _writes_outside_the_reducer(p)]
    assert outside == [f"{NIMWATCH / 'engine.py'}:{_fleet_line()}"]  # the engine makes the (empty) fleet state once
    assert _writes_outside_the_reducer(reducer)  # the scan does see the reducer's own writes
    for record in (HookOutcome, SinkState):  # what views are handed cannot be changed in place
        assert record.__dataclass_params__.frozen, record
        assert dataclasses.is_dataclass(record)


def _fleet_line() -> int:
    lines = (NIMWATCH / "engine.py").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if "self.fleet = FleetState()" in line)
