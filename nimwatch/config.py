"""The nimwatch configuration file: discovery, validation and the :class:`Config` it yields.

Owns the top level of ``nimwatch.yaml`` and its discovery order
(``--config``, ``NIMWATCH_CONFIG``, ``/etc/nimwatch/nimwatch.yaml`` when root,
else the user's config dir). Each section is validated by the module that
owns it (``alerts:`` by :mod:`nimwatch.alerts.config`, ``hooks:`` by
:mod:`nimwatch.hooks.config`, ``metrics:`` by :mod:`nimwatch.metrics`,
``nim_state:`` by :mod:`nimwatch.aix.nim_state`, ``tui:`` by
:mod:`nimwatch.tui_options`, ``fleet:`` by :mod:`nimwatch.fleet_options`), all
collecting into one :class:`~nimwatch.core.validation.Problems` so that
``check-config`` lists every problem at once while start-up stops at the
first. Errors name file, line and key, with the nearest valid key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from nimwatch.core.validation import LineDict, Problems, type_name
from nimwatch.engine import FindingLimits
from nimwatch.errors import ConfigError

SYSTEM_CONFIG = Path("/etc/nimwatch/nimwatch.yaml")
SYSTEM_STATE = Path("/var/lib/nimwatch/state.db")
DEFAULT_BACKLOG_HOURS = 6.0


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def user_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nimwatch"


def user_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "nimwatch"


def default_config_path() -> Optional[Path]:
    """``NIMWATCH_CONFIG``, then the system file, then the user's; None when none exists."""
    env = os.environ.get("NIMWATCH_CONFIG")
    if env:
        return Path(env)
    candidates = [SYSTEM_CONFIG, user_config_dir() / "nimwatch.yaml"]
    if not _is_root():
        candidates.reverse()
    for candidate in candidates:
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
    return SYSTEM_STATE if _is_root() else user_state_dir() / "state.db"


@dataclass
class StallConfig:
    """When a running phase counts as stalled, and when a silent run ends as incomplete."""

    phase_minutes: dict[int, float] = field(default_factory=dict)
    """Per-phase thresholds overriding the phase model's stall_minutes."""
    default_minutes: Optional[float] = None
    """A threshold for every phase not listed (None: the phase model's defaults)."""
    incomplete_after_minutes: float = 240.0
    """A run silent this long without reaching its end is reported incomplete."""


@dataclass
class Config:
    path: Optional[Path] = None
    rules: list[Path] = field(default_factory=list)
    poll: Optional[float] = None
    """None: native events (inotify) where available; seconds: polling."""
    state: Optional[Path] = None
    stall: StallConfig = field(default_factory=StallConfig)
    alerts: list[Any] = field(default_factory=list)
    metrics: Any = None
    hooks: list[Any] = field(default_factory=list)
    limits: FindingLimits = field(default_factory=FindingLimits)
    """Findings per run and per signature that become events, alerts and hook runs."""
    backlog_hours: float = DEFAULT_BACKLOG_HOURS
    """At first start, finished runs in a log unchanged for this long are history: shown, not alerted."""
    nim_state: Any = None
    """The NIM state cross-check (:class:`nimwatch.aix.nim_state.NimStateConfig`); None: off."""
    tui: Any = None
    """The ``tui:`` section (:class:`nimwatch.tui_options.TuiOptions`), None when absent."""
    fleet: Any = None
    """The ``fleet:`` section (:class:`nimwatch.fleet_options.FleetOptions`), None when absent."""


TOP_KEYS = (
    "rules", "poll", "state", "stall", "alerts", "metrics", "hooks", "limits", "backlog_hours", "nim_state", "tui",
    "fleet",
)

SectionParser = Callable[[Any, int, Problems, Path], Any]


def _section_parsers() -> dict[str, SectionParser]:
    """Section validators, imported lazily (each owner module defines ``parse_section``)."""
    from nimwatch.aix.nim_state import parse_section as parse_nim_state
    from nimwatch.alerts.config import parse_section as parse_alerts
    from nimwatch.fleet_options import parse_section as parse_fleet
    from nimwatch.hooks.config import parse_section as parse_hooks
    from nimwatch.metrics import parse_section as parse_metrics
    from nimwatch.tui_options import parse_section as parse_tui

    return {
        "alerts": parse_alerts,
        "hooks": parse_hooks,
        "metrics": parse_metrics,
        "nim_state": parse_nim_state,
        "tui": parse_tui,
        "fleet": parse_fleet,
    }


