"""stdout of ``nimwatch watch``: written, then recorded; a reader that stops reading stops nothing else.

1. ``kill -9`` at random points of a real ``nimwatch watch`` process, 20 times,
   while its logs grow: a reader that collects the complete lines across the
   restarts must end up with every event the logs call for (repeats are
   allowed, each carrying the same ``id``; losses are not).
2. A stdout nobody reads: alerts and hooks still go out for every run, the
   dropped lines are counted, said on stderr and reported by an
   ``output_dropped`` line once stdout is read again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine

from .proc import WatchProcess, run_once, watch_env
from .servers import HttpReceiver
from .watchkit import StreamBytes, append, failing_run, success_run, wait_for

TRIALS = 20


def identity(event: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies an event whatever session printed it (the journal key, without the file's inode)."""
    return (event["log"], event["event"], event["run"], event["phase"], event.get("line"), event.get("rule"))


def complete_events(lines: list[str]) -> list[dict[str, Any]]:
    """The JSON objects of the complete lines (the last line of a killed process may be cut)."""
    out = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        out.append(value)
    return out


def pieces(text: str, count: int) -> list[str]:
    step = max(1, len(text) // count)
    return [text[i : i + step] for i in range(0, len(text), step)]


class Killable:
    """``nimwatch watch`` with a stdout pipe shrunk to one page and a reader the test can pause.

    With the reader paused the pipe fills after a few lines and the watcher blocks in ``write``:
    the moment "recorded but not yet printed" lasts until the test kills it.
    """

    def __init__(self, args: list[str], state: Path, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nimwatch", "watch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=watch_env(None, state),
            cwd=str(cwd),
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        if hasattr(fcntl, "F_SETPIPE_SZ"):
            with contextlib.suppress(OSError):
                fcntl.fcntl(self.proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)
        self.reading = threading.Event()
        self.reading.set()
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.err = StreamBytes(self.proc.stderr)
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        while True:
            self.reading.wait()
            line = self.proc.stdout.readline()
            if not line:
                return
            with self._lock:
                self.lines.append(line.decode("ascii", "replace"))

    def count(self) -> int:
        with self._lock:
            return len(self.lines)

    def kill(self) -> list[dict[str, Any]]:
        """SIGKILL, then read what the pipe still holds; the complete events printed."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.reading.set()
        self._thread.join(timeout=30)
        self.err.join()
        with self._lock:
            return complete_events(self.lines)


def recorded(state: Path) -> int:
    """Events the journal holds as delivered (a read-only look while the watcher writes)."""
    if not state.exists():
        return 0
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM notices").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        conn.close()


def test_kill_9_at_random_points_loses_no_stdout_event(rules: RuleSet, tmp_path: Path) -> None:
    rng = random.Random(9)
    engine = Engine(rules)  # counts the events each piece adds, to pick a kill point that will come
    logs = tmp_path / "logs"
    logs.mkdir()
    state = tmp_path / "state.db"
    texts = {
        "web1": success_run("web1", body_lines=6) + success_run("web1", body_lines=2),
        "db2": failing_run("db2", 4) + success_run("db2", body_lines=4),
        "app3": failing_run("app3", 1) + failing_run("app3", 2) + success_run("app3"),
        "lpar4": success_run("lpar4", body_lines=10),
    }
    feeds = {client: pieces(text, TRIALS) for client, text in texts.items()}
    received: list[dict[str, Any]] = []
    for trial in range(TRIALS):
        watcher = Killable([str(logs)], state, tmp_path)
        mode = ("starting", "blocked", "blocked", "reading")[trial % 4]
        if mode != "starting":
            wait_for(lambda: "nimwatch: watching" in watcher.err.text(), what="the watcher")  # noqa: B023
        if mode == "blocked":
            watcher.reading.clear()  # the pipe fills and the watcher blocks writing to it
        before_lines, before_recorded = watcher.count(), recorded(state)
        new = 0
        for client, parts in feeds.items():
            if trial < len(parts):
                log = logs / f"{client}_alt_mig.log"
                append(log, parts[trial])
                new += sum(1 for n in engine.feed(str(log), parts[trial].encode()) if n.public)
        target = rng.randint(0, min(12, new))
        if mode == "blocked":  # kill once that many new events are recorded in the journal
            wait_for(lambda: recorded(state) >= before_recorded + target, what=f"kill point {trial + 1}")  # noqa: B023
        elif mode == "reading":  # kill once that many lines were read
            wait_for(lambda: watcher.count() >= before_lines + target, what=f"kill point {trial + 1}")  # noqa: B023
        received.extend(watcher.kill())
    for client, parts in feeds.items():  # the rest of the logs, then a last session that ends cleanly
        append(logs / f"{client}_alt_mig.log", "".join(parts[TRIALS:]))
    fresh = run_once([str(logs)], None, tmp_path / "fresh.db", tmp_path)
    want = {identity(e) for e in complete_events(fresh.stdout.splitlines())}
    last = WatchProcess([str(logs)], None, state, tmp_path).ready()
    try:  # the journal has every event; SIGTERM then writes whatever stdout still holds
        wait_for(lambda: recorded(state) >= len(want), timeout=60, what="the last session to catch up")
    finally:
        assert last.stop() == 0
    received.extend(complete_events(last.out))
    got = {identity(e) for e in received}
    assert len(want) > 150
    assert want - got == set(), f"lost {len(want - got)} of {len(want)} events"
    assert got - want == set()
    by_id: dict[str, set[tuple[Any, ...]]] = {}
    for event in received:  # a repeat carries the id of the first printing: a reader can drop it
        by_id.setdefault(event["id"], set()).add(identity(event))
    assert all(len(v) == 1 for v in by_id.values())
    assert len(by_id) == len(want)


def test_a_stdout_nobody_reads_stops_neither_alerts_nor_hooks(tmp_path: Path) -> None:
    http = HttpReceiver()
    marker = tmp_path / "hooks"
    marker.mkdir()
    hook = tmp_path / "hook.sh"
    hook.write_text(f'#!/bin/sh\ntouch "{marker}/$NIMWATCH_CLIENT"\n')
    hook.chmod(0o755)
    metrics = tmp_path / "nimwatch.prom"
    config = tmp_path / "nimwatch.yaml"
    config.write_text(
        f"alerts:\n  - type: webhook\n    url: {http.url}/a\n    events: [run_finished]\n    severity: info\n"
        f"hooks:\n  - name: done\n    on: [run_finished]\n    run: [{hook}]\n"
        f"metrics:\n  textfile: {metrics}\n"
    )
    config.chmod(0o600)
    logs = tmp_path / "logs"
    logs.mkdir()
    env = watch_env(config, tmp_path / "state.db")
    env["NIMWATCH_STDOUT_BUFFER"] = "40"  # lines; a small buffer so that a test fills it fast
    proc = subprocess.Popen(
        [sys.executable, "-m", "nimwatch", "watch", str(logs)],
        stdout=subprocess.PIPE,  # never read until the end: the pipe fills, then the buffer
        stderr=subprocess.PIPE,
        env=env,
        cwd=str(tmp_path),
    )
    assert proc.stderr is not None and proc.stdout is not None
    err = StreamBytes(proc.stderr)
    try:
        wait_for(lambda: "nimwatch: watching" in err.text(), what="the watcher")
        clients = [f"lpar{i:02d}" for i in range(60)]
        for client in clients:  # about 27 lines each: far more than the pipe and the buffer hold
            append(logs / f"{client}_alt_mig.log", success_run(client, body_lines=1))
        wait_for(lambda: len(http.bodies()) == len(clients), timeout=120, what="an alert for every run")
        wait_for(lambda: len(list(marker.iterdir())) == len(clients), timeout=120, what="a hook run for every run")
        assert "stdout is not being read" in err.text()
        wait_for(
            lambda: metrics.exists() and re.search(r"^nimwatch_stdout_dropped_total [1-9]", metrics.read_text(), re.M),
            what="the dropped lines in the metrics",
        )
        out = StreamBytes(proc.stdout)  # now stdout is read: the drop is reported, and new events flow again

        def events() -> list[dict[str, Any]]:
            return [json.loads(line) for line in out.text().splitlines()]

        wait_for(lambda: any(e["event"] == "output_dropped" for e in events()), what="the report of the drop")
        append(logs / "late_alt_mig.log", success_run("late", body_lines=1))
        wait_for(
            lambda: any(e["client"] == "late" and e["event"] == "run_finished" for e in events()),
            what="a new event after the drop",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        err.join()
        http.close()
    dropped = [e for e in events() if e["event"] == "output_dropped"]
    # usually one report; on a loaded machine the reader may fall behind again while the backlog drains,
    # and each further drop is reported too: every report counts something, and the totals add up
    assert dropped and all(e["count"] > 0 for e in dropped)
    assert dropped[-1]["total"] == sum(e["count"] for e in dropped)
    assert proc.returncode == 0 and "stdout is read again" in err.text() and "Traceback" not in err.text()
