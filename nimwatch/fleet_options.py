"""Which Prometheus the fleet view asks: the command line's, the environment's or the config's.

Owns :func:`fleet_url` and :data:`PROMETHEUS_ENV`. The ``fleet:`` section itself
(:class:`~nimwatch.config.file.FleetOptions`: ``prometheus``, ``refresh``, ``lookback``,
``timeout``) is declared and validated with the rest of the config file::

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

from collections.abc import Mapping
from typing import Optional

from nimwatch.config.file import DEFAULT_REFRESH, MIN_REFRESH, FleetOptions, url_problem

__all__ = ["DEFAULT_REFRESH", "MIN_REFRESH", "PROMETHEUS_ENV", "FleetOptions", "fleet_url", "url_problem"]

PROMETHEUS_ENV = "NIMWATCH_PROMETHEUS"


def fleet_url(given: Optional[str], options: Optional[FleetOptions], environ: Mapping[str, str]) -> Optional[str]:
    """The Prometheus to ask: the command line's, else ``NIMWATCH_PROMETHEUS``, else the config's."""
    if given:
        return given
    if environ.get(PROMETHEUS_ENV):
        return environ[PROMETHEUS_ENV]
    return options.prometheus if options is not None else None
