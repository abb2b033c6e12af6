"""The ``fleet:`` section of the config: where the Prometheus that scrapes every NIM master is.

Owns :class:`FleetOptions`, :func:`parse_section` (validated like every other
section: file, line and key named, the nearest valid key suggested) and
:func:`fleet_url` (which URL wins)::

    fleet:
      prometheus: http://prometheus.example.com:9090   # every master's nimwatch is scraped there
      refresh: 15     # seconds between two looks of the TUI's fleet screen (default 15)
      lookback: 1h    # how long a watcher that stopped answering stays in view (default 1h)
      timeout: 10     # seconds to wait for each query (default 10)

``nimwatch fleet`` and the TUI's fleet screen (``F`` on the dashboard,
``nimwatch tui --fleet URL``) read it; ``--prometheus`` / ``--fleet`` and
``NIMWATCH_PROMETHEUS`` come first. Headless (no Textual), no network.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from nimwatch.core.validation import LineDict, Problems, type_name
from nimwatch.fleet import DEFAULT_LOOKBACK, LOOKBACK_RE

FLEET_KEYS = ("prometheus", "refresh", "lookback", "timeout")
PROMETHEUS_ENV = "NIMWATCH_PROMETHEUS"
DEFAULT_REFRESH = 15.0
"""Seconds between two looks: the heartbeat's default interval, about one scrape of a usual Prometheus."""
MIN_REFRESH = 1.0
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class FleetOptions:
    prometheus: Optional[str] = None
    """Prometheus' base URL (None: not configured)."""
    refresh: float = DEFAULT_REFRESH
    lookback: str = DEFAULT_LOOKBACK
    timeout: float = DEFAULT_TIMEOUT


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


def _seconds(value: Any, minimum: float) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < minimum:
        return None
    return float(value)


def parse_section(value: Any, line: int, problems: Problems, path: Path) -> FleetOptions:
    """Validate ``fleet:``."""
    if value is None:
        return FleetOptions()
    if not isinstance(value, LineDict):
        problems.add(line, "fleet", f"must be a mapping (prometheus: URL, refresh: seconds...), not {type_name(value)}")
        return FleetOptions()
    problems.check_keys(value, FLEET_KEYS, "fleet.")
    found: dict[str, Any] = {}
    if "prometheus" in value:
        url = value["prometheus"]
        problem = url_problem(url) if isinstance(url, str) else f"must be a URL, not {type_name(url)}"
        if problem:
            problems.add(value.line_of("prometheus"), "fleet.prometheus", problem)
        else:
            found["prometheus"] = url.strip()
    for key, minimum, words in (
        ("refresh", MIN_REFRESH, f"must be a number of seconds ({MIN_REFRESH:g} or more)"),
        ("timeout", 0.1, "must be a positive number of seconds"),
    ):
        if key in value:
            seconds = _seconds(value[key], minimum)
            if seconds is None:
                problems.add(value.line_of(key), f"fleet.{key}", words)
            else:
                found[key] = seconds
    if "lookback" in value:
        lookback = value["lookback"]
        if isinstance(lookback, str) and LOOKBACK_RE.match(lookback):
            found["lookback"] = lookback
        else:
            words = "must be a Prometheus duration such as 15m, 1h or 2d"
            problems.add(value.line_of("lookback"), "fleet.lookback", words)
    return FleetOptions(**found)


def fleet_url(given: Optional[str], options: Optional[FleetOptions], environ: Mapping[str, str]) -> Optional[str]:
    """The Prometheus to ask: the command line's, else ``NIMWATCH_PROMETHEUS``, else the config's."""
    if given:
        return given
    if environ.get(PROMETHEUS_ENV):
        return environ[PROMETHEUS_ENV]
    return options.prometheus if options is not None else None
