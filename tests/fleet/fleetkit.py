"""Real servers for the fleet tests: metric endpoints in the designed format, Prometheus, Alertmanager.

:func:`exposition` writes the metric set of ``examples/prometheus/README.md``
(what ``nimwatch watch`` will serve once round two wires the history in);
:class:`MetricsServer` serves it on 127.0.0.1 as a stand-in for a watcher;
:func:`prometheus` and :func:`alertmanager` run Debian's binaries on free
ports with temporary configs and storage. Nothing here sleeps: waits poll a
condition until a deadline.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from watch.servers import free_port
from watch.watchkit import wait_for

__all__ = ["free_port", "wait_for"]

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
DEADLINE = 60.0
"""Generous: two cores shared with other test suites; Prometheus starts in 1-3 s when idle."""
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "prometheus"


def need(binary: Optional[str], package: str) -> str:
    if binary is None:
        pytest.skip(f"{package} is not installed (apt-get install {package})")
    return binary


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


# --------------------------------------------------------------------------- the designed exposition


@dataclass
class ClientMetrics:
    client: str
    phase: int
    outcome: str
    stalled: bool = False
    eta: Optional[float] = None
    basis: str = "client"
    basis_runs: int = 0
    overdue: float = 0.0
    p95: Optional[float] = None
    phase_started: Optional[float] = None
    last_line: Optional[float] = None
    errors: int = 0


@dataclass
class WatcherMetrics:
    clients: list[ClientMetrics] = field(default_factory=list)
    up: int = 1
    interval: float = 15.0
    heartbeat: Optional[float] = None
    """None: the current time at each scrape (a live watcher)."""


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(float(value))


def exposition(watcher: WatcherMetrics) -> str:
    """The Prometheus text format of one watcher, as designed in examples/prometheus/README.md."""
    lines: list[str] = []

    def family(name: str, kind: str, doc: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP {name} {doc}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            body = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{body}}} {_num(value)}" if body else f"{name} {_num(value)}")

    beat = time.time() if watcher.heartbeat is None else watcher.heartbeat
    cs = watcher.clients
    family("nimwatch_up", "gauge", "1 while nimwatch watch is running; 0 written at a clean exit.", [({}, watcher.up)])
    family("nimwatch_heartbeat_timestamp_seconds", "gauge", "When nimwatch last rewrote its metrics.", [({}, beat)])
    family("nimwatch_heartbeat_interval_seconds", "gauge", "Seconds between two heartbeats.", [({}, watcher.interval)])
    family("nimwatch_logs", "gauge", "Logs followed.", [({}, len(cs))])
    family("nimwatch_phase", "gauge", "Current (or last) nimadm phase.", [({"client": c.client}, c.phase) for c in cs])
    family(
        "nimwatch_outcome",
        "gauge",
        "1 for the outcome of the client's latest run.",
        [
            ({"client": c.client, "outcome": o}, int(c.outcome == o))
            for c in cs
            for o in ("running", "succeeded", "failed", "incomplete")
        ],
    )
    family("nimwatch_stalled", "gauge", "1 while stalled.", [({"client": c.client}, int(c.stalled)) for c in cs])
    family(
        "nimwatch_findings",
        "gauge",
        "Findings of the latest run, by severity.",
        [
            ({"client": c.client, "severity": s}, c.errors if s == "error" else 0)
            for c in cs
            for s in ("info", "warning", "error")
        ],
    )
    running = [c for c in cs if c.outcome == "running"]
    family(
        "nimwatch_phase_started_timestamp_seconds",
        "gauge",
        "When the current phase started.",
        [({"client": c.client}, c.phase_started) for c in cs if c.phase_started is not None],
    )
    family(
        "nimwatch_last_line_timestamp_seconds",
        "gauge",
        "Arrival time of the client's last log line.",
        [({"client": c.client}, c.last_line) for c in cs if c.last_line is not None],
    )
    family(
        "nimwatch_eta_seconds",
        "gauge",
        "Seconds until the running run is expected to finish.",
        [({"client": c.client}, c.eta) for c in running if c.eta is not None],
    )
    family(
        "nimwatch_eta_basis_runs",
        "gauge",
        "Finished runs the ETA rests on.",
        [({"basis": c.basis, "client": c.client}, c.basis_runs) for c in running if c.eta is not None],
    )
    family(
        "nimwatch_phase_overdue_seconds",
        "gauge",
        "How far the current phase runs past its p90.",
        [({"client": c.client}, c.overdue) for c in running],
    )
    family(
        "nimwatch_phase_p95_seconds",
        "gauge",
        "p95 of the current phase's duration in the history.",
        [({"client": c.client}, c.p95) for c in running if c.p95 is not None],
    )
    family(
        "nimwatch_history_runs_total",
        "counter",
        "Finished runs in the history, by outcome.",
        [({"outcome": o}, 5 if o == "succeeded" else 0) for o in ("succeeded", "failed", "incomplete")],
    )
    lines.append("# HELP nimwatch_history_phase_duration_seconds Phase durations of succeeded, complete runs.")
    lines.append("# TYPE nimwatch_history_phase_duration_seconds histogram")
    for le, count in (("1800", 3), ("2700", 5), ("+Inf", 5)):
        lines.append(f'nimwatch_history_phase_duration_seconds_bucket{{mode="cache",phase="6",le="{le}"}} {count}')
    lines.append('nimwatch_history_phase_duration_seconds_sum{mode="cache",phase="6"} 10020')
    lines.append('nimwatch_history_phase_duration_seconds_count{mode="cache",phase="6"} 5')
    return "\n".join(lines) + "\n"


Reply = Optional[tuple[int, bytes, str]]
"""Status, body and content type; None: never answer (until the server closes)."""


class HttpStub:
    """An HTTP server on 127.0.0.1 answering every GET with ``reply()``; records the request headers."""

    def __init__(self, reply: Callable[[], Reply]) -> None:
        self.reply = reply
        self.seen: list[dict[str, str]] = []
        self.release = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.seen.append(dict(self.headers))
                answer = stub.reply()
                if answer is None:
                    stub.release.wait(60)
                    return
                status, body, kind = answer
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Requests are not news."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.stopped = False

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return "http://" + self.target

    def stop(self) -> None:
        """Stop answering: the port is closed (a watcher killed with -9)."""
        if not self.stopped:
            self.stopped = True
            self.release.set()
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()


class MetricsServer(HttpStub):
    """A stand-in for one watcher's ``/metrics`` (round two runs ``nimwatch watch`` instead)."""

    def __init__(self, watcher: WatcherMetrics) -> None:
        self.watcher = watcher
        super().__init__(lambda: (200, exposition(self.watcher).encode("utf-8"), CONTENT_TYPE))


