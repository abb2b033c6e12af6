"""Alert sinks against real receivers on 127.0.0.1: syslog (UDP and unix socket), HTTP, SMTP, a command.

Alerts come from real logs through the whole headless path: tailer, engine,
recorder (journal), dispatcher (spool, worker threads, backoff).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import sys
from pathlib import Path
from typing import Optional

import pytest
from helpers import spool_keys

from nimwatch.alerts.dispatcher import AlertDispatcher, backoff_delay
from nimwatch.alerts.message import rank, severity_of, summary
from nimwatch.config import load_config
from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine, Notice
from nimwatch.journal import Journal
from nimwatch.recorder import Recorder
from nimwatch.sources.tail import Tailer

from .servers import DatagramReceiver, HttpReceiver, SmtpServer, free_port, self_signed_cert
from .watchkit import Collector, append, failing_run, success_run, wait_for

SECRET = "s3cret-Pa55word"


class AlertRig:
    """The headless path from a log directory to the sinks of ``config_text``."""

    def __init__(self, rules: RuleSet, tmp_path: Path, config_text: str, state: Optional[Path] = None) -> None:
        cfg = tmp_path / "nimwatch.yaml"
        cfg.write_text(config_text)
        cfg.chmod(0o600)
        self.config = load_config(cfg)
        self.journal = Journal.open(state or tmp_path / "state.db")
        self.engine = Engine(rules)
        self.errors: list[str] = []
        self.out: list[Notice] = []
        self.published = Collector(self.engine)
        self.dispatcher = AlertDispatcher(
            self.config.alerts,
            self.journal,
            self.engine.report,
            on_error=self.errors.append,
            backoff_base=0.05,
            backoff_max=0.2,
        )
        self.recorder = Recorder(self.engine, self.journal, forward=self.out.append, planner=self.dispatcher.plan)
        self.logs = tmp_path / "logs"
        self.logs.mkdir(exist_ok=True)
        self.tailer = Tailer(self.engine, [self.logs], sink=self.recorder)
        self.dispatcher.start()

    def feed(self, client: str, text: str) -> None:
        append(self.logs / f"{client}_alt_mig.log", text)
        self.tailer.scan_once()

    def expected(self, minimum: str = "warning", events: tuple[str, ...] = ("finding", "stalled", "run_finished")) -> list[Notice]:
        return [n for n in self.out if n.event in events and rank(severity_of(n)) >= rank(minimum)]

    def close(self) -> None:
        self.dispatcher.stop()
        self.tailer.stop()
        self.recorder.close()
        self.journal.close()


def test_syslog_udp_rfc5424(rules: RuleSet, tmp_path: Path) -> None:
    receiver = DatagramReceiver.udp()
    rig = AlertRig(rules, tmp_path, f"alerts:\n  - type: syslog\n    address: {receiver.address}\n    facility: local3\n")
    try:
        rig.feed("lpar1", failing_run("lpar1", 2))
        expected = rig.expected()
        assert len(expected) >= 3
        wait_for(lambda: len(receiver.received()) == len(expected), what="one datagram per alert")
        pattern = re.compile(
            rb'^<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ nimwatch \d+ (\w+) \[nimwatch@32473 [^\]]*\] \xef\xbb\xbf(.+)$'
        )
        for data, notice in zip(receiver.received(), expected):
            m = pattern.match(data)
            assert m, data
            pri, msgid, message = int(m.group(1)), m.group(2).decode(), m.group(3).decode()
            assert pri == 19 * 8 + 3  # local3, err
            assert msgid == notice.event
            assert b'client="lpar1"' in data and message.startswith("lpar1: ")
            assert len(data) <= 2048
    finally:
        rig.close()
        receiver.close()


def test_syslog_unix_socket(rules: RuleSet, tmp_path: Path) -> None:
    path = tmp_path / "log.sock"
    receiver = DatagramReceiver.unix(path)
    rig = AlertRig(rules, tmp_path, f"alerts:\n  - type: syslog\n    socket: {path}\n    severity: error\n")
    try:
        rig.feed("lpar1", failing_run("lpar1", 1))
        expected = rig.expected("error")
        wait_for(lambda: len(receiver.received()) == len(expected), what="the error alerts")
        for data, notice in zip(receiver.received(), expected):  # the local form: <PRI>TAG[PID]: MSG
            assert data.startswith(f"<27>nimwatch[{os.getpid()}]: lpar1: ".encode()), data  # daemon, err
            assert len(data) <= 900 and summary(notice).encode() in data
    finally:
        rig.close()
        receiver.close()


def test_webhook_posts_each_alert_once_with_headers_from_env(
    rules: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    http = HttpReceiver()
    rig = AlertRig(
        rules,
        tmp_path,
        f"""alerts:
  - type: webhook
    url: {http.url}/hooks/T0/secret-path
    headers: {{Authorization: {{env: HOOK_TOKEN}}, X-Team: aix}}
    clients: ["lpar*"]
