"""The ``fleet:`` config section, and how ``nimwatch fleet`` and ``nimwatch tui --fleet`` find their Prometheus.

A mistake names file, line and key (with the nearest valid key); the URL comes from ``--prometheus`` /
``--fleet``, else ``NIMWATCH_PROMETHEUS``, else the config; ``nimwatch tui --fleet URL`` starts on the
fleet screen and, on a host without ``/var/adm/ras/alt_mig``, follows no local logs. The TUI is built as
the CLI builds it, without taking over the terminal (``NimwatchApp.run`` records the app).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nimwatch import termcheck
from nimwatch.cli import main
from nimwatch.commands import DEFAULT_LOG_DIR
from nimwatch.config import check_config, load_config
from nimwatch.config.file import FleetOptions
from nimwatch.errors import ConfigError
from nimwatch.fleet_options import fleet_url
from nimwatch.sources.tail import Tailer
from nimwatch.tui.app import NimwatchApp
from nimwatch.tui.dashboard import DashboardScreen, FleetDashboard

from .fleetkit import HttpStub, fleet_cli

EMPTY = (200, b'{"status": "success", "data": {"resultType": "vector", "result": []}}', "application/json")


def test_a_full_fleet_section(tmp_path: Path) -> None:
    config = tmp_path / "nimwatch.yaml"
    config.write_text(
        "fleet:\n  prometheus: https://prom.example.com/prometheus\n  refresh: 30\n  lookback: 2d\n  timeout: 2.5\n"
    )
    assert load_config(config).fleet == FleetOptions("https://prom.example.com/prometheus", 30.0, "2d", 2.5)
    config.write_text("fleet: {}\n")
    assert load_config(config).fleet == FleetOptions(None, 15.0, "1h", 10.0)
    assert load_config(None).fleet is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("fleet:\n  prometeus: http://p:9090\n", r"nimwatch.yaml:2: fleet.prometeus: unknown key \(did you mean 'prometheus'\?\)"),
        ("flet:\n  prometheus: http://p:9090\n", r"nimwatch.yaml:1: flet: unknown key \(did you mean 'fleet'\?\)"),
        ("fleet:\n  refresh: 15\n  prometheus: ftp://p\n", r"nimwatch.yaml:3: fleet.prometheus: must be an http:// or https://"),
        ("fleet:\n  prometheus: http://p:99999\n", r"nimwatch.yaml:2: fleet.prometheus: has a bad port"),
        ("fleet:\n  prometheus: [http://p]\n", r"nimwatch.yaml:2: fleet.prometheus: must be a URL, not a list"),
        ("fleet:\n  refresh: 0.5\n", r"nimwatch.yaml:2: fleet.refresh: must be a number of seconds \(1 or more\)"),
        ("fleet:\n  refresh: .inf\n", r"nimwatch.yaml:2: fleet.refresh: must be a number of seconds"),
        ("fleet:\n  timeout: 0\n", r"nimwatch.yaml:2: fleet.timeout: must be a positive number of seconds"),
        ("fleet:\n  lookback: 1 hour\n", r"nimwatch.yaml:2: fleet.lookback: must be a Prometheus duration"),
        ("fleet: http://p:9090\n", r"nimwatch.yaml:1: fleet: must be a mapping \(prometheus: URL"),
    ],
)
def test_each_mistake_is_named(tmp_path: Path, body: str, expected: str) -> None:
    config = tmp_path / "nimwatch.yaml"
    config.write_text(body)
    with pytest.raises(ConfigError, match=expected):
        load_config(config)


def test_check_config_lists_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "nimwatch.yaml"
    config.write_text("fleet:\n  prometheus: p:9090\n  refresh: 0\n  lookbak: 1h\n")
    problems = check_config(config)
    assert len(problems) == 3, problems
    assert any("fleet.lookbak: unknown key (did you mean 'lookback'?)" in p for p in problems)


def test_which_url_wins() -> None:
    options = FleetOptions("http://from-config:9090")
    assert fleet_url("http://given:9090", options, {"NIMWATCH_PROMETHEUS": "http://env:9090"}) == "http://given:9090"
    assert fleet_url(None, options, {"NIMWATCH_PROMETHEUS": "http://env:9090"}) == "http://env:9090"
    assert fleet_url(None, options, {}) == "http://from-config:9090"
    assert fleet_url(None, None, {}) is None


@pytest.fixture
def empty_prometheus() -> Any:
    """An HTTP server answering every query with an empty vector (a Prometheus that scrapes no nimwatch)."""
    stub = HttpStub(lambda: EMPTY)
    yield stub
    stub.stop()


def test_nimwatch_fleet_reads_the_config(tmp_path: Path, empty_prometheus: HttpStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIMWATCH_PROMETHEUS", raising=False)
    config = tmp_path / "nimwatch.yaml"
    config.write_text(f"fleet:\n  prometheus: {empty_prometheus.url}\n  lookback: 2h\n")
    done = fleet_cli("--config", str(config))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"Prometheus at {empty_prometheus.url} has no nimwatch metrics (nimwatch_up) in the last 2h" in done.stderr
    done = fleet_cli("--config", str(config), "--lookback", "15m")  # the command line first
    assert "in the last 15m" in done.stderr
    config.write_text("fleet:\n  refresh: 0\n")
    done = fleet_cli("--config", str(config))
    assert done.returncode == 2 and "nimwatch.yaml:2: fleet.refresh: must be a number of seconds" in done.stderr


# --------------------------------------------------------------------------- nimwatch tui --fleet


class Captured:
    app: Any = None


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Captured:
    """``NimwatchApp.run`` records the app instead of taking over the terminal (taken to be one)."""
    box = Captured()

    def fake_run(self: NimwatchApp, *args: object, **kwargs: object) -> None:
        box.app = self

    monkeypatch.setattr(NimwatchApp, "run", fake_run)
    monkeypatch.setattr(termcheck, "tui_problem", lambda: None)
    monkeypatch.delenv("NIMWATCH_PROMETHEUS", raising=False)
    return box


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state" / "state.db"
    monkeypatch.setenv("NIMWATCH_STATE", str(path))
    return path


def test_tui_fleet_on_an_admin_host_shows_the_fleet_only(captured: Captured, state: Path) -> None:
    if Path(DEFAULT_LOG_DIR).exists():
        pytest.skip(f"this machine has a real {DEFAULT_LOG_DIR}")
    assert main(["tui", "--fleet", "http://user:secret@127.0.0.1:9/prom/"]) == 0
    app = captured.app
    assert isinstance(app, NimwatchApp)
    assert app.fleet is not None and app.fleet.url == "http://127.0.0.1:9/prom" and app.fleet.refresh == 15.0
    assert app.open_fleet and app.tailer is None and app.stall is None
    assert isinstance(app.dashboard, FleetDashboard)


def test_tui_with_logs_and_a_configured_prometheus_starts_on_the_dashboard(
    captured: Captured, state: Path, tmp_path: Path
) -> None:
    config = tmp_path / "nimwatch.yaml"
    config.write_text("fleet:\n  prometheus: http://127.0.0.1:9\n  refresh: 60\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    assert main(["tui", str(logs), "--config", str(config)]) == 0
    app = captured.app
    assert app.fleet is not None and app.fleet.refresh == 60.0 and not app.open_fleet
    assert isinstance(app.tailer, Tailer) and isinstance(app.dashboard, FleetDashboard)
    assert main(["tui", str(logs), "--config", str(config), "--fleet", "http://127.0.0.1:8"]) == 0
    assert captured.app.fleet.url == "http://127.0.0.1:8" and captured.app.open_fleet
    assert main(["tui", str(logs)]) == 0  # no Prometheus anywhere: the plain dashboard
    assert captured.app.fleet is None and type(captured.app.dashboard) is DashboardScreen


def test_a_bad_fleet_url_is_said_before_the_terminal_is_looked_at(
    capsys: pytest.CaptureFixture[str], state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[NimwatchApp] = []
    monkeypatch.setattr(NimwatchApp, "run", lambda self, *a, **k: started.append(self))
    monkeypatch.delenv("NIMWATCH_PROMETHEUS", raising=False)
    assert main(["tui", "--fleet", "ftp://prom"]) == 2
    assert "--fleet 'ftp://prom' must be an http:// or https:// URL" in capsys.readouterr().err
    monkeypatch.setenv("NIMWATCH_PROMETHEUS", "prom:9090")
    assert main(["tui", "--fleet", "http://127.0.0.1:9", "/nonexistent/dir"]) == 2
    assert "/nonexistent/dir: no such directory" in capsys.readouterr().err, "a DIR given must exist, fleet or not"
    assert main(["tui"]) == 2
    assert "NIMWATCH_PROMETHEUS 'prom:9090' must be an http:// or https:// URL" in capsys.readouterr().err
    if not Path(DEFAULT_LOG_DIR).exists():
        monkeypatch.delenv("NIMWATCH_PROMETHEUS")
        assert main(["tui", "--fleet", "http://127.0.0.1:9"]) == 2  # pytest's output is no terminal
        err = capsys.readouterr().err
        assert "the TUI needs a terminal" in err and "no such directory" not in err
    assert started == []