# --------------------------------------------------------------------------- Prometheus and Alertmanager


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/-/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _process(argv: list[str], url: str, log: Path, what: str) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: proc.poll() is not None or _ready(url), timeout=DEADLINE, what=f"{what} to be ready")
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def prometheus(tmp: Path, jobs: dict[str, list[tuple[str, dict[str, str]]]]) -> Iterator[str]:
    """Debian's Prometheus on 127.0.0.1, scraping ``jobs`` (job name to (target, labels)) every second."""
    binary = need(PROMETHEUS, "prometheus")
    tmp.mkdir(parents=True, exist_ok=True)
    scrape = []
    for job, targets in jobs.items():
        statics = [{"targets": [t], "labels": labels} for t, labels in targets]
        scrape.append({"job_name": job, "scrape_interval": "1s", "scrape_timeout": "900ms", "static_configs": statics})
    config = tmp / "prometheus.yml"
    config.write_text(json.dumps({"global": {"scrape_interval": "1s"}, "scrape_configs": scrape}))  # JSON is YAML
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with _process(argv, url, tmp / "prometheus.log", "prometheus"):
        yield url


def targets_up(url: str, count: int) -> bool:
    """Prometheus has scraped ``count`` targets successfully at least once."""
    try:
        data = get_json(url + "/api/v1/targets")["data"]["activeTargets"]
    except (OSError, ValueError, KeyError):
        return False
    return len(data) == count and all(t["health"] == "up" for t in data)


@contextlib.contextmanager
def alertmanager(tmp: Path, config: Path) -> Iterator[str]:
    """Debian's Alertmanager on 127.0.0.1 with ``config`` (clustering off)."""
    binary = need(ALERTMANAGER, "prometheus-alertmanager")
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.path={tmp / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with _process(argv, url, tmp / "alertmanager.log", "alertmanager"):
        yield url


def post_json(url: str, payload: Any) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
