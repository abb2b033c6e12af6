"""Prometheus metrics: the exposition text and its two outputs (``metrics:`` in :mod:`nimwatch.config.file`).

Owns :func:`render` (the Prometheus text format, built from the engine's
state) and :class:`MetricsExporter`, whose loop beats every
``interval`` (default 15 s): it stamps the heartbeat and rewrites the
node_exporter textfile atomically (temporary file + rename) even when no log
changed, and within :data:`CHANGE_DELAY` of a change; it also serves
``/metrics`` over stdlib ``http.server`` in a thread. A clean stop writes
``nimwatch_up 0`` into the textfile. Per client (judged on its last
migration, so a later ``nimadm -C`` does not hide it): the status, the current
phase, the outcome, phase durations, findings by severity, the time of the
last line, whether it is stalled and which hooks failed for it; per alert
sink that reported trouble, whether it is failing and its pending alerts (the
fleet's state); plus ``nimwatch_up`` and
``nimwatch_build_info``. The heartbeat, ETA and run-history families come from
:mod:`nimwatch.metrics_live`. No third-party library.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional

from nimwatch import __version__
from nimwatch.config.file import MetricsConfig
from nimwatch.core.events import Outcome, PhaseStatus, Severity
from nimwatch.core.verdict import client_verdict
from nimwatch.metrics_live import LiveMetrics

CHANGE_DELAY = 1.0
"""A change is written within this many seconds (or within ``interval`` when that is shorter)."""
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


# ---------------------------------------------------------------------- exposition


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, doc: str) -> None:
        self.lines += [f"# HELP {name} {doc}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, labels: dict[str, str], value: float) -> None:
        body = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{body}}} {_num(value)}" if body else f"{name} {_num(value)}")


Counter = tuple[str, str, str, float]
"""(name, type, help, value) of a metric without labels (the watcher's own counters)."""


def render(
    engine: Any,
    stalled: Optional[set[tuple[str, int]]] = None,
    extra: Optional[list[Counter]] = None,
    *,
    live: Optional[LiveMetrics] = None,
    up: int = 1,
    now: Optional[float] = None,
) -> str:
    """The metrics of every followed client, in the Prometheus text format.

    ``extra``: the watcher's own counters; ``live``: the heartbeat, ETA and history families; ``up``: 0 in
    the last textfile of a clean stop.
    """
    stalled = stalled or set()
    now = engine.clock() if now is None else now
    rows: dict[str, Any] = {}
    with engine.locked():
        for log, state in sorted(engine.logs.items()):
            current = state.current
            # a client is judged on its last migration, not on a later clean-up (core.verdict)
            verdict = client_verdict(state.runs) if state.runs else None
            run = state.run(verdict.run) if verdict is not None and verdict.run else current
            client = (run.client if run is not None else "") or state.client or os.path.basename(log)
            latest = rows.get(client)
            at = current.last_line_at if current is not None and current.last_line_at is not None else -1.0
            if latest is None or at >= latest["at"]:
                status = verdict.status if verdict is not None else "running"
                rows[client] = {"log": log, "run": run, "runs": len(state.runs), "at": at, "status": status}
        w = _Writer()
        w.family("nimwatch_up", "gauge", "1 while nimwatch watch is running; 0 written at a clean exit.")
        w.sample("nimwatch_up", {}, up)
        if live is not None:
            live.watcher_families(w, now)
        w.family("nimwatch_build_info", "gauge", "nimwatch version and Python version.")
        w.sample("nimwatch_build_info", {"version": __version__, "python": platform.python_version()}, 1)
        w.family("nimwatch_logs", "gauge", "Logs followed.")
        w.sample("nimwatch_logs", {}, len(engine.logs))
        ordered = sorted(rows.items())
        with_run = [(client, row, row["run"]) for client, row in ordered if row["run"] is not None]
        w.family("nimwatch_phase", "gauge", "Current (or last) nimadm phase of the latest run, 0 before phase 1.")
        for client, row in ordered:
            run = row["run"]
            w.sample("nimwatch_phase", {"client": client}, run.current_phase if run is not None else 0)
        w.family("nimwatch_outcome", "gauge", "1 for the outcome of the client's last migration run.")
        for client, _, run in with_run:
            for outcome in Outcome:
                w.sample("nimwatch_outcome", {"client": client, "outcome": outcome.value}, int(run.outcome is outcome))
        w.family("nimwatch_status", "gauge", "1 for the client's status, judged on its last migration.")
        for client, row in ordered:
            status = row["status"]
            if status == "running" and row["run"] is not None and (row["log"], row["run"].index) in stalled:
                status = "stalled"
            for name in ("running", "stalled", "failed", "incomplete", "succeeded", "other"):
                w.sample("nimwatch_status", {"client": client, "status": name}, int(status == name))
        w.family("nimwatch_runs", "gauge", "Runs seen in the client's log.")
        for client, row in ordered:
            w.sample("nimwatch_runs", {"client": client}, row["runs"])
        w.family("nimwatch_phase_duration_seconds", "gauge", "Duration of each finished phase of the latest run.")
        for client, _, run in with_run:
            for phase in run.phases:
                if phase.status in (PhaseStatus.DONE, PhaseStatus.FAILED) and phase.duration is not None:
                    w.sample(
                        "nimwatch_phase_duration_seconds",
                        {"client": client, "phase": str(phase.number)},
                        round(phase.duration, 3),
                    )
        w.family("nimwatch_phase_started_timestamp_seconds", "gauge", "When the current phase started (arrival time).")
        for client, _, run in with_run:
            if not run.current_phase:
                continue
            started = run.phase(run.current_phase).started_at
            if started is not None:
                w.sample("nimwatch_phase_started_timestamp_seconds", {"client": client}, round(started, 3))
        w.family("nimwatch_findings", "gauge", "Findings of the latest run, by severity.")
        for client, _, run in with_run:
            for sev in Severity:
                w.sample(
                    "nimwatch_findings", {"client": client, "severity": sev.value}, run.finding_counts.get(sev.value, 0)
                )
        w.family("nimwatch_last_line_timestamp_seconds", "gauge", "Arrival time of the client's last log line.")
        for client, row in ordered:
            if row["at"] >= 0:
                w.sample("nimwatch_last_line_timestamp_seconds", {"client": client}, round(row["at"], 3))
        w.family("nimwatch_stalled", "gauge", "1 while the client's running phase is reported stalled.")
        for client, row, run in with_run:
            w.sample("nimwatch_stalled", {"client": client}, int((row["log"], run.index) in stalled))
        w.family("nimwatch_hook_failed", "gauge", "1 while a hook's last result for the client's latest run failed.")
        for client, row in ordered:
            latest = engine.logs[row["log"]].current
            for hook in latest.failed_hooks if latest is not None else ():
                w.sample("nimwatch_hook_failed", {"client": client, "hook": hook.hook}, 1)
        sinks = sorted(engine.fleet.sinks.items())
        w.family("nimwatch_alert_sink_failing", "gauge", "1 while the alert sink cannot deliver (alerts wait).")
        for name, sink in sinks:
            w.sample("nimwatch_alert_sink_failing", {"sink": name}, int(sink.failing))
        w.family("nimwatch_alert_sink_pending", "gauge", "Alerts waiting for the sink, as it last reported.")
        for name, sink in sinks:
            w.sample("nimwatch_alert_sink_pending", {"sink": name}, sink.pending)
        if live is not None:
            live.client_families(w, rows, now)
    for name, kind, doc, value in extra or []:
        w.family(name, kind, doc)
        w.sample(name, {}, value)
    return "\n".join(w.lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same directory, then rename."""
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class MetricsExporter:
    """Keeps the textfile current and serves ``/metrics``.

    Args:
        config: where to write and listen.
        engine: the engine whose state is exported.
        stalled: returns the (log, run) pairs currently stalled.
        on_error: diagnostics (a textfile that cannot be written is reported, then retried).
        live: the heartbeat, ETA and history families (default: the heartbeat only).
        clock: seconds since the epoch (the heartbeat's time).
    """

    def __init__(
        self,
        config: MetricsConfig,
        engine: Any,
        *,
        stalled: Optional[Callable[[], set[tuple[str, int]]]] = None,
        on_error: Optional[Callable[[str], None]] = None,
        extra: Optional[Callable[[], list[Counter]]] = None,
        live: Optional[LiveMetrics] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.engine = engine
        self.extra = extra or (lambda: [])
        self.live = live if live is not None else LiveMetrics(None, config.interval)
        self.live.interval = config.interval
        self.clock = clock
        self.up = 1
        """0 once stopping: the last textfile and any last scrape say nimwatch is not running."""
        self.stalled = stalled or (lambda: set())
        self.on_error = on_error or (lambda message: None)
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._server: Optional[ThreadingHTTPServer] = None
        self._server_thread: Optional[threading.Thread] = None
        self._last_error = ""
        self._unsubscribe: Optional[Callable[[], None]] = None

    @property
    def address(self) -> Optional[tuple[str, int]]:
        """The address actually listened on (port 0 in the config picks a free one)."""
        if self._server is None:
            return None
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def text(self) -> str:
        return render(self.engine, self.stalled(), self.extra(), live=self.live, up=self.up, now=self.clock())

    def touch(self, *_: Any) -> None:
        """Something changed: rewrite the textfile soon."""
        self._dirty.set()

    def start(self) -> None:
        self._unsubscribe = self.engine.subscribe(self.touch)
        self.live.heartbeat = self.clock()
        if self.config.listen is not None:
            self._serve(self.config.listen)
        self._thread = threading.Thread(target=self._beat_loop, name="nimwatch-metrics", daemon=True)
        self._thread.start()

    def write_now(self) -> None:
        """Rewrite the textfile at once (``--once``, shutdown)."""
        if self.config.textfile is None:
            return
        try:
            write_textfile(self.config.textfile, self.text())
            self._last_error = ""
        except OSError as exc:
            message = f"metrics: cannot write {self.config.textfile}: {exc.strerror or exc}"
            if message != self._last_error:
                self._last_error = message
                self.on_error(message)

    def stop(self) -> None:
        """Stop beating; the textfile's last word is ``nimwatch_up 0`` (a clean exit, not a dead watcher)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stop.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.up = 0
        self.live.heartbeat = self.clock()
        self.write_now()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._server_thread is not None:
            self._server_thread.join()
            self._server_thread = None

    def _beat_loop(self) -> None:
        """Beat every ``interval``; a change is written sooner, at most once per :data:`CHANGE_DELAY`."""
        gap = min(CHANGE_DELAY, self.config.interval)
        while not self._stop.is_set():
            self._dirty.clear()  # before reading the state: a change made while writing is written next
            self.live.heartbeat = self.clock()
            self.write_now()
            written = time.monotonic()
            if self._dirty.wait(self.config.interval) and not self._stop.is_set():
                self._stop.wait(max(0.0, written + gap - time.monotonic()))

    def _serve(self, address: tuple[str, int]) -> None:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] not in ("/metrics", "/"):
                    self.send_error(404, "only /metrics here")
                    return
                body = exporter.text().encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Scrapes are not news: http.server's per-request line on stderr is silenced."""

        try:
            server = (_Server6 if ":" in address[0] else ThreadingHTTPServer)(address, Handler)
        except OSError as exc:
            self.on_error(f"metrics: cannot listen on {address[0]}:{address[1]}: {exc.strerror or exc}")
            return
        server.daemon_threads = True
        self._server = server
        self._server_thread = threading.Thread(target=server.serve_forever, name="nimwatch-metrics-http", daemon=True)
        self._server_thread.start()
