"""Flood limits: 20,000 unknown message numbers are not 20,000 events, webhook POSTs and hook runs.

Findings per run and per signature are capped in the events (so in alerts and hooks too), with
one ``findings_suppressed`` event per signature when the run ends; each alert sink has a
per-client rate limit whose held-back alerts are reported by one ``alerts_held`` alert.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nimwatch.config import check_config, load_config
from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine, FindingLimits
from nimwatch.journal import Journal

from .proc import run_once
from .servers import HttpReceiver
from .watchkit import banner, failing_run, preamble, wait_for

FLOOD = 20_000


def flood_log(client: str, lines: int = FLOOD) -> str:
    """A run that fails in phase 1 after ``lines`` lines with message numbers the catalog does not know."""
    noise = "".join(f"9999-{i % 1000:03d} step {i}: something odd happened\n" for i in range(lines))
    return preamble(client) + banner(1) + noise + failing_run(client, 1)[len(preamble(client)) + len(banner(1)) :]


def test_the_engine_caps_findings_per_rule_and_per_run_and_sums_up_the_rest(rules: RuleSet) -> None:
    engine = Engine(rules, limits=FindingLimits(per_run=500, per_rule=50))
    notices = engine.feed("/x/lpar1_alt_mig.log", flood_log("lpar1").encode(), at=0.0)
    findings = [n for n in notices if n.event == "finding"]
    by_rule: dict[str, int] = {}
    for n in findings:
        by_rule[str(n.get("rule"))] = by_rule.get(str(n.get("rule")), 0) + 1
    assert by_rule["unknown-message-code"] == 50
    assert any(n.get("fails_run") for n in findings)  # the failure that matters is never held back
    (suppressed,) = [n for n in notices if n.event == "findings_suppressed"]
    assert suppressed.get("rule") == "unknown-message-code" and suppressed.get("count") == FLOOD - 50
    assert suppressed.get("reason") == "per_rule" and suppressed.get("limit") == 50
    assert [n.event for n in notices if n.public][-2:] == ["findings_suppressed", "run_finished"]
    state = engine.logs["/x/lpar1_alt_mig.log"].current
    assert state is not None and state.finding_counts["warning"] >= FLOOD  # the state still counts them all


def test_the_per_run_limit_holds_many_different_rules(rules: RuleSet) -> None:
    engine = Engine(rules, limits=FindingLimits(per_run=10, per_rule=50))
    text = preamble("a") + banner(6) + "".join(f"0503-{i:03d} installp: odd\n" for i in range(40))
    notices = engine.feed("/x/a_alt_mig.log", text.encode(), at=0.0)
    assert len([n for n in notices if n.event == "finding"]) == 10
    notices = engine.close("/x/a_alt_mig.log", at=1.0)
    held = [n for n in notices if n.event == "findings_suppressed"]
    assert sum(int(n.get("count")) for n in held) == 30 and {n.get("reason") for n in held} == {"per_run"}


def test_watch_once_on_a_flood_sends_a_bounded_number_of_events_alerts_and_hook_runs(tmp_path: Path) -> None:
    http = HttpReceiver()
    marker = tmp_path / "hook-runs"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho \"$NIMWATCH_RULE\" >> {marker}\n")
    hook.chmod(0o755)
    config = tmp_path / "nimwatch.yaml"
    config.write_text(
        f"alerts:\n  - type: webhook\n    url: {http.url}/a\n"
        f"hooks:\n  - name: every-finding\n    on: [finding]\n    run: [{hook}]\n"
    )
    config.chmod(0o600)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "lpar1_alt_mig.log").write_text(flood_log("lpar1"))
    try:
        done = run_once([str(logs)], config, tmp_path / "state.db", tmp_path)
        assert done.returncode == 1, done.stderr
        events = [json.loads(line) for line in done.stdout.splitlines()]
        findings = [e for e in events if e["event"] == "finding"]
        assert 50 <= len(findings) <= 55
        (held,) = [e for e in events if e["event"] == "findings_suppressed"]
        assert held["count"] == FLOOD - 50 and held["rule"] == "unknown-message-code"
        assert len(marker.read_text().splitlines()) == len(findings)  # hooks see the capped events
        wait_for(lambda: any(b["event"] == "run_finished" for b in http.bodies()), what="the run's alert")
        bodies = http.bodies()
        assert [b["event"] for b in bodies].count("finding") == 20  # the sink's default rate limit
        (summary,) = [b for b in bodies if b["event"] == "alerts_held"]
        assert summary["count"] == len(findings) - 20 and summary["client"] == "lpar1"
        assert "rate limit" in done.stderr and "lpar1" in done.stderr
    finally:
        http.close()


def test_the_rate_limit_opens_again_in_the_next_period(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "state.db")
    try:
        take = [journal.rate_take("hook", "db1", t, 2, 60.0, exempt=False) for t in (0.0, 1.0, 2.0, 3.0)]
        assert [a for a, *_ in take] == [True, True, False, False]
        allowed, report, since, _ = journal.rate_take("hook", "db1", 61.0, 2, 60.0, exempt=False)
        assert (allowed, report, since) == (True, 2, 0.0)
        journal.rate_take("hook", "db1", 62.0, 2, 60.0, exempt=False)
        assert journal.rate_take("hook", "db1", 63.0, 2, 60.0, exempt=False)[:2] == (False, 0)
        assert journal.rate_take("hook", "db1", 64.0, 2, 60.0, exempt=True)[:2] == (True, 1)  # a run's end
        assert journal.rate_take("hook", "web2", 64.0, 2, 60.0, exempt=False)[0] is True  # per client
    finally:
        journal.close()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("limits:\n  findings_per_rule: 0\n", "limits.findings_per_rule: must be a whole number of findings"),
        ("limits:\n  findings_per_rul: 5\n", "limits.findings_per_rul: unknown key (did you mean 'findings_per_rule'?)"),
        ("limits: 5\n", "limits: must be a mapping"),
        ("alerts:\n  - type: syslog\n    socket: /dev/log\n    rate_limit: -1\n", "rate_limit: must be a whole number"),
        ("alerts:\n  - type: syslog\n    socket: /dev/log\n    rate_period: 0\n", "rate_period: must be a number above 0"),
    ],
)
def test_limit_keys_are_validated(tmp_path: Path, text: str, problem: str) -> None:
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text(text)
    cfg.chmod(0o600)
    (found,) = check_config(cfg)
    assert problem in found and f"{cfg}:" in found


def test_limit_keys_are_read(tmp_path: Path) -> None:
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text(
        "limits: {findings_per_run: 100, findings_per_rule: 5}\n"
        "alerts:\n  - type: syslog\n    socket: /dev/log\n    rate_limit: 0\n    rate_period: 600\n"
    )
    cfg.chmod(0o600)
    config = load_config(cfg)
    assert (config.limits.per_run, config.limits.per_rule) == (100, 5)
    assert (config.alerts[0].rate_limit, config.alerts[0].rate_period) == (0, 600.0)
