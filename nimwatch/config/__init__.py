"""The nimwatch configuration file, declared once and validated by one validator.

Each section is a dataclass whose fields carry their kind, default and help
(:func:`nimwatch.config.schema.key`): :mod:`~nimwatch.config.file` holds the
top level (``rules``, ``poll``, ``state``, ``stall``, ``limits``, ``metrics``,
``backlog_hours``, ``nim_state``, ``tui``, ``fleet``), :mod:`~nimwatch.config.alerts` the ``alerts:`` sinks and
:mod:`~nimwatch.config.hooks` the ``hooks:``. :mod:`~nimwatch.config.schema`
validates them (``file:line: key: message (did you mean 'x'?)``) and
:mod:`~nimwatch.config.json_schema` turns the same declarations into the JSON
Schema editors use. The modules that run alerts, hooks and metrics import
their declarations from here; this package imports none of them.
"""

from __future__ import annotations

from nimwatch.config.file import (
    Config,
    FleetOptions,
    MetricsConfig,
    StallConfig,
    TuiOptions,
    check_config,
    default_config_path,
    default_state_path,
    load_config,
)

__all__ = [
    "Config",
    "FleetOptions",
    "MetricsConfig",
    "StallConfig",
    "TuiOptions",
    "check_config",
    "default_config_path",
    "default_state_path",
    "load_config",
]