def _parse_stall(value: Any, line: int, problems: Problems) -> StallConfig:
    out = StallConfig()
    if not isinstance(value, LineDict):
        problems.add(line, "stall", f"must be a mapping, not {type_name(value)}")
        return out
    problems.check_keys(value, ("phases", "default_minutes", "incomplete_after_minutes"), "stall.")
    for key in ("default_minutes", "incomplete_after_minutes"):
        if key in value:
            v = value[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                problems.add(value.line_of(key), f"stall.{key}", "must be a positive number of minutes")
            else:
                setattr(out, key, float(v))
    phases = value.get("phases")
    if phases is not None:
        if not isinstance(phases, LineDict):
            problems.add(value.line_of("phases"), "stall.phases", "must map phase numbers (1-12) to minutes")
        else:
            for k, v in phases.items():
                kline = phases.line_of(str(k))
                if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 12:
                    problems.add(kline, f"stall.phases.{k}", "not a phase number (1-12)")
                elif isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                    problems.add(kline, f"stall.phases.{k}", "must be a positive number of minutes")
                else:
                    out.phase_minutes[k] = float(v)
    return out


def _parse_limits(value: Any, line: int, problems: Problems) -> FindingLimits:
    out = FindingLimits()
    if not isinstance(value, LineDict):
        problems.add(line, "limits", f"must be a mapping (findings_per_run, findings_per_rule), not {type_name(value)}")
        return out
    problems.check_keys(value, ("findings_per_run", "findings_per_rule"), "limits.")
    for key, attr in (("findings_per_run", "per_run"), ("findings_per_rule", "per_rule")):
        if key in value:
            v = value[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                problems.add(
                    value.line_of(key), f"limits.{key}", f"must be a whole number of findings (1 or more), not {v!r}"
                )
            else:
                setattr(out, attr, v)
    return out


def check_permissions(
    path: Path, problems: Problems, line: int = 0, key: str = "", what: str = "the config file"
) -> None:
    """Running as root, refuse a file that another user could change (see :mod:`nimwatch.trust`)."""
    from nimwatch.trust import trust_problem

    problem = trust_problem(path, what)
    if problem:
        problems.add(line, key, problem)


def parse_config(data: Any, path: Path, problems: Problems) -> Config:
    """Validate parsed YAML into a Config; every problem goes to ``problems``."""
    config = Config(path=path)
    if data is None:
        return config
    if not isinstance(data, LineDict):
        problems.add(1, "", f"the config must be a mapping of sections, not {type_name(data)}")
        return config
    problems.check_keys(data, TOP_KEYS, "")
    base = path.parent
    if "rules" in data:
        rules = data["rules"]
        if isinstance(rules, str):
            rules = [rules]
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            problems.add(data.line_of("rules"), "rules", "must be a file path or a list of file paths")
        else:
            config.rules = [(base / r) if not os.path.isabs(r) else Path(r) for r in rules]
            for r in config.rules:
                if not r.is_file():
                    problems.add(data.line_of("rules"), "rules", f"no such signature file: {r}")
                else:
                    check_permissions(r, problems, data.line_of("rules"), "rules", "the rules file")
    if "poll" in data:
        poll = data["poll"]
        if poll == "auto":
            config.poll = None
        elif isinstance(poll, bool) or not isinstance(poll, (int, float)) or poll <= 0:
            problems.add(data.line_of("poll"), "poll", "must be 'auto' or a positive number of seconds")
        else:
            config.poll = float(poll)
    if "state" in data:
        if not isinstance(data["state"], str):
            problems.add(data.line_of("state"), "state", "must be a file path")
        else:
            config.state = Path(data["state"])
    if "stall" in data:
        config.stall = _parse_stall(data["stall"], data.line_of("stall"), problems)
    if "limits" in data:
        config.limits = _parse_limits(data["limits"], data.line_of("limits"), problems)
    if "backlog_hours" in data:
        hours = data["backlog_hours"]
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours < 0:
            problems.add(data.line_of("backlog_hours"), "backlog_hours", "must be a number of hours (0 or more)")
        else:
            config.backlog_hours = float(hours)
    parsers = _section_parsers()
    for key in ("alerts", "metrics", "hooks", "nim_state", "tui", "fleet"):
        if key in data:
            setattr(config, key, parsers[key](data[key], data.line_of(key), problems, path))
    return config


def load_config(path: Optional[Path], *, fail_fast: bool = True) -> Config:
    """Read and validate a config file (None: an empty config). Raises ConfigError."""
    if path is None:
        return Config()
    problems = Problems(str(path), fail_fast=fail_fast)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    check_permissions(path, problems)
    from nimwatch.yamlfile import load_yaml  # PyYAML is imported only by commands that read YAML

    data = load_yaml(path)
    config = parse_config(data, path, problems)
    problems.raise_if_any()
    return config


def check_config(path: Path) -> list[str]:
    """Every problem of a config file (an empty list when it is clean)."""
    problems = Problems(str(path))
    try:
        if not path.is_file():
            return [f"{path}: no such config file"]
        check_permissions(path, problems)
        from nimwatch.yamlfile import load_yaml

        parse_config(load_yaml(path), path, problems)
    except ConfigError as exc:
        return [*problems.items, *[p for p in exc.problems if p not in problems.items]]
    return problems.items