""",
    )
    try:
        rig.feed("lpar1", failing_run("lpar1", 1))
        rig.feed("db1", failing_run("db1", 1))  # filtered out by clients
        rig.feed("lpar2", success_run("lpar2"))  # nothing at warning or above
        expected = [n for n in rig.expected() if n.client == "lpar1"]
        wait_for(lambda: len(http.bodies()) == len(expected), what="the webhook posts")
        bodies = http.bodies()
        assert [b["event"] for b in bodies] == [n.event for n in expected]
        assert len({b["id"] for b in bodies}) == len(bodies)
        assert all(b["client"] == "lpar1" and b["summary"].startswith("lpar1: ") for b in bodies)
        assert bodies[-1]["outcome"] == "failed" and bodies[-1]["severity"] == "error"
        headers = http.requests[0]["headers"]
        assert headers["Authorization"] == SECRET and headers["X-Team"] == "aix"
        assert http.requests[0]["path"] == "/hooks/T0/secret-path"
        rig.dispatcher.wait_idle(5)
        assert rig.dispatcher.pending() == {}
    finally:
        rig.close()
        http.close()


def test_webhook_outage_retries_with_backoff_reports_alert_failed_and_loses_nothing(
    rules: RuleSet, tmp_path: Path
) -> None:
    http = HttpReceiver()
    http.fail = [503, 503, 503]
    rig = AlertRig(rules, tmp_path, f"alerts:\n  - type: webhook\n    name: hook\n    url: {http.url}/x\n")
    try:
        rig.feed("lpar1", failing_run("lpar1", 1))
        expected = rig.expected()
        wait_for(lambda: len(http.bodies()) == len(expected), what="every alert after the outage")
        assert [b["event"] for b in http.bodies()] == [n.event for n in expected]  # order kept
        failed = rig.published.events("alert_failed")
        assert failed and failed[0].get("sink") == "hook" and failed[0].get("pending") == len(expected)
        assert "HTTP 503" in failed[0].get("error")
        assert any("alert sink hook" in e and "next try in" in e for e in rig.errors)
        assert any("delivering again" in e for e in rig.errors)
        assert [n.event for n in rig.out if n.event == "alert_failed"]  # printed like any public notice
    finally:
        rig.close()
        http.close()


def test_a_rejected_alert_is_dropped_and_reported(rules: RuleSet, tmp_path: Path) -> None:
    http = HttpReceiver()
    http.fail = [400]
    rig = AlertRig(rules, tmp_path, f"alerts:\n  - type: webhook\n    name: hook\n    url: {http.url}/x\n")
    try:
        rig.feed("lpar1", failing_run("lpar1", 1))
        expected = rig.expected()
        wait_for(lambda: len(http.bodies()) == len(expected) - 1, what="the other alerts")
        wait_for(lambda: rig.published.events("alert_failed"), what="the rejection report")
        assert rig.published.events("alert_failed")[0].get("rejected") is True
        assert len(spool_keys(rig.journal, "hook", "rejected")) == 1
    finally:
        rig.close()
        http.close()


def test_spooled_alerts_survive_a_restart_while_the_receiver_is_down(rules: RuleSet, tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet: connection refused
    config = f"alerts:\n  - type: webhook\n    name: hook\n    url: http://127.0.0.1:{port}/x\n"
    state = tmp_path / "state.db"
    rig = AlertRig(rules, tmp_path, config, state)
    rig.feed("lpar1", failing_run("lpar1", 1))
    expected = [n.event for n in rig.expected()]
    wait_for(lambda: rig.published.events("alert_failed"), what="the failure to be reported")
    rig.close()
    http = HttpReceiver(port)
    again = AlertRig(rules, tmp_path, config, state)
    try:
        again.tailer.scan_once()
        assert again.out == []  # nothing new in the log
        wait_for(lambda: len(http.bodies()) == len(expected), what="the spooled alerts")
        assert [b["event"] for b in http.bodies()] == expected
    finally:
        again.close()
        http.close()


def test_dedupe_key_and_throttle(rules: RuleSet, tmp_path: Path) -> None:
    http = HttpReceiver()
    rig = AlertRig(
        rules,
        tmp_path,
        f"""alerts:
  - type: webhook
    url: {http.url}/x
    events: [run_finished]
    dedupe_key: "{{client}}:{{outcome}}"
