"""The config file: its top-level sections, where it is found, and loading or checking it.

Owns :class:`Config` (declared like every section: kinds, defaults, help), the small sections
``stall:``, ``limits:``, ``metrics:``, ``nim_state:``, ``tui:`` and ``fleet:``, the discovery order (``--config``,
``NIMWATCH_CONFIG``, ``/etc/nimwatch/nimwatch.yaml`` when root, else the user's config dir),
:func:`load_config` (stops at the first problem) and :func:`check_config` (lists them all).
Problems name file, line and key, with the nearest valid key.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from nimwatch import trust
from nimwatch.config.alerts import SINKS, SinkSpec
from nimwatch.config.checks import PHASE
from nimwatch.config.hooks import HOOKS, HookSpec
from nimwatch.config.schema import Addr, At, File, Flag, Many, Map, Num, Section, Switch, Text, key
from nimwatch.core.validation import Problems
from nimwatch.engine import FindingLimits
from nimwatch.errors import ConfigError
from nimwatch.fleet import DEFAULT_LOOKBACK, LOOKBACK_RE

SYSTEM_CONFIG = Path("/etc/nimwatch/nimwatch.yaml")
SYSTEM_STATE = Path("/var/lib/nimwatch/state.db")
DEFAULT_BACKLOG_HOURS = 6.0
DEFAULT_INTERVAL = 15.0
"""Seconds between two metrics heartbeats (the textfile is rewritten at least this often)."""


def default_config_path() -> Optional[Path]:
    """``NIMWATCH_CONFIG``, then the system file, then the user's; None when none exists."""
    env = os.environ.get("NIMWATCH_CONFIG")
    if env:
        return Path(env)
    user = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "nimwatch" / "nimwatch.yaml"
    for candidate in [SYSTEM_CONFIG, user] if trust.running_as_root() else [user, SYSTEM_CONFIG]:
        try:
            if candidate.is_file():
                return candidate
        except OSError:  # a directory this user may not look into: not this user's config
            continue
    return None


def default_state_path() -> Path:
    env = os.environ.get("NIMWATCH_STATE")
    if env:
        return Path(env)
    if trust.running_as_root():
        return SYSTEM_STATE
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "nimwatch" / "state.db"


MINUTES = Num(above=0, unit="minutes")
POLL = Num(above=0, most=3600, unit="seconds", auto=True)
"""``poll`` in the config, ``--poll`` of watch and tui."""


@dataclass
class StallConfig:
    """When a running phase counts as stalled, and when a silent run ends as incomplete."""

    phase_minutes: dict[int, float] = key(
        Map(PHASE, MINUTES, "phase numbers (1-12) to minutes", pattern="^([1-9]|1[0-2])$"),
        {},
        name="phases",
        help="Per-phase thresholds overriding the phase model's stall_minutes.",
    )
    default_minutes: Optional[float] = key(MINUTES, None, help="A threshold for every phase not listed.")
    incomplete_after_minutes: float = key(
        MINUTES, 240.0, help="A run silent this long without reaching its end is reported incomplete."
    )


FINDINGS = Num(whole=True, least=1, unit="findings")


@dataclass(frozen=True)
class Limits:
    """Findings of one run that become events, alerts and hook runs (the state still counts them all)."""

    findings_per_run: int = key(FINDINGS, FindingLimits.per_run, help="All signatures together.")
    findings_per_rule: int = key(FINDINGS, FindingLimits.per_rule, help="Of one signature.")


def _prom_problem(path: str) -> Optional[str]:
    if not path.endswith(".prom"):
        return "node_exporter only reads files named *.prom"
    return None if os.path.isdir(os.path.dirname(path)) else f"no such directory: {os.path.dirname(path)}"


@dataclass(frozen=True)
class MetricsConfig:
    """Prometheus metrics: a node_exporter textfile and/or an HTTP /metrics endpoint."""

    textfile: Optional[Path] = key(
        File(check=_prom_problem), None, help="node_exporter textfile collector file (*.prom), rewritten atomically."
    )
    listen: Optional[tuple[str, int]] = key(Addr("127.0.0.1"), None, help="Serve /metrics on this HOST:PORT.")
    interval: float = key(
        Num(above=0, unit="seconds"), DEFAULT_INTERVAL, help="Seconds between heartbeats: the textfile is rewritten"
        " at least this often, even when no log changed."
    )


def _check_metrics(values: dict[str, Any], at: At) -> None:
    if "textfile" not in at.raw and "listen" not in at.raw:
        at.add("give textfile: PATH and/or listen: HOST:PORT", at.raw.line)
    if "textfile" in values:
        values["textfile"] = Path(values["textfile"])


LSNIM = "/usr/sbin/lsnim"


def at_least(low: float, unit: str) -> Num:
    return Num(least=low, unit=unit, message=f"must be a number of {unit}, at least {low:g}")


@dataclass(frozen=True)
class NimStateConfig:
    """The NIM state cross-check: each watched client's NIM state (lsnim -Z) read every interval seconds."""

    enabled: bool = key(Flag(), True, help="false: keep the section, turn the cross-check off.")
    interval: float = key(at_least(5, "seconds"), 60.0, help="Seconds between two readings of a client.")
    stall_minutes: float = key(
        at_least(1, "minutes"), 30.0, help="NIM info unchanged this long (with a silent log) counts toward a stall."
    )
    timeout: Optional[float] = key(
        at_least(1, "seconds"), None, help="Seconds one lsnim may take (default: 120, as every local command)."
    )
    lsnim: Optional[str] = key(
        Text(
            "path (absolute, e.g. /usr/sbin/lsnim)",
            "^/",
            check=lambda path: trust.trust_problem(path, "the lsnim command"),
            message="must be an absolute path (e.g. /usr/sbin/lsnim)",
        ),
        None,
        help="The lsnim command (default: /usr/sbin/lsnim, else the one on PATH).",
    )

    def command(self) -> str:
        """The ``lsnim`` to run."""
        return self.lsnim or (LSNIM if os.path.exists(LSNIM) else shutil.which("lsnim") or LSNIM)


