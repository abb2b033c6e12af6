"""Kill -9 in the middle of a run, restart, and count the alerts a webhook receiver got.

Logs of several clients grow while ``nimwatch watch`` runs as a real process.
It is killed with SIGKILL twice and restarted each time; the writer never
stops. At the end the receiver must hold every alert the final logs call for.

The first kill comes while the webhook answers 503 (alerts pile up in the
spool) and only after a refused request proved that every accepted one was
recorded as sent: then no alert may arrive twice. The second kill comes while
alerts are being delivered at full speed: delivery is at-least-once, so an
alert whose HTTP answer was on its way when the process died may come again
(receivers drop it by its ``id``): at most one such repeat is allowed.
"""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path
from typing import Any

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine

from .proc import WatchProcess
from .servers import HttpReceiver
from .watchkit import failing_run, success_run, wait_for

EVENTS = ("run_started", "phase_started", "phase_finished", "finding", "run_finished")


class GatedReceiver(HttpReceiver):
    """Answers 503 without recording while ``gated``; counts the refused requests."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0
        self.gated = False
        original = self.server.RequestHandlerClass.do_POST  # type: ignore[attr-defined]
        receiver = self

        def do_post(handler: Any) -> None:
            with receiver._lock:
                gated = receiver.gated
                if gated:
                    receiver.refused += 1
            if gated:
                length = int(handler.headers.get("Content-Length", "0"))
                handler.rfile.read(length)
                handler.send_response(503)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
            original(handler)

        self.server.RequestHandlerClass.do_POST = do_post  # type: ignore[attr-defined]


def texts() -> dict[str, str]:
    return {
        "web1": success_run("web1", body_lines=25),
        "db2": failing_run("db2", 4) + success_run("db2", body_lines=10),
        "app3": failing_run("app3", 1) + failing_run("app3", 2),
        "lpar4": success_run("lpar4", body_lines=40),
    }


def write_all(logs: Path, stop: threading.Event, done: threading.Event, last_part: threading.Event) -> None:
    """Round-robin appends of a few lines to every log, cut anywhere, until everything is written.

    The last quarter of every log waits for ``last_part``: the logs are still growing at both kills,
    however slowly a loaded machine restarts the watcher.
    """
    pending = {client: text.encode() for client, text in texts().items()}
    held = {client: len(data) // 4 for client, data in pending.items()}
    handles = {client: open(logs / f"{client}_alt_mig.log", "ab") for client in pending}  # noqa: SIM115
    try:
        while pending and not stop.is_set():
            if all(len(pending[c]) <= held[c] for c in pending) and not last_part.is_set():
                last_part.wait(0.05)
                continue
            for client in list(pending):
                if len(pending[client]) <= held[client] and not last_part.is_set():
                    continue
                data = pending[client]
                handles[client].write(data[:150])
                handles[client].flush()
                pending[client] = data[150:]
                if not pending[client]:
                    del pending[client]
            time.sleep(0.01)
    finally:
        for handle in handles.values():
            handle.close()
        done.set()


def expected_alerts(rules: RuleSet, logs: Path) -> collections.Counter[tuple[Any, ...]]:
    engine = Engine(rules)
    out: collections.Counter[tuple[Any, ...]] = collections.Counter()
    for client in texts():
        log = logs / f"{client}_alt_mig.log"
        for n in engine.feed(str(log), log.read_bytes(), at=0.0):
            if n.event in EVENTS:
                out[(n.client, n.event, n.run, n.phase, n.get("line"), n.get("rule"))] += 1
    return out


def received(http: HttpReceiver) -> collections.Counter[tuple[Any, ...]]:
    return collections.Counter(
        (b["client"], b["event"], b["run"], b["phase"], b.get("line"), b.get("rule")) for b in http.bodies()
    )


def test_sigkill_mid_run_neither_repeats_nor_loses_alerts(rules: RuleSet, tmp_path: Path) -> None:
    http = GatedReceiver()
    config = tmp_path / "nimwatch.yaml"
    config.write_text(
        f"alerts:\n  - type: webhook\n    name: hook\n    url: {http.url}/alerts\n    severity: info\n"
        "    rate_limit: 0\n"
        f"    events: [{', '.join(EVENTS)}]\n"
    )
    config.chmod(0o600)
    logs = tmp_path / "logs"
    logs.mkdir()
    state = tmp_path / "state.db"
    stop, done, last_part = threading.Event(), threading.Event(), threading.Event()
    writer = threading.Thread(target=write_all, args=(logs, stop, done, last_part))
    watcher = WatchProcess([str(logs)], config, state, tmp_path).ready()
    writer.start()
    try:
        # 1. alerts flow; then the receiver refuses; kill once a refusal proves the accepted ones are recorded
        wait_for(lambda: len(http.bodies()) >= 10, what="the first alerts")
        with http._lock:
            http.gated = True
        wait_for(lambda: http.refused >= 1, what="a refused delivery")
        assert not done.is_set(), "the logs finished growing before the first kill: make them longer"
        watcher.kill()
        first = received(http)
        assert max(first.values()) == 1
        with http._lock:
            http.gated = False

        # 2. restart (the logs hold their last quarter back: the alerts are the backlog); kill again in full flow.
        # Counted before the restart: a quick watcher may deliver the whole backlog before ready() sees it start.
        count = len(http.bodies())
        watcher = WatchProcess([str(logs)], config, state, tmp_path).ready()
        wait_for(lambda: len(http.bodies()) >= count + 10, what="alerts after the first restart")
        watcher.kill()
        assert not done.is_set(), "the logs finished growing before the second kill"
        last_part.set()

        # 3. restart and let everything settle
        watcher = WatchProcess([str(logs)], config, state, tmp_path).ready()
        wait_for(done.is_set, timeout=60, what="the writer to finish")
        want = expected_alerts(rules, logs)
        wait_for(lambda: set(received(http)) == set(want), timeout=60, what="every expected alert")
        time.sleep(0.5)  # not synchronisation: a last look for stragglers that would be repeats
        got = received(http)
    finally:
        stop.set()
        last_part.set()
        writer.join()
        code = watcher.stop()
        http.close()
    assert code == 0
    assert set(got) == set(want)  # none missing, nothing unexpected
    repeats = {k: v for k, v in got.items() if v > want[k]}
    assert sum(v - want[k] for k, v in repeats.items()) <= 1, repeats  # only the one in flight at the second kill
    assert "Traceback" not in watcher.stderr()


def test_sigterm_while_the_webhook_is_down_keeps_the_alerts_for_later(rules: RuleSet, tmp_path: Path) -> None:
    http = GatedReceiver()
    with http._lock:
        http.gated = True
    config = tmp_path / "nimwatch.yaml"
    config.write_text(f"alerts:\n  - type: webhook\n    url: {http.url}/alerts\n")
    config.chmod(0o600)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "db1_alt_mig.log").write_text(failing_run("db1", 3))
    watcher = WatchProcess([str(logs)], config, tmp_path / "state.db", tmp_path).ready()
    wait_for(lambda: any(e["event"] == "alert_failed" for e in watcher.events()), what="alert_failed on stdout")
    failed = next(e for e in watcher.events() if e["event"] == "alert_failed")
    assert failed["pending"] >= 1 and "HTTP 503" in failed["error"]
    assert watcher.stop() == 0
    with http._lock:
        http.gated = False
    watcher = WatchProcess([str(logs)], config, tmp_path / "state.db", tmp_path).ready()
    try:
        wait_for(lambda: len(http.bodies()) == failed["pending"], what="the spooled alerts after the restart")
    finally:
        watcher.stop()
        http.close()
    assert [b["client"] for b in http.bodies()] == ["db1"] * failed["pending"]
