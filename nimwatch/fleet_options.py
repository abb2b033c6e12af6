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
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # the config package is imported by the commands that read a config, not by the CLI's parser
    from nimwatch.config.file import FleetOptions

__all__ = ["PROMETHEUS_ENV", "fleet_url"]

PROMETHEUS_ENV = "NIMWATCH_PROMETHEUS"


def fleet_url(given: Optional[str], options: Optional[FleetOptions], environ: Mapping[str, str]) -> Optional[str]:
    """The Prometheus to ask: the command line's, else ``NIMWATCH_PROMETHEUS``, else the config's."""
    return given or environ.get(PROMETHEUS_ENV) or (options.prometheus if options is not None else None)
