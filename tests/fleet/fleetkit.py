"""Real servers for the fleet tests: ``nimwatch watch`` processes, Prometheus, node_exporter, Alertmanager.

:class:`Master` runs a real ``nimwatch watch`` (a NIM master's watcher: its
logs, history, config with ``/metrics`` on a free port, a textfile and a one
second heartbeat); :func:`prometheus`, :func:`node_exporter` and
:func:`alertmanager` run Debian's binaries on free ports with temporary
configs and storage; :class:`HttpStub` is an HTTP server that is *not*
Prometheus (for the error cases). Nothing here sleeps: waits poll a condition
until a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from watch.proc import WatchProcess
from watch.servers import free_port
from watch.watchkit import failing_run, running_run, success_run, wait_for

from nimwatch.core.history import HistoryRecord

__all__ = ["free_port", "wait_for"]

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
DEADLINE = 120.0
"""Generous: two cores shared with other test suites (and stress-ng); Prometheus starts in 1-3 s when idle."""
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "prometheus"
EVIL = "evil\x1b[2J\u00e9"
"""A client name with an escape sequence (clear screen) and a non-ASCII letter."""


def fleet_cli(*args: str, encoding: str = "utf-8") -> subprocess.CompletedProcess[str]:
    """``python -m nimwatch fleet ARGS`` with its output in ``encoding``."""
    env = dict(os.environ, PYTHONIOENCODING=encoding)
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", "fleet", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding=encoding,
        errors="replace",
        timeout=120,
        check=False,
    )


def need(binary: Optional[str], package: str) -> str:
    if binary is None:
        pytest.skip(f"{package} is not installed (apt-get install {package})")
    return binary


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


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


# --------------------------------------------------------------------------- Prometheus and Alertmanager


def _ready(url: str, path: str = "/-/ready") -> bool:
    try:
        with urllib.request.urlopen(url + path, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _process(
    argv: list[str], url: str, log: Path, what: str, ready: str = "/-/ready"
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: proc.poll() is not None or _ready(url, ready), timeout=DEADLINE, what=f"{what} to be ready")
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
def prometheus(
    tmp: Path, jobs: dict[str, list[tuple[str, dict[str, str]]]], rules: Optional[Path] = None
) -> Iterator[str]:
    """Debian's Prometheus on 127.0.0.1, scraping ``jobs`` (job name to (target, labels)) every second,
    evaluating ``rules`` (a rule file) every second."""
    binary = need(PROMETHEUS, "prometheus")
    tmp.mkdir(parents=True, exist_ok=True)
    scrape = []
    for job, targets in jobs.items():
        statics = [{"targets": [t], "labels": labels} for t, labels in targets]
        scrape.append({"job_name": job, "scrape_interval": "1s", "scrape_timeout": "900ms", "static_configs": statics})
    config = tmp / "prometheus.yml"
    doc: dict[str, Any] = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "scrape_configs": scrape}
    if rules is not None:
        doc["rule_files"] = [str(rules)]
    config.write_text(json.dumps(doc))  # JSON is YAML
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


@contextlib.contextmanager
def node_exporter(tmp: Path, textfiles: Path) -> Iterator[str]:
    """Debian's node_exporter on 127.0.0.1 with only its textfile collector, reading ``textfiles``."""
    binary = need(NODE_EXPORTER, "prometheus-node-exporter")
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        binary,
        f"--web.listen-address=127.0.0.1:{port}",
        "--collector.disable-defaults",
        "--collector.textfile",
        f"--collector.textfile.directory={textfiles}",
    ]
    with _process(argv, f"http://127.0.0.1:{port}", tmp / "node_exporter.log", "node_exporter", ready="/metrics"):
        yield f"127.0.0.1:{port}"


def targets_up(url: str, count: int) -> bool:
    """Prometheus has scraped ``count`` targets successfully at least once."""
    try:
        data = get_json(url + "/api/v1/targets")["data"]["activeTargets"]
    except (OSError, ValueError, KeyError):
        return False
    return len(data) == count and all(t["health"] == "up" for t in data)


def query(url: str, expr: str) -> list[dict[str, Any]]:
    """An instant query's samples (label sets with ``value`` as a float)."""
    data = get_json(url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))["data"]["result"]
    return [{**item["metric"], "value": float(item["value"][1])} for item in data]


# --------------------------------------------------------------------------- real watchers


def textfile_values(path: Path) -> dict[str, float]:
    """``name{labels}`` -> value of a textfile (labels as written); {} when it is missing."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


class Master:
    """One NIM master's ``nimwatch watch``: its logs, state journal (with history), config and metrics.

    ``/metrics`` on a free port of 127.0.0.1, a textfile in its own directory, a heartbeat every
    ``interval`` seconds, and ``stall`` (a YAML mapping) for the stall thresholds.
    """

    def __init__(
        self,
        root: Path,
        logs: dict[str, str],
        history: Sequence[Any] = (),
        stall: str = "",
        interval: float = 1.0,
    ) -> None:
        from nimwatch.history_store import store_records

        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True)
        for client, text in logs.items():
            (self.logs / f"{client}_alt_mig.log").write_text(text)
        self.state = root / "state.db"
        if history:
            store_records(self.state, history)
        self.port = free_port()
        self.textfiles = root / "textfile"
        self.textfiles.mkdir()
        self.textfile = self.textfiles / "nimwatch.prom"
        self.interval = interval
        config = root / "nimwatch.yaml"
        config.write_text(
            f"metrics:\n  listen: 127.0.0.1:{self.port}\n  textfile: {self.textfile}\n  interval: {interval}\n"
            + (f"stall:\n{stall}" if stall else "")
        )
        self.proc = WatchProcess([str(self.logs)], config, self.state, root).ready()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def heartbeat(self) -> Optional[float]:
        return textfile_values(self.textfile).get("nimwatch_heartbeat_timestamp_seconds")

    def kill(self) -> None:
        """kill -9: no clean exit, the textfile stays as it was."""
        if self.proc.proc.poll() is None:
            self.proc.kill()

    def stop(self) -> int:
        return self.proc.stop() if self.proc.proc.poll() is None else int(self.proc.proc.returncode)


# --------------------------------------------------------------------------- the two masters of the fleet tests


def history(client: str, runs: int, seconds: float) -> list[HistoryRecord]:
    """``runs`` succeeded runs of ``client``, every phase ``seconds`` long."""
    return [
        HistoryRecord(
            client=client,
            outcome="succeeded",
            log=f"/old/{client}_{i}_alt_mig.log",
            started_at=1_000_000.0 + 10_000 * i,
            finished_at=1_000_000.0 + 10_000 * i + 12 * seconds,
            phases=dict.fromkeys(range(1, 13), seconds),
        )
        for i in range(runs)
    ]


def nim01(root: Path) -> Master:
    logs = {
        "lpar1": running_run("lpar1", 6),
        "lpar2": failing_run("lpar2", 2),
        "web1": success_run("web1"),
        EVIL: success_run(EVIL),
    }
    return Master(root, logs, history=history("lpar1", 5, 600.0))


def nim02(root: Path) -> Master:
    """db1 stalls (phase 3's threshold is 1.2 s here); app1's ETA rests on twelve other clients' runs."""
    logs = {"db1": running_run("db1", 3), "app1": running_run("app1", 9)}
    others = [r for i in range(12) for r in history(f"other{i}", 1, 300.0)]
    return Master(root, logs, history=others, stall="  phases: {3: 0.02}\n")


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
