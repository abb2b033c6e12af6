"""The shipped fleet configuration (examples/prometheus/) passes Prometheus' and Alertmanager's own checks.

``promtool check config``/``check rules``/``test rules``, ``amtool
check-config`` and ``amtool config routes test`` run on the files as
shipped; the rule tests are shown to be able to fail; the inhibition is
tried on a real Alertmanager; and what ``nimwatch watch`` really exports
passes ``promtool check metrics`` and holds every metric the rules, the fleet
view and the README name (and nothing the README does not document).
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from watch.proc import run_once
from watch.watchkit import failing_run, running_run, success_run

from nimwatch.core.history import HistoryRecord
from nimwatch.history_store import store_records

from .fleetkit import (
    AMTOOL,
    DEADLINE,
    EXAMPLES,
    PROMTOOL,
    alertmanager,
    get_json,
    need,
    post_json,
    wait_for,
)

RULES = EXAMPLES / "nimwatch.rules.yml"
RULE_TESTS = EXAMPLES / "nimwatch.rules.test.yml"
AM_CONFIG = EXAMPLES / "alertmanager.yml"
ALERTS = (
    "NimadmMigrationFailed",
    "NimadmClientStalled",
    "NimadmPhaseSlow",
    "NimwatchDown",
    "NimwatchHeartbeatStale",
    "NimwatchTextfileStale",
)


def run(argv: list[str], cwd: Path = EXAMPLES) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_promtool_check_rules() -> None:
    done = run([need(PROMTOOL, "prometheus"), "check", "rules", str(RULES)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in done.stdout


def test_every_alert_is_in_the_rules_and_fired_by_a_test() -> None:
    rules, tests = RULES.read_text(), RULE_TESTS.read_text()
    for name in ALERTS:
        assert f"- alert: {name}\n" in rules
        assert f"alertname: {name}\n" in tests, f"{name} is never expected to fire"
        assert f"alertname: {name}, exp_alerts: []" in tests, f"{name} is never checked to stay quiet"


def test_promtool_test_rules() -> None:
    done = run([need(PROMTOOL, "prometheus"), "test", "rules", str(RULE_TESTS)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize(
    ("weaken", "failing"),
    [
        ('and on (instance, job, client) nimwatch_outcome{outcome="running"} == 1', "phase slower than its history"),
        ("unless on (instance, job) nimwatch_up == 0", "watcher stopped cleanly"),
        ('or up{job="nimwatch"} == 0', "dead watcher on /metrics"),
        ("for: 2m", "stalled run"),
    ],
)
def test_the_rule_tests_can_fail(tmp_path: Path, weaken: str, failing: str) -> None:
    """Each guard in the rules is needed: drop it and the unit tests say which case broke."""
    rules = RULES.read_text()
    assert weaken in rules
    (tmp_path / RULES.name).write_text(rules.replace(weaken, "", 1))
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    done = run([need(PROMTOOL, "prometheus"), "test", "rules", RULE_TESTS.name], cwd=tmp_path)
    assert done.returncode != 0
    assert f"name: {failing}" in done.stdout + done.stderr


def test_promtool_check_config() -> None:
    done = run([need(PROMTOOL, "prometheus"), "check", "config", "prometheus.yml"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_amtool_check_config() -> None:
    done = run([need(AMTOOL, "prometheus-alertmanager"), "check-config", str(AM_CONFIG)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 inhibit rules" in done.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (
            ["alertname=NimadmMigrationFailed", "master=nim01", "client=lpar1", "severity=critical"],
            "nim-oncall,nim-admins",
        ),
        (["alertname=NimadmRunFailed", "client=lpar1", "severity=error"], "nim-oncall,nim-admins"),
        (["alertname=NimadmClientStalled", "master=nim01", "client=lpar1"], "nim-admins"),
        (["alertname=NimadmPhaseSlow", "master=nim01", "client=lpar1"], "nim-admins"),
        (["alertname=NimadmFinding", "client=lpar1", "severity=warning"], "nim-admins"),
        (["alertname=NimwatchDown", "instance=nim01:9731"], "monitoring"),
        (["alertname=NimwatchHeartbeatStale", "instance=nim03:9100"], "monitoring"),
        (["alertname=NimwatchTextfileStale", "instance=nim03:9100"], "monitoring"),
        (["alertname=SomethingElse"], "nim-admins"),
    ],
)
def test_amtool_routes(labels: list[str], receivers: str) -> None:
    amtool = need(AMTOOL, "prometheus-alertmanager")
    done = run(
        [amtool, "config", "routes", "test", f"--config.file={AM_CONFIG}", f"--verify.receivers={receivers}", *labels]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    wrong = run(
        [amtool, "config", "routes", "test", f"--config.file={AM_CONFIG}", "--verify.receivers=nobody", *labels]
    )
    assert wrong.returncode != 0, "amtool accepts any receiver: the check above proves nothing"


def _alert(name: str, **labels: str) -> dict[str, object]:
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": name},
        "startsAt": now.isoformat(),
        "endsAt": (now + datetime.timedelta(hours=1)).isoformat(),
    }


def test_a_dead_watcher_silences_its_clients_stalls_in_a_real_alertmanager(tmp_path: Path) -> None:
    """The shipped inhibition: nim03's watcher is stale, so its stalls are suppressed; nim01's are not."""
    dead = {"instance": "nim03:9100", "job": "node", "master": "nim03"}
    live = {"instance": "nim01:9731", "job": "nimwatch", "master": "nim01"}
    with alertmanager(tmp_path, AM_CONFIG) as url:
        alerts = [
            _alert("NimwatchHeartbeatStale", severity="warning", **dead),
            _alert("NimadmClientStalled", client="db1", severity="warning", **dead),
            _alert("NimadmPhaseSlow", client="db2", severity="warning", **dead),
            _alert("NimadmMigrationFailed", client="db3", severity="critical", outcome="failed", **dead),
            _alert("NimadmClientStalled", client="lpar3", severity="warning", **live),
        ]
        assert post_json(url + "/api/v2/alerts", alerts) == 200

        def states() -> dict[str, str]:
            got = get_json(url + "/api/v2/alerts")
            return {a["labels"].get("client", a["labels"]["alertname"]): a["status"]["state"] for a in got}

        want = {
            "NimwatchHeartbeatStale": "active",
            "db1": "suppressed",
            "db2": "suppressed",
            "db3": "active",
            "lpar3": "active",
        }
        wait_for(lambda: states() == want, timeout=DEADLINE, what=f"alert states {want}")
        inhibited = {a["labels"].get("client"): a["status"]["inhibitedBy"] for a in get_json(url + "/api/v2/alerts")}
        assert inhibited["db1"] and inhibited["db2"] and not inhibited["db3"] and not inhibited["lpar3"]


def exported(tmp_path: Path) -> str:
    """What a real ``nimwatch watch --once`` writes into its textfile: a failed, a finished and two running
    clients, one of them with a history of four succeeded and one failed run."""
    logs = tmp_path / "logs"
    logs.mkdir()
    for client, text in (
        ("lpar1", running_run("lpar1", 6)),
        ("lpar2", failing_run("lpar2", 2)),
        ("web1", success_run("web1")),
        ("db1", running_run("db1", 3)),
    ):
        (logs / f"{client}_alt_mig.log").write_text(text)
    state = tmp_path / "state.db"
    store_records(
        state,
        [
            HistoryRecord(
                client="lpar1", outcome=o, started_at=float(i), mode="cache", phases=dict.fromkeys(range(1, 13), 90.0)
            )
            for i, o in enumerate(["succeeded"] * 4 + ["failed"])
        ],
    )
    prom = tmp_path / "nimwatch.prom"
    config = tmp_path / "nimwatch.yaml"
    config.write_text(f"metrics:\n  textfile: {prom}\n")
    done = run_once([str(logs)], config, state, tmp_path)
    assert done.returncode == 1, done.stderr  # lpar2 failed
    return prom.read_text()


def test_what_nimwatch_exports_passes_promtool_check_metrics(tmp_path: Path) -> None:
    promtool = need(PROMTOOL, "prometheus")
    done = subprocess.run(
        [promtool, "check", "metrics"], input=exported(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "" and done.stderr.strip() == ""


def test_every_metric_named_anywhere_is_exported_and_documented(tmp_path: Path) -> None:
    from nimwatch.fleet import CLIENT_QUERIES, LAST_KNOWN_QUERIES, WATCHER_QUERIES

    text = exported(tmp_path)
    families = set(re.findall(r"^# TYPE (nimwatch_\w+) ", text, re.M))
    samples = set(re.findall(r"^(nimwatch_\w+)[{ ]", text, re.M))
    readme = (EXAMPLES / "README.md").read_text()
    documented = set(re.findall(r"^\| `(nimwatch_\w+)` \|", readme, re.M))
    assert families == documented, "the README's tables and the exposition differ"
    named = set(re.findall(r"\bnimwatch_\w+", RULES.read_text()))
    for table in (WATCHER_QUERIES, CLIENT_QUERIES, LAST_KNOWN_QUERIES):
        for expr in table.values():
            named.update(re.findall(r"\bnimwatch_\w+", expr))
    assert named <= samples, f"named but never exported: {sorted(named - samples)}"
    assert 'nimwatch_phase_p95_seconds{client="lpar1"} 210' in text, "p95 of 4 runs of 90 s: floored at 90 + 120 s"
    assert 'nimwatch_eta_basis_runs{basis="client",client="lpar1"} 4' in text
    # the history: the five stored runs, and lpar2 and web1 recorded as they finished (web1 untimed: all its
    # lines were there at start, so it does not count in the histogram)
    assert 'nimwatch_history_runs_total{outcome="failed"} 2' in text
    assert 'nimwatch_history_runs_total{outcome="succeeded"} 5' in text
    assert 'nimwatch_history_phase_duration_seconds_count{mode="cache",phase="6"} 4' in text
    assert 'nimwatch_history_phase_duration_seconds_bucket{mode="cache",phase="6",le="120"} 4' in text
    assert 'nimwatch_run_finished_timestamp_seconds{client="web1"}' in text
    assert 'nimwatch_eta_seconds{client="web1"}' not in text, "no ETA once a run finished"
