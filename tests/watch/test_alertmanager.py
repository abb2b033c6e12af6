"""The alertmanager sink against a real Alertmanager (Debian's prometheus-alertmanager) started here.

Alertmanager runs on a free port with a temporary config and storage, and
routes to an HTTP receiver of ours with ``send_resolved``: the test sees the
alerts through Alertmanager's own API and its notifications, firing then
resolved when the client's next run succeeds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nimwatch.core.rules import RuleSet

from .servers import HttpReceiver, free_port
from .test_sinks import AlertRig
from .watchkit import failing_run, running_run, success_run, wait_for

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read() or b"null")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/-/ready", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, HttpReceiver]]:
    if BINARY is None:
        pytest.skip("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)")
    receiver = HttpReceiver()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        f"""
route:
  receiver: nimwatch-test
  group_by: [alertname, client]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: nimwatch-test
    webhook_configs:
      - url: {receiver.url}/am
        send_resolved: true
"""
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "alertmanager.log", "wb")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: proc.poll() is not None or _ready(url), timeout=30, what="alertmanager to be ready")
        if proc.poll() is not None:
            pytest.fail(f"alertmanager exited: {(tmp_path / 'alertmanager.log').read_text()[-2000:]}")
        yield url, receiver
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        receiver.close()


def _active(url: str, client: str) -> list[dict[str, Any]]:
    return [a for a in _get(url + "/api/v2/alerts") if a["labels"].get("client") == client]


def test_alerts_fire_with_labels_and_resolve_when_the_next_run_succeeds(
    rules: RuleSet, tmp_path: Path, alertmanager: tuple[str, HttpReceiver]
) -> None:
    url, receiver = alertmanager
    rig = AlertRig(
        rules,
        tmp_path,
        f"alerts:\n  - type: alertmanager\n    url: {url}\n    labels: {{team: aix}}\n    severity: error\n"
        f"  - type: alertmanager\n    name: custom\n    url: {url}\n    labels: {{team: custom}}\n"
        f"    severity: warning\n    severity_labels: {{error: page, warning: ticket}}\n",
    )
    try:
        rig.feed("lpar1", failing_run("lpar1", 2))
        rig.feed("db1", failing_run("db1", 1))
        expected = [n for n in rig.expected("error") if n.client == "lpar1"]
        custom = [n for n in rig.expected("warning") if n.client == "lpar1"]

        def aix_team() -> list[dict[str, Any]]:
            return [a for a in _active(url, "lpar1") if a["labels"]["team"] == "aix"]

        wait_for(lambda: len(_active(url, "lpar1")) == len(expected) + len(custom), what="lpar1's alerts")
        alerts = {a["labels"]["alertname"]: a for a in aix_team()}
        failed = alerts["NimadmRunFailed"]
        assert failed["labels"] == {
            "alertname": "NimadmRunFailed",
            "client": "lpar1",
            "phase": "2",
            "severity": "critical",  # nimwatch's error, in the words Alertmanager routes match on
            "team": "aix",
        }
        assert failed["annotations"]["nimwatch_severity"] == "error"
        assert {a["labels"]["severity"] for a in aix_team()} == {"critical"}
        mapped = {
            a["annotations"]["nimwatch_severity"]: a["labels"]["severity"]
            for a in _active(url, "lpar1")
            if a["labels"]["team"] == "custom"
        }
        assert mapped["error"] == "page"
        assert mapped.get("warning", "ticket") == "ticket"
        assert failed["status"]["state"] == "active"
        assert failed["annotations"]["summary"].startswith("lpar1: migration failed in phase 2")
        finding = alerts["NimadmFinding"]
        assert finding["labels"]["rule"] and finding["labels"]["phase"] == "2"
        assert finding["annotations"]["advice"]
        wait_for(
            lambda: any(b.get("status") == "firing" for b in receiver.bodies()), what="the firing notification"
        )

        rig.feed("lpar1", running_run("lpar1", 3))  # a new run: nothing resolves until it succeeds
        rig.dispatcher.wait_idle(10)
        assert len(aix_team()) == len(expected)
        rest = success_run("lpar1")[len(running_run("lpar1", 3)) :]  # phases 4-12 and the good clean-up
        rig.feed("lpar1", rest)
        wait_for(lambda: _active(url, "lpar1") == [], what="lpar1's alerts to be resolved")
        assert len(_active(url, "db1")) >= 1  # another client's failure stays
        wait_for(
            lambda: any(
                b.get("status") == "resolved" and b.get("commonLabels", {}).get("client") == "lpar1"
                for b in receiver.bodies()
            ),
            what="Alertmanager's resolved notification",
        )
    finally:
        rig.close()


def test_a_sink_that_delivers_again_resolves_the_alert_about_it(
    rules: RuleSet, tmp_path: Path, alertmanager: tuple[str, HttpReceiver]
) -> None:
    url, _ = alertmanager
    webhook = HttpReceiver()
    webhook.fail = [503] * 10_000  # failing until the test lets it deliver
    rig = AlertRig(
        rules,
        tmp_path,
        f"alerts:\n  - type: webhook\n    name: ops\n    url: {webhook.url}/x\n"
        f"  - type: alertmanager\n    name: am\n    url: {url}\n    events: [alert_failed]\n",
    )

    def about_ops() -> list[dict[str, Any]]:
        return [
            a
            for a in _get(url + "/api/v2/alerts")
            if a["labels"].get("alertname") == "NimwatchAlertFailed" and a["labels"].get("rule") == "ops"
        ]

    try:
        rig.feed("lpar1", failing_run("lpar1", 2))
        wait_for(lambda: len(about_ops()) == 1, what="Alertmanager's alert about the failing webhook")
        assert about_ops()[0]["status"]["state"] == "active"
        with webhook._lock:
            webhook.fail = []
        wait_for(lambda: webhook.bodies() != [], what="the webhook to deliver again")
        wait_for(lambda: about_ops() == [], what="the alert about the webhook to be resolved")
        assert rig.engine.fleet.failing == []
    finally:
        rig.close()
        webhook.close()
