"""A fleet view made from hand-written Prometheus samples, for the fleet screen's tests and snapshots.

Five masters as :func:`nimwatch.fleet.build` sees them at :data:`AT`: nim00
up with one succeeded client (first by name, last by need); nim01 up (a
failed, a running, two succeeded clients, one of them with an escape
sequence in its name); nim02 whose scrapes fail (down: its clients' last
known state); nim03 behind a textfile whose heartbeat is ten minutes old
(stale), with an escape sequence in its master label; nim04 up, its client
running past its phase's p90 (overdue). The same samples the real watchers
produce in ``tests/fleet`` (there the values move with time).
"""

from __future__ import annotations

from typing import Callable, Optional

from nimwatch.engine import Engine
from nimwatch.fleet import FleetView, build
from nimwatch.prometheus_api import Sample
from nimwatch.rulefiles import load_rules
from nimwatch.tui.app import NimwatchApp, make_app
from nimwatch.tui.fleet_feed import FleetFeed

from .tuikit import EPOCH

AT = EPOCH
URL = "http://prometheus.example.com:9090"
EVIL_CLIENT = "evil\x1b[2J\u00e9"
EVIL_MASTER = "nim03\x1b]2;PWNED\x07"


def _s(value: float, **labels: str) -> Sample:
    return Sample(labels, value, AT)


def sample_view(at: float = AT) -> FleetView:
    a = {"instance": "nim01.example.com:9731", "job": "nimwatch", "master": "nim01"}
    b = {"instance": "nim02.example.com:9731", "job": "nimwatch", "master": "nim02"}
    c = {"instance": "nim03.example.com:9100", "job": "node", "master": EVIL_MASTER}
    d = {"instance": "nim04.example.com:9731", "job": "nimwatch", "master": "nim04"}
    z = {"instance": "nim00.example.com:9731", "job": "nimwatch", "master": "nim00"}
    clients = (("lpar1", 6, "running"), ("lpar2", 2, "failed"), ("web1", 12, "succeeded"), (EVIL_CLIENT, 12, "succeeded"))
    results = {
        "up_last": [_s(1, **a), _s(1, **b), _s(1, **c), _s(1, **d), _s(1, **z)],
        "scrape_up": [_s(1, **a), _s(0, **b), _s(1, **c), _s(1, **d), _s(1, **z)],
        "heartbeat": [_s(at - 2, **a), _s(at - 200, **b), _s(at - 600, **c), _s(at - 4, **d), _s(at - 9, **z)],
        "interval": [_s(15, **a), _s(15, **b), _s(15, **c), _s(15, **d), _s(15, **z)],
        "phase": [
            *(_s(p, client=name, **a) for name, p, _ in clients),
            _s(6, client="hr04", **d),
            _s(12, client="ok00", **z),
        ],
        "outcome": [
            *(_s(1, client=name, outcome=o, **a) for name, _, o in clients),
            _s(1, client="hr04", outcome="running", **d),
            _s(1, client="ok00", outcome="succeeded", **z),
        ],
        "errors": [_s(2, client="lpar2", **a)],
        "eta": [_s(3900, client="lpar1", **a), _s(0, client="hr04", **d)],
        "overdue": [_s(750, client="hr04", **d)],
        "basis": [_s(5, client="lpar1", basis="client", **a), _s(0, client="hr04", basis="weights", **d)],
        "phase_started": [_s(at - 700, client="lpar1", **a), _s(at - 5000, client="hr04", **d)],
        "last_line": [_s(at - 3, client="lpar1", **a), _s(at - 20, client="hr04", **d)],
        "last_phase": [_s(3, client="db1", **b), _s(9, client="app1", **b), _s(5, client="aix03", **c)],
        "last_outcome": [
            _s(1, client="db1", outcome="running", **b),
            _s(1, client="app1", outcome="running", **b),
            _s(1, client="aix03", outcome="running", **c),
        ],
        "last_stalled": [_s(1, client="db1", **b)],
    }
    return build(results, at, URL, "1h")


def fleet_app(
    fetch: Callable[[], FleetView],
    *,
    refresh: float = 3600.0,
    open_fleet: bool = True,
    engine: Optional[Engine] = None,
    theme: str = "textual-dark",
) -> NimwatchApp:
    """The TUI with a fleet feed on ``fetch`` (no local logs unless ``engine`` has some), on the fleet screen."""
    feed = FleetFeed(URL, fetch, refresh, clock=lambda: AT)
    return make_app(engine or Engine(load_rules()), fleet=feed, open_fleet=open_fleet, clock=lambda: AT, theme=theme)
