"""The real engine over the sample logs with a HookManager subscribed, as ``watch`` wires them:
exactly the matching hooks run, once each, and their results come back through the engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine, Notice
from nimwatch.hooks.manager import HookManager, MemoryOnceStore

from .hookkit import Kit

SAMPLES = Path(__file__).resolve().parents[2] / "sample_logs"
NASTY = "a;b$(touch pwned)'\""


def test_engine_notices_fire_exactly_the_matching_hooks(kit: Kit, rules: RuleSet) -> None:
    fail, clean = SAMPLES / "fail6inst_alt_mig.log", SAMPLES / "web73_alt_mig.log"
    if not fail.is_file() or not clean.is_file():
        pytest.skip("sample_logs/fail6inst_alt_mig.log or web73_alt_mig.log is missing")
    logs = kit.tmp / "logs"
    logs.mkdir()
    paths = [logs / "fail6inst_alt_mig.log", logs / "web73_alt_mig.log", logs / f"{NASTY}_alt_mig.log"]
    for src, dst in zip((fail, clean, clean), paths):
        shutil.copy(src, dst)
    rec = str(kit.recorder)
    hooks = [
        kit.spec("pre", on=("pre_migration",), run=(rec, "pre", "{client}", "{phase}")),
        kit.spec("post", on=("post_migration",), run=(rec, "post", "{client}", "{phase}")),
        kit.spec("failed", on=("run_failed",), run=(rec, "failed", "{client}", "{phase}", "{outcome}")),
        kit.spec("ok", on=("run_succeeded",), clients=("web*",), run=(rec, "ok", "{client}")),
        kit.spec(
            "space",
            on=("finding",),
            severity="error",
            codes=frozenset({"0503-008"}),
            run=(rec, "space", "{client}", "{code}", "{line}"),
        ),
    ]
    engine = Engine(rules, clock=lambda: 1_700_000_000.0)
    seen: list[Notice] = []
    engine.subscribe(seen.append)
    store = MemoryOnceStore()
    manager = HookManager(hooks, engine.report, store)
    kit.managers.append(manager)
    engine.subscribe(manager.handle)
    for path in paths:
        engine.feed(str(path), path.read_bytes())
        engine.close(str(path))
    assert manager.wait_idle(60)
    calls = sorted(tuple(r["argv"][1:]) for r in kit.records())
    assert calls == sorted(
        [
            ("pre", "fail6inst", "4"),
            ("pre", "web73", "4"),
            ("pre", NASTY, "4"),
            ("post", "web73", "7"),
            ("post", NASTY, "7"),
            ("failed", "fail6inst", "6", "failed"),
            ("ok", "web73"),
            ("space", "fail6inst", "0503-008", "1403"),
        ]
    )
    results = [n for n in seen if n.event == "hook_result"]
    assert len(results) == len(calls) and all(r.fields["exit_status"] == 0 for r in results)
    assert not list(kit.tmp.rglob("pwned"))

    # the same logs read again by a restarted watcher (same once-store): nothing fires twice
    engine2 = Engine(rules)
    manager2 = HookManager(hooks, engine2.report, store)
    kit.managers.append(manager2)
    engine2.subscribe(manager2.handle)
    for path in paths:
        engine2.feed(str(path), path.read_bytes())
        engine2.close(str(path))
    assert manager2.wait_idle(60)
    assert len(kit.records()) == len(calls)
