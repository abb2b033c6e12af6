"""The fleet view's data: every NIM master's watcher and clients, read back from Prometheus.

Owns the queries (:data:`WATCHER_QUERIES`, :data:`CLIENT_QUERIES`,
:data:`LAST_KNOWN_QUERIES`: the metric set of ``examples/prometheus/README.md``),
:func:`collect` (runs them at one evaluation instant of Prometheus' clock)
and :func:`build` (pure: query results to :class:`FleetView`, grouped by
master), with the status and the cause of each client row.

A master is the target's ``master`` label, else its ``instance``. A watcher
(one scrape target: nimwatch's ``/metrics`` or a node_exporter reading its
textfile) is ``up``, ``stopped`` (it wrote ``nimwatch_up 0`` at a clean exit),
``down`` (its scrapes fail) or ``stale`` (its heartbeat is older than three
intervals: dead behind a textfile). The clients of a watcher that is not up
are shown with their last known state and the status ``unknown``: a frozen
textfile still says "running" or "stalled", and neither can be believed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from nimwatch.errors import UsageError

if TYPE_CHECKING:  # the view's types need no HTTP client: the TUI's fleet screen imports them alone
    from nimwatch.prometheus_api import PrometheusClient, Sample

DEFAULT_LOOKBACK = "1h"
LOOKBACK_RE = re.compile(r"^[1-9][0-9]*[smhdw]$")

WATCHER_QUERIES = {
    "up_last": "last_over_time(nimwatch_up[{lookback}])",
    "scrape_up": "up and on (instance, job) last_over_time(nimwatch_up[{lookback}])",
    "heartbeat": "last_over_time(nimwatch_heartbeat_timestamp_seconds[{lookback}])",
    "interval": "last_over_time(nimwatch_heartbeat_interval_seconds[{lookback}])",
}
"""Per watcher. ``last_over_time`` keeps a watcher whose scrapes fail (its series went stale) in view."""

CLIENT_QUERIES = {
    "phase": "nimwatch_phase",
    "outcome": "nimwatch_outcome == 1",
    "stalled": "nimwatch_stalled",
    "eta": "nimwatch_eta_seconds",
    "basis": "nimwatch_eta_basis_runs",
    "overdue": "nimwatch_phase_overdue_seconds",
    "p95": "nimwatch_phase_p95_seconds",
    "phase_started": "nimwatch_phase_started_timestamp_seconds",
    "last_line": "nimwatch_last_line_timestamp_seconds",
    "errors": 'nimwatch_findings{severity="error"}',
}
"""Per client, current values."""

LAST_KNOWN_QUERIES = {
    "last_phase": "last_over_time(nimwatch_phase[{lookback}])",
    "last_outcome": "last_over_time(nimwatch_outcome[{lookback}]) == 1",
    "last_stalled": "last_over_time(nimwatch_stalled[{lookback}])",
}
"""Per client, the last values seen: what a watcher whose scrapes fail said last."""

STATUS_RANK = {"failed": 0, "stalled": 1, "unknown": 2, "incomplete": 3, "running": 4, "succeeded": 5}
"""Order of client rows inside a master: what needs a person first."""
STALE_BEATS = 3
"""A heartbeat older than this many intervals is stale (the rule NimwatchHeartbeatStale says the same)."""


@dataclass(frozen=True)
class WatcherView:
    """One scrape target that exports nimwatch's metrics."""

    master: str
    instance: str
    job: str
    state: str
    """``up``, ``stopped``, ``down`` or ``stale``."""
    heartbeat_age: Optional[float] = None
    """Seconds since the last heartbeat (None: this nimwatch exports no heartbeat)."""
    interval: Optional[float] = None

    def to_json(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "job": self.job,
            "state": self.state,
            "heartbeat_age": _rounded(self.heartbeat_age),
            "interval": self.interval,
        }


@dataclass(frozen=True)
class ClientView:
    """One client's row: the latest run of its log on one master."""

    master: str
    client: str
    instance: str
    job: str
    status: str
    """``running``, ``stalled``, ``failed``, ``incomplete``, ``succeeded`` or ``unknown``."""
    phase: int
    outcome: str = ""
    eta: Optional[float] = None
    finish_at: Optional[float] = None
    basis: str = ""
    basis_runs: Optional[int] = None
    overdue: float = 0.0
    in_phase: Optional[float] = None
    """Seconds the current phase has run."""
    last_line_age: Optional[float] = None
    errors: int = 0
    cause: str = ""
    live: bool = True
    """False: the watcher is not up, these are its last known values."""

    def to_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "status": self.status,
            "phase": self.phase,
            "outcome": self.outcome,
            "eta": _rounded(self.eta),
            "finish_at": _rounded(self.finish_at),
            "eta_basis": self.basis_runs,
            "basis": self.basis,
            "overdue": _rounded(self.overdue),
            "in_phase": _rounded(self.in_phase),
            "last_line_age": _rounded(self.last_line_age),
            "errors": self.errors,
            "cause": self.cause,
            "live": self.live,
            "instance": self.instance,
        }