""",
    )
    try:
        rig.feed("lpar1", failing_run("lpar1", 1))
        rig.feed("lpar1", failing_run("lpar1", 1))  # a re-run appended, failing again: same key
        rig.feed("lpar2", failing_run("lpar2", 1))
        assert len([n for n in rig.out if n.event == "run_finished"]) == 3
        rig.dispatcher.wait_idle(10)
        assert sorted(b["client"] for b in http.bodies()) == ["lpar1", "lpar2"]
    finally:
        rig.close()
        http.close()


def test_email_plain_relay(rules: RuleSet, tmp_path: Path) -> None:
    smtp = SmtpServer()
    rig = AlertRig(
        rules,
        tmp_path,
        f"""alerts:
  - type: email
    host: 127.0.0.1
    port: {smtp.port}
    tls: none
    from: nimwatch@nim01.example.com
    to: [aix@example.com]
    events: [run_finished]
""",
    )
    try:
        rig.feed("lpar1", failing_run("lpar1", 1))
        wait_for(lambda: smtp.messages, what="the mail")
        envelope = smtp.messages[0]
        assert envelope.rcpt_tos == ["aix@example.com"]
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert str(message["Subject"]).strip().startswith("[nimwatch] lpar1: migration failed in phase 1")
        text = message.get_content()
        assert text.startswith("lpar1: migration failed in phase 1")
        assert "outcome:     failed" in text and '"outcome": "failed"' in text
    finally:
        rig.close()
        smtp.close()


def test_email_starttls_and_login_with_password_from_env(
    rules: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = self_signed_cert(tmp_path)
    if cert is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    smtp = SmtpServer(cert, login=("nimwatch", SECRET))
    config = f"""alerts:
  - type: email
    host: 127.0.0.1
    port: {smtp.port}
    from: nimwatch@nim01.example.com
    to: aix@example.com
    username: nimwatch
    password_env: SMTP_PASSWORD
    ca_file: {cert[0]}
    severity: error
