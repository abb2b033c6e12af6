"""Validation of ``alerts:`` and ``metrics:``: good configs load, each mistake names file:line:key."""

from __future__ import annotations

from pathlib import Path

import pytest

from nimwatch.config import check_config, load_config
from nimwatch.config.alerts import EmailOptions, HttpOptions, SyslogOptions
from nimwatch.errors import ConfigError
from nimwatch.metrics import MetricsConfig


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nimwatch.yaml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_a_full_alerts_section_loads(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("secret\n")
    path = write(
        tmp_path,
        """
alerts:
  - type: syslog
    address: 127.0.0.1:5514
    facility: local3
  - type: syslog
    name: local
    socket: /dev/log
  - type: email
    host: smtp.example.com
    from: nimwatch@example.com
    to: [aix-team@example.com, oncall@example.com]
    username: nimwatch
    password_file: pw
    severity: error
    clients: ["db*", "app?"]
  - type: webhook
    url: https://hooks.example.com/T000/B000/XXXX
    headers:
      Authorization: {env: HOOK_TOKEN}
      X-Team: aix
    events: [finding, stalled, run_finished, alert_failed]
    dedupe_key: "{client}/{rule}"
    throttle: 3600
  - type: alertmanager
    url: http://127.0.0.1:9093
    labels: {team: aix}
  - type: command
    run: [/bin/true, --flag]
    timeout: 5
metrics:
  textfile: nimwatch.prom
  listen: 127.0.0.1:9731
""",
    )
    config = load_config(path)
    names = [s.name for s in config.alerts]
    assert names == ["syslog-1", "local", "email-3", "webhook-4", "alertmanager-5", "command-6"]
    syslog = config.alerts[0].options
    assert isinstance(syslog, SyslogOptions) and syslog.address == ("127.0.0.1", 5514) and syslog.facility == 19
    email = config.alerts[2].options
    assert isinstance(email, EmailOptions) and email.port == 587 and email.tls == "starttls"
    assert email.password is not None and email.password.read() == "secret"
    assert "secret" not in repr(config.alerts[2])
    assert config.alerts[2].clients == ("db*", "app?") and config.alerts[2].severity == "error"
    hook = config.alerts[3]
    assert isinstance(hook.options, HttpOptions) and hook.throttle == 3600 and hook.dedupe_key == "{client}/{rule}"
    assert config.alerts[3].events[-1] == "alert_failed"
    assert config.metrics == MetricsConfig(tmp_path / "nimwatch.prom", ("127.0.0.1", 9731), 15.0)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("alerts: {type: webhook}", "alerts: must be a list of sinks"),
        ("alerts:\n  - url: http://x\n", "alerts[0].type: missing (required)"),
        ("alerts:\n  - type: webhok\n    url: http://x\n", "unknown sink type 'webhok' (did you mean 'webhook'?)"),
        ("alerts:\n  - type: webhook\n    url: http://x\n    thrrottle: 5\n", ":4: alerts[0].thrrottle: unknown key (did you mean 'throttle'?)"),
        ("alerts:\n  - type: webhook\n    url: ftp://x\n", ":3: alerts[0].url: must be an http:// or https:// URL"),
        ("alerts:\n  - type: webhook\n    url: http://x\n    severity: fatal\n", "alerts[0].severity: must be one of info, warning, error"),
        ("alerts:\n  - type: webhook\n    url: http://x\n    events: [findings]\n", "unknown event 'findings' (did you mean 'finding'?)"),
        ("alerts:\n  - type: webhook\n    url: http://x\n    dedupe_key: '{clinet}'\n", "unknown field {clinet} (did you mean 'client'?)"),
        ("alerts:\n  - type: webhook\n    url: http://x\n    throttle: -1\n", "alerts[0].throttle: must be a number of at least 0"),
        ("alerts:\n  - type: webhook\n    url: http://x\n    clients: ['db[1']\n", "is never closed"),
        ("alerts:\n  - type: webhook\n    url: http://x\n    headers: {Authorization: {env: 'not valid'}}\n", "is not an environment variable name"),
        ("alerts:\n  - type: syslog\n", "alerts[0].address: missing: give address"),
        ("alerts:\n  - type: syslog\n    address: localhost\n", "'localhost' is not HOST:PORT"),
        ("alerts:\n  - type: syslog\n    address: h:514\n    facility: locl0\n", "(did you mean 'local0'?)"),
        ("alerts:\n  - type: syslog\n    address: h:514\n    format: rfc3164\n", "alerts[0].format: rfc3164 is the local socket's format"),
        ("alerts:\n  - type: syslog\n    socket: /dev/log\n    format: rfc5425\n", "alerts[0].format: must be one of rfc3164, rfc5424 (did you mean 'rfc5424'?)"),
        ("alerts:\n  - type: email\n    host: h\n    from: a@b\n    to: c@d\n    password: hunter2\n", "a password is never written in the config"),
        ("alerts:\n  - type: email\n    host: h\n    from: a@b\n    to: c@d\n    password_env: PW\n", "a password needs a username"),
        ("alerts:\n  - type: email\n    host: h\n    from: a@b\n", "alerts[0].to: missing (required)"),
        ("alerts:\n  - type: email\n    host: h\n    from: a@b\n    to: c@d\n    subject: '{sumary}'\n", "did you mean 'summary'?"),
        ("alerts:\n  - type: command\n    run: 'mail -s x root'\n", "must be an argv list"),
        ("alerts:\n  - type: command\n    run: [/bin/true]\n    env: {NIMWATCH_CLIENT: x}\n", "NIMWATCH_* variables describe the alert"),
        ("alerts:\n  - type: webhook\n    url: http://x\n  - type: webhook\n    name: webhook-1\n    url: http://y\n", "two sinks are named 'webhook-1'"),
        ("alerts:\n  - type: alertmanager\n    url: http://x\n    labels: {bad-label: x}\n", "not a valid label name"),
        ("alerts:\n  - type: alertmanager\n    url: http://x\n    severity_labels: {eror: critical}\n", ":4: alerts[0].severity_labels.eror: not a nimwatch severity (info, warning, error) (did you mean 'error'?)"),
        ("alerts:\n  - type: alertmanager\n    url: http://x\n    severity_labels: {info: ''}\n", "alerts[0].severity_labels.info: must be a non-empty label value"),
        ("alerts:\n  - type: alertmanager\n    url: http://x\n    severity_labels: critical\n", "alerts[0].severity_labels: must map nimwatch severities"),
        ("alerts:\n  - type: alertmanager\n    url: http://x\n    severity_label: {error: page}\n", "severity_label: unknown key (did you mean 'severity_labels'?)"),
        ("metrics: {textfile: out.txt}", "node_exporter only reads files named *.prom"),
        ("metrics: {listen: nowhere}", "'nowhere' is not HOST:PORT"),
        ("metrics: {lissen: ':9100'}", "metrics.lissen: unknown key (did you mean 'listen'?)"),
        ("metrics: {}", "give textfile: PATH and/or listen: HOST:PORT"),
    ],
)
def test_each_mistake_is_named(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_check_config_lists_every_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "alerts:\n  - type: webhook\n    url: nope\n  - type: syslog\n    address: x\n    colour: red\n",
    )
    problems = check_config(path)
    assert len(problems) == 3
    assert any(":3: alerts[0].url" in p for p in problems)
    assert any(":6: alerts[1].colour: unknown key" in p for p in problems)


def test_alertmanager_severity_labels_default_and_override(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "alerts:\n  - type: alertmanager\n    url: http://x\n"
        "  - type: alertmanager\n    url: http://y\n    severity_labels: {error: page, info: none}\n",
    )
    default, custom = load_config(path).alerts
    assert dict(default.options.severity_labels) == {"error": "critical", "warning": "warning", "info": "info"}
    assert dict(custom.options.severity_labels) == {"error": "page", "warning": "warning", "info": "none"}


def test_benign_findings_are_off_by_default_and_a_sink_can_ask_for_them(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "alerts:\n  - {type: webhook, url: http://x/h}\n  - {type: webhook, url: http://x/h, benign: true}\n")
    )
    assert [s.benign for s in config.alerts] == [False, True]
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, "alerts:\n  - {type: webhook, url: http://x/h, benign: often}\n"))
    assert "alerts[0].benign" in str(exc.value.problems or exc.value)
