"""``nimwatch watch --once`` on issue 8's samples: healthy runs page nobody, clean-ups do not hide a failure.

A real ``watch`` subprocess and a real HTTP receiver on 127.0.0.1 (a webhook
sink with the default filters: severity warning, events finding / stalled /
run_finished). Each test has a control that does send, so a broken pipeline
cannot pass for silence.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .proc import ROOT, run_once
from .servers import HttpReceiver

SAMPLES = ROOT / "sample_logs"
HEALTHY = ("noisy73", "web73", "app72", "dbprod61", "big6", "ticket07", "cleanup03", "wakeup05")


def webhook_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    config = tmp_path / "nimwatch.yaml"
    config.write_text(f"alerts:\n  - type: webhook\n    url: {url}/hook\n{extra}")
    config.chmod(0o600)
    return config


def copy_logs(tmp_path: Path, *clients: str) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    for client in clients:
        shutil.copy(SAMPLES / f"{client}_alt_mig.log", logs)
    return logs


def test_default_alert_settings_send_nothing_for_healthy_runs(tmp_path: Path) -> None:
    receiver = HttpReceiver()
    try:
        config = webhook_config(tmp_path, receiver.url)
        logs = copy_logs(tmp_path, *HEALTHY)
        done = run_once([str(logs)], config, tmp_path / "state.db", tmp_path)
        assert done.returncode == 0, done.stderr
        events = [json.loads(line) for line in done.stdout.splitlines()]
        findings = [e for e in events if e["event"] == "finding"]
        assert findings and all(e["severity"] == "info" for e in findings)  # routine lines were seen...
        assert receiver.bodies() == []  # ...and paged nobody
        # control: a failed run in the same watch sends its alerts through the same sink
        copy_logs(tmp_path, "instfail12")
        done = run_once([str(logs)], config, tmp_path / "state.db", tmp_path)
        assert done.returncode == 1, done.stderr
        bodies = receiver.bodies()
        assert bodies and {b["client"] for b in bodies} == {"instfail12"}
        assert {"sysck-unknown-group", "installp-summary-failed"} <= {b.get("rule") for b in bodies}
        assert any(b["event"] == "run_finished" and b["outcome"] == "failed" for b in bodies)
    finally:
        receiver.close()


def test_benign_findings_are_sent_only_when_a_sink_asks_for_them(tmp_path: Path) -> None:
    quiet, chatty = HttpReceiver(), HttpReceiver()
    try:
        config = tmp_path / "nimwatch.yaml"
        config.write_text(
            f"alerts:\n"
            f"  - type: webhook\n    name: quiet\n    url: {quiet.url}/hook\n    severity: info\n    events: [finding]\n"
            f"  - type: webhook\n    name: chatty\n    url: {chatty.url}/hook\n    severity: info\n"
            f"    events: [finding]\n    benign: true\n    rate_limit: 0\n"
        )
        config.chmod(0o600)
        logs = copy_logs(tmp_path, "noisy73")
        done = run_once([str(logs)], config, tmp_path / "state.db", tmp_path)
        assert done.returncode == 0, done.stderr
        assert quiet.bodies() == []
        sent = chatty.bodies()
        assert sent and all(b["benign"] is True and b["severity"] == "info" for b in sent)
        assert {"src-fileset-script", "sysck-file-shared", "installp-reboot-notice"} <= {b["rule"] for b in sent}
    finally:
        quiet.close()
        chatty.close()


def test_a_clean_up_after_a_killed_migration_is_not_a_success(tmp_path: Path) -> None:
    receiver = HttpReceiver()
    try:
        config = webhook_config(tmp_path, receiver.url, "    events: [run_finished]\n    severity: info\n")
        logs = copy_logs(tmp_path, "killclean")
        done = run_once([str(logs)], config, tmp_path / "state.db", tmp_path)
        events = [json.loads(line) for line in done.stdout.splitlines()]
        finished = [(e["run"], e["operation"], e["outcome"]) for e in events if e["event"] == "run_finished"]
        assert finished == [(1, "migration", "incomplete"), (2, "cleanup", "succeeded")]
        summaries = [b["summary"] for b in receiver.bodies()]
        assert summaries == [
            "killclean: migration incomplete: a new run started in the same log",
            "killclean: clean-up (nimadm -C) succeeded; nothing migrated",
        ]
    finally:
        receiver.close()