@dataclass(frozen=True)
class MasterView:
    name: str
    watchers: tuple[WatcherView, ...]
    clients: tuple[ClientView, ...]

    @property
    def state(self) -> str:
        """``up`` when every watcher is up, else the first bad state (down, stale, stopped)."""
        return next((s for s in ("down", "stale", "stopped") if any(w.state == s for w in self.watchers)), "up")

    def to_json(self) -> dict[str, Any]:
        return {
            "master": self.name,
            "state": self.state,
            "watchers": [w.to_json() for w in self.watchers],
            "clients": [c.to_json() for c in self.clients],
        }


@dataclass(frozen=True)
class FleetView:
    url: str
    at: float
    """Prometheus' evaluation time of every query (seconds since the epoch)."""
    lookback: str
    masters: tuple[MasterView, ...] = field(default_factory=tuple)

    @property
    def clients(self) -> list[ClientView]:
        return [c for m in self.masters for c in m.clients]

    def to_json(self) -> dict[str, Any]:
        return {
            "prometheus": self.url,
            "at": round(self.at, 3),
            "lookback": self.lookback,
            "masters": [m.to_json() for m in self.masters],
        }


def _rounded(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


# --------------------------------------------------------------------------- building the view


Target = tuple[str, str]
"""(instance, job): one scrape target."""
ClientKey = tuple[str, str, str]
"""(instance, job, client): one client of one scrape target."""
Found = Mapping[str, Mapping[Any, "Sample"]]
"""A query's name -> its samples by target or by client."""


def _target(sample: Sample) -> Target:
    return sample.labels.get("instance", ""), sample.labels.get("job", "")


def _by_client(samples: list[Sample]) -> dict[ClientKey, Sample]:
    return {(*_target(s), s.labels.get("client", "")): s for s in samples if s.labels.get("client")}


def _master_of(labels: Mapping[str, str]) -> str:
    return labels.get("master") or labels.get("instance") or "?"


def _value(sample: Optional[Sample]) -> Optional[float]:
    return finite(sample.value) if sample is not None else None


def _label(sample: Optional[Sample], name: str) -> str:
    return sample.labels.get(name, "") if sample is not None else ""


def _watcher(sample: Sample, by_target: Found, at: float) -> WatcherView:
    target = _target(sample)
    scrape = by_target["scrape_up"].get(target)
    interval = _value(by_target["interval"].get(target))
    beat_at = _value(by_target["heartbeat"].get(target))
    age = max(0.0, at - beat_at) if beat_at is not None else None
    if scrape is not None and scrape.value == 0:
        state = "down"
    elif sample.value == 0:
        state = "stopped"
    elif age is not None and interval and age > STALE_BEATS * interval:
        state = "stale"
    else:
        state = "up"
    return WatcherView(_master_of(sample.labels), target[0], target[1], state, age, interval)


def finite(value: float) -> Optional[float]:
    """``value``, or None for NaN and infinities (a sample Prometheus holds, but no time or count)."""
    return value if math.isfinite(value) else None


def human_duration(seconds: Optional[float]) -> str:
    """``1h05m``, ``47m``, ``30s``; ``-`` when unknown."""
    from nimwatch.eta_live import short_duration

    return "-" if seconds is None or not math.isfinite(seconds) else short_duration(seconds)


def _live_client(key: ClientKey, master: str, by_client: Found, at: float) -> ClientView:
    def value(name: str) -> Optional[float]:
        return _value(by_client[name].get(key))

    phase = int(value("phase") or 0)
    outcome = _label(by_client["outcome"].get(key), "outcome")
    errors = int(value("errors") or 0)
    started = value("phase_started")
    in_phase = max(0.0, at - started) if started is not None else None
    last_line = value("last_line")
    last_line_age = max(0.0, at - last_line) if last_line is not None else None
    runs = value("basis")
    overdue = max(0.0, value("overdue") or 0.0)
    p95 = value("p95")
    eta = value("eta")
    running = outcome == "running"
    status, cause = "unknown", "no run in the log yet"
    if outcome == "failed":
        status = "failed"
        cause = f"failed in phase {phase}" + (f", {errors} error{'s' if errors != 1 else ''}" if errors else "")
    elif outcome == "incomplete":
        status, cause = "incomplete", f"the log ended in phase {phase}"
    elif outcome == "succeeded":
        status, cause = "succeeded", ""
    elif running:
        status, cause = "running", ""
        if value("stalled") == 1:
            status = "stalled"
            cause = f"no new line for {human_duration(last_line_age)}" if last_line_age is not None else "stalled"
            cause += f" in phase {phase}"
        elif overdue > 0:
            cause = f"phase {phase} overdue by {human_duration(overdue)}"
        if in_phase is not None and p95 is not None and in_phase > p95:
            cause += ("; " if cause else "") + f"phase {phase} slower than 95 % of its history"
    return ClientView(
        master=master,
        client=key[2],
        instance=key[0],
        job=key[1],
        status=status,
        phase=phase,
        outcome=outcome,
        eta=eta if running and eta is not None else None,
        finish_at=at + eta if running and eta is not None else None,
        basis=_label(by_client["basis"].get(key), "basis"),
        basis_runs=int(runs) if runs is not None else None,
        overdue=overdue if running else 0.0,
        in_phase=in_phase if running else None,
        last_line_age=last_line_age,
        errors=errors,
        cause=cause,
    )


def _last_known_client(key: ClientKey, watcher: WatcherView, by_client: Found) -> ClientView:
    def last(name: str) -> Optional[Sample]:
        return by_client["last_" + name].get(key) or by_client[name].get(key)

    phase = int(_value(last("phase")) or 0)
    outcome = _label(last("outcome"), "outcome")
    stalled = last("stalled")
    seen = "stalled" if outcome == "running" and stalled is not None and stalled.value == 1 else outcome or "seen"
    cause = f"watcher {watcher.state}: last seen {seen} in phase {phase}"
    instance, job, client = key
    return ClientView(
        watcher.master, client, instance, job, status="unknown", phase=phase, outcome=outcome, cause=cause, live=False
    )


def build(results: Mapping[str, list[Sample]], at: float, url: str = "", lookback: str = DEFAULT_LOOKBACK) -> FleetView:
    """The fleet view from the answers to :data:`WATCHER_QUERIES`, :data:`CLIENT_QUERIES` and
    :data:`LAST_KNOWN_QUERIES` (keyed by their names), evaluated at ``at``."""
    by_target = {name: {_target(s): s for s in results.get(name, [])} for name in WATCHER_QUERIES}
    by_client = {name: _by_client(results.get(name, [])) for name in (*CLIENT_QUERIES, *LAST_KNOWN_QUERIES)}
    watchers = {_target(s): _watcher(s, by_target, at) for s in results.get("up_last", []) if s.labels.get("instance")}
    rows: dict[tuple[str, str], ClientView] = {}
    for key in sorted({k for name in ("phase", "outcome", "last_phase", "last_outcome") for k in by_client[name]}):
        watcher = watchers.get(key[:2])
        if watcher is None:
            continue
        if watcher.state == "up":
            if key not in by_client["phase"] and key not in by_client["outcome"]:
                continue  # gone from a live watcher (a log removed): last_over_time still remembers it
            row = _live_client(key, watcher.master, by_client, at)
        else:
            row = _last_known_client(key, watcher, by_client)
        seen = rows.get((watcher.master, key[2]))
        fresh = (row.live, row.last_line_age is not None, -(row.last_line_age or 0))
        if seen is None or fresh > (seen.live, seen.last_line_age is not None, -(seen.last_line_age or 0)):
            rows[(watcher.master, key[2])] = row  # one master scraped twice (textfile and /metrics): the freshest wins
    masters: dict[str, list[WatcherView]] = {}
    for watcher in watchers.values():
        masters.setdefault(watcher.master, []).append(watcher)
    views = []
    for name in sorted(masters):
        clients = sorted(
            (r for (m, _), r in rows.items() if m == name), key=lambda r: (STATUS_RANK[r.status], r.client)
        )
        views.append(MasterView(name, tuple(sorted(masters[name], key=lambda w: w.instance)), tuple(clients)))
    return FleetView(url, at, lookback, tuple(views))


# --------------------------------------------------------------------------- asking Prometheus


def check_lookback(lookback: str) -> str:
    if not LOOKBACK_RE.match(lookback):
        raise UsageError(f"--lookback {lookback!r} is not a Prometheus duration such as 15m, 1h or 2d")
    return lookback


def collect(client: PrometheusClient, lookback: str = DEFAULT_LOOKBACK) -> FleetView:
    """Ask Prometheus every query at one instant of its own clock and build the view."""
    check_lookback(lookback)
    now = client.query("time()")
    at = now[0].value if now else 0.0
    results = {
        name: client.query(expr.replace("{lookback}", lookback), at=at)
        for table in (WATCHER_QUERIES, CLIENT_QUERIES, LAST_KNOWN_QUERIES)
        for name, expr in table.items()
    }
    return build(results, at, client.url, lookback)