"""
    rig = AlertRig(rules, tmp_path, config)
    try:
        rig.feed("lpar1", failing_run("lpar1", 1))
        wait_for(lambda: len(smtp.messages) == len(rig.expected("error")), what="the mails over STARTTLS")
        assert smtp.logins[0] == ("nimwatch", SECRET)
    finally:
        rig.close()
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-" + SECRET)
    (tmp_path / "again").mkdir()
    bad = AlertRig(rules, tmp_path / "again", config)
    try:
        bad.feed("lpar2", failing_run("lpar2", 1))
        wait_for(lambda: bad.published.events("alert_failed"), what="the login failure report")
        error = str(bad.published.events("alert_failed")[0].get("error"))
        assert "535" in error or "Authentication" in error
        assert all(SECRET not in e for e in bad.errors) and SECRET not in error
    finally:
        bad.close()
        smtp.close()


def test_email_refuses_an_unverified_certificate(rules: RuleSet, tmp_path: Path) -> None:
    cert = self_signed_cert(tmp_path)
    if cert is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    smtp = SmtpServer(cert)
    rig = AlertRig(
        rules,
        tmp_path,
        f"alerts:\n  - type: email\n    host: 127.0.0.1\n    port: {smtp.port}\n    from: a@b.c\n    to: d@e.f\n",
    )
    try:
        rig.feed("lpar1", failing_run("lpar1", 1))
        wait_for(lambda: rig.published.events("alert_failed"), what="the TLS failure")
        assert "CERTIFICATE_VERIFY_FAILED" in str(rig.published.events("alert_failed")[0].get("error"))
        assert smtp.messages == []
    finally:
        rig.close()
        smtp.close()


def test_command_sink_gets_json_and_env_and_failures_retry(rules: RuleSet, tmp_path: Path) -> None:
    out = tmp_path / "calls"
    out.mkdir()
    script = tmp_path / "page.py"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys, uuid\n"
        f"flag = {str(tmp_path / 'fail-once')!r}\n"
        "if os.path.exists(flag):\n    os.unlink(flag)\n    print('pager down'); sys.exit(3)\n"
        "body = json.load(sys.stdin)\n"
        f"path = os.path.join({str(out)!r}, uuid.uuid4().hex)\n"
        "with open(path + '.tmp', 'w') as handle:\n"
        "    json.dump({'body': body, 'argv': sys.argv[1:], 'env': {k: v for k, v in os.environ.items() if k.startswith('NIMWATCH_')}}, handle)\n"
        "os.replace(path + '.tmp', path)  # the test sees the file only once it is whole\n"
    )
    script.chmod(0o755)
    (tmp_path / "fail-once").write_text("")
    rig = AlertRig(rules, tmp_path, f"alerts:\n  - type: command\n    run: [{script}, --team, aix]\n    events: [run_finished]\n")
    try:
        rig.feed("lpar1", failing_run("lpar1", 1))
        wait_for(lambda: [p for p in out.iterdir() if not p.name.endswith(".tmp")], what="the command to succeed on its retry")
        (call,) = [json.loads(p.read_text()) for p in out.iterdir() if not p.name.endswith(".tmp")]
        assert call["argv"] == ["--team", "aix"]
        assert call["body"]["outcome"] == "failed"
        assert call["env"]["NIMWATCH_CLIENT"] == "lpar1" and call["env"]["NIMWATCH_OUTCOME"] == "failed"
        assert call["env"]["NIMWATCH_EVENT"] == "run_finished"
        assert any("exited 3: pager down" in e for e in rig.errors)
    finally:
        rig.close()


def test_backoff_doubles_up_to_the_ceiling() -> None:
    assert [backoff_delay(n, 2.0, 60.0) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_secrets_never_appear_in_messages(rules: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    port = free_port()
    rig = AlertRig(
        rules,
        tmp_path,
        f"alerts:\n  - type: webhook\n    url: http://user:{SECRET}@127.0.0.1:{port}/t/{SECRET}?k={SECRET}\n"
        "    headers: {Authorization: {env: HOOK_TOKEN}}\n",
    )
    try:
        rig.feed("lpar1", failing_run("lpar1", 1))
        wait_for(lambda: rig.published.events("alert_failed"), what="the failure")
        texts = [*rig.errors, *(json.dumps(n.as_json()) for n in rig.published.events("alert_failed"))]
        assert texts and all(SECRET not in t for t in texts)
        assert any(f"http://127.0.0.1:{port}" in t for t in texts)
    finally:
        rig.close()


def test_environment_cleanup() -> None:
    assert "SMTP_PASSWORD" not in os.environ


def test_every_sink_type_of_the_config_builds_its_own_sink_class() -> None:
    """Each type the config accepts names a module and a ``Sink`` class that exist, one class per type."""
    import importlib

    from nimwatch.alerts.dispatcher import _SINK_CLASSES
    from nimwatch.alerts.sink import Sink
    from nimwatch.config.alerts import SINK_TYPES

    assert sorted(_SINK_CLASSES) == sorted(SINK_TYPES)
    classes = [getattr(importlib.import_module(module), name) for module, name in _SINK_CLASSES.values()]
    assert all(issubclass(cls, Sink) for cls in classes) and len(set(classes)) == len(classes)