@dataclass(frozen=True)
class TuiOptions:
    """How nimwatch tui gets the admin's attention (nimwatch tui --no-bell: no bell for one session)."""

    bell: bool = key(Flag(), True, help="Ring the terminal bell when a migration fails or stalls during the session.")
    title: bool = key(Flag(), True, help='Keep the terminal\'s title on the counts: "nimwatch: 2 failed, 5 running".')


def url_problem(url: str) -> Optional[str]:
    """Why ``url`` cannot be a Prometheus base URL, or None."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL, e.g. http://prometheus:9090"
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "has a bad port"
    return None


DEFAULT_REFRESH = 15.0
"""Seconds between two looks: the heartbeat's default interval, about one scrape of a usual Prometheus."""
MIN_REFRESH = 1.0
FLEET_SECONDS = Num(least=MIN_REFRESH, most=86400, unit="seconds", message="must be a number of seconds (1 or more)")


@dataclass(frozen=True)
class FleetOptions:
    """Where the Prometheus that scrapes every NIM master is (nimwatch fleet, the TUI's fleet screen)."""

    prometheus: Optional[str] = key(
        Text("URL", check=url_problem, extra={"pattern": "^https?://"}),
        None,
        help="Prometheus' base URL (--prometheus / --fleet and NIMWATCH_PROMETHEUS come first).",
    )
    refresh: float = key(FLEET_SECONDS, DEFAULT_REFRESH, help="Seconds between two looks of the TUI's fleet screen.")
    lookback: str = key(
        Text("Prometheus duration", LOOKBACK_RE.pattern, message="must be a Prometheus duration such as 15m, 1h or 2d"),
        DEFAULT_LOOKBACK,
        help="How long a watcher that stopped answering stays in view.",
    )
    timeout: float = key(
        Num(above=0, most=3600, unit="seconds", message="must be a positive number of seconds (at most 3600)"),
        10.0,
        help="Seconds to wait for each query.",
    )


def _check_fleet(values: dict[str, Any], at: At) -> None:
    if "prometheus" in values:
        values["prometheus"] = values["prometheus"].strip()


@dataclass
class Config:
    """nimwatch's configuration (nimwatch.yaml): what watch and the TUI follow, and what they do about it."""

    path: Optional[Path] = None
    rules: list[Path] = key(
        Many(File(must="file", trust="the rules file"), "signature file", lambda ps: [Path(p) for p in ps], empty=True),
        [],
        help="Signature files added to the shipped catalog.",
    )
    poll: Optional[float] = key(POLL, None, help="auto: native file events where available; seconds: poll.")
    state: Optional[Path] = key(Text("file path"), None, help="The state journal (SQLite).")
    stall: StallConfig = key(Section(StallConfig), factory=StallConfig)
    alerts: list[SinkSpec] = key(SINKS, [], help="Alert sinks: syslog, email, webhook, alertmanager, command.")
    metrics: Optional[MetricsConfig] = key(Section(MetricsConfig, _check_metrics), None)
    hooks: list[HookSpec] = key(HOOKS, [], help="Commands run on migration events.")
    limits: FindingLimits = key(Section(Limits), factory=FindingLimits)
    backlog_hours: float = key(
        Num(least=0, unit="hours"),
        DEFAULT_BACKLOG_HOURS,
        help="At first start, finished runs in a log unchanged for this long are history: shown, not alerted.",
    )
    nim_state: Optional[NimStateConfig] = key(Switch(Section(NimStateConfig)), None)
    tui: Optional[TuiOptions] = key(
        Section(TuiOptions, message="must be a mapping (bell: true|false, title: true|false), not {value}"), None
    )
    fleet: Optional[FleetOptions] = key(
        Section(
            FleetOptions, _check_fleet, message="must be a mapping (prometheus: URL, refresh: seconds...), not {value}"
        ),
        None,
    )


def _check_config(values: dict[str, Any], at: At) -> None:
    values["path"] = Path(at.problems.source)
    if "state" in values:
        values["state"] = Path(values["state"])
    if "limits" in values:
        values["limits"] = FindingLimits(values["limits"].findings_per_run, values["limits"].findings_per_rule)


CONFIG = Section(Config, _check_config, message="the config must be a mapping of sections, not {value}")


def _read(path: Path, problems: Problems) -> Optional[Config]:
    from nimwatch.yamlfile import load_yaml  # PyYAML: the declarations and their JSON Schema need only the stdlib

    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    problem = trust.trust_problem(path, "the config file")
    if problem:
        problems.add(0, "", problem)
    data = load_yaml(path)
    if data is None:
        return Config(path=path)
    config = CONFIG.read(data, At(problems, path.parent.resolve(), 1, ""))
    return config if isinstance(config, Config) else None


def load_config(path: Optional[Path], *, fail_fast: bool = True) -> Config:
    """Read and validate a config file (None: an empty config). Raises ConfigError."""
    if path is None:
        return Config()
    problems = Problems(str(path), fail_fast=fail_fast)
    config = _read(path, problems)
    problems.raise_if_any()
    assert config is not None
    return config


def check_config(path: Path) -> list[str]:
    """Every problem of a config file (an empty list when it is clean)."""
    problems = Problems(str(path))
    try:
        _read(path, problems)
    except ConfigError as exc:
        return [*problems.items, *[p for p in exc.problems if p not in problems.items]]
    return problems.items
