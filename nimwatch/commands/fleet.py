"""``nimwatch fleet --prometheus URL [--format text|json]``: every NIM master's migrations, from Prometheus.

Each master runs ``nimwatch watch`` with metrics; Prometheus scrapes them
(see ``examples/prometheus/``). This command asks Prometheus' HTTP query API
(``--prometheus``, else ``NIMWATCH_PROMETHEUS``, else the config's ``fleet:``)
for those metrics and prints one block per master: its watcher (up, stopped,
down or stale) and its clients with status, phase, ETA and cause. Headless:
no Textual. Exit status: 0 when every client's last run succeeded and every
watcher is up, 1 when a run failed, 3 when a run is still going, stalled or
unknown or a watcher is not up, 2 when Prometheus cannot be used.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nimwatch.errors import ExitCode, NimwatchError
from nimwatch.fleet_options import PROMETHEUS_ENV

if TYPE_CHECKING:
    from nimwatch.fleet import FleetView


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "fleet",
        help="every NIM master's clients from Prometheus: status, phase, ETA, cause",
        description="The migrations of every NIM master, read from Prometheus (which scrapes each master's "
        "`nimwatch watch` metrics): one block per master, one line per client.",
    )
    p.add_argument(
        "--prometheus",
        metavar="URL",
        help=f"Prometheus' base URL, e.g. http://prometheus:9090 (default: ${PROMETHEUS_ENV}, then the config's "
        "fleet.prometheus)",
    )
    p.add_argument("--config", metavar="FILE", help="config file (default: NIMWATCH_CONFIG, then the usual places)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="per query (default: the config's fleet.timeout, else 10)"
    )
    p.add_argument(
        "--lookback",
        metavar="DURATION",
        help="how far back a watcher that stopped answering is still shown (default: fleet.lookback, else 1h)",
    )
    p.add_argument("--master", action="append", default=[], metavar="NAME", help="only this master (repeatable)")
    p.add_argument("--ascii", action="store_true", help="ASCII only (default when the output is not UTF-8)")
    p.set_defaults(func=run)


def exit_code_for(view: FleetView) -> ExitCode:
    statuses = {c.status for c in view.clients}
    if "failed" in statuses:
        return ExitCode.FAILED
    if statuses - {"succeeded"} or any(m.state != "up" for m in view.masters):
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def run(args: argparse.Namespace) -> int:
    import codecs
    from dataclasses import replace

    from nimwatch.config import default_config_path, load_config
    from nimwatch.config.file import FleetOptions
    from nimwatch.errors import UsageError
    from nimwatch.fleet import check_lookback, collect
    from nimwatch.fleet_options import fleet_url
    from nimwatch.prometheus_api import PrometheusClient
    from nimwatch.rulefiles import load_rules
    from nimwatch.terminal import stream_encoding, write
    from nimwatch.views.fleet_text import render_json, render_text

    config = load_config(Path(args.config) if args.config else default_config_path())
    options = config.fleet or FleetOptions()
    url = fleet_url(args.prometheus, options, os.environ)
    if not url:
        raise UsageError(f"give --prometheus URL (or set {PROMETHEUS_ENV}, or fleet.prometheus in the config)")
    lookback = check_lookback(args.lookback if args.lookback is not None else options.lookback)
    client = PrometheusClient(url, timeout=args.timeout if args.timeout is not None else options.timeout)
    view = collect(client, lookback)
    if not view.masters:
        raise NimwatchError(
            f"Prometheus at {client.url} has no nimwatch metrics (nimwatch_up) in the last {lookback}: "
            "is any NIM master's nimwatch scraped? (see examples/prometheus/)"
        )
    if args.master:
        wanted = set(args.master)
        view = replace(view, masters=tuple(m for m in view.masters if m.name in wanted))
        if not view.masters:
            raise NimwatchError(f"no master named {', '.join(sorted(wanted))} in Prometheus at {client.url}")
    if args.format == "json":
        write(render_json(view))
    else:
        names = {p.number: p.name for p in load_rules().model.phases}
        # names from Prometheus are shown with \x escapes when stdout does not write UTF-8
        ascii_only = args.ascii or codecs.lookup(stream_encoding(sys.stdout)).name != "utf-8"
        write(render_text(view, names, ascii_only=ascii_only))
    return exit_code_for(view)
