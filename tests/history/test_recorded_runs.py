"""Done when: with a few recorded runs, a new run of the same kind shows an ETA in status, the JSON lines and metrics.

A real ``nimwatch watch`` follows a log while the test writes it phase by
phase (each phase only once the watcher saw the one before: real arrival
times). The finished runs land in the journal's history; the next run's
``phase_started`` lines carry ``eta`` and ``eta_basis``; ``nimwatch status``
and the metrics show the same estimate; ``nimwatch history`` lists the runs.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from watch.proc import WatchProcess
from watch.servers import free_port

from .histkit import DEADLINE, cli, live_success_run, start_run, wait_for, write_phase

parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client is a test dependency")


def metric(text: str, name: str, **labels: str) -> float | None:
    for family in parser.text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def test_recorded_runs_give_the_next_run_an_eta(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    prom = tmp_path / "nimwatch.prom"
    config = tmp_path / "nimwatch.yaml"
    config.write_text(f"metrics:\n  textfile: {prom}\n  listen: 127.0.0.1:{free_port()}\n  interval: 1\n")
    state = tmp_path / "state.db"
    log = logs / "lpar1_alt_mig.log"
    log.write_text("")
    proc = WatchProcess([str(logs)], config, state, tmp_path).ready()
    try:
        for _ in range(3):
            finished = live_success_run(proc, log, "lpar1")
            assert finished["outcome"] == "succeeded"

        listed = cli("history", "--format", "json", state=state, config=config)
        assert listed.returncode == 0, listed.stderr
        doc = json.loads(listed.stdout)
        assert doc["schema"] == 1 and [r["run"] for r in doc["runs"]] == [1, 2, 3]
        for run in doc["runs"]:
            assert run["client"] == "lpar1" and run["master"] == socket.gethostname()
            assert run["outcome"] == "succeeded" and run["usable_for_eta"]
            assert set(range(1, 12)) <= {int(p) for p in run["phases"]}
            assert all(seconds > 0 for seconds in run["phases"].values())

        # the fourth run: its phase notices carry the ETA from the three recorded ones
        start_run(proc, log, "lpar1")
        write_phase(proc, log, 1)
        write_phase(proc, log, 2)
        third = write_phase(proc, log, 3)
        assert third["eta_basis"] == 3 and third["eta_level"] == "client"
        assert third["eta"] is not None and third["eta"] >= 0 and third["eta_rough"] is False
        assert third["overdue"] == 0

        status = cli("status", str(logs), "--ascii", state=state, config=config)
        assert status.returncode == 3, status.stderr  # a run is still going
        row = next(line for line in status.stdout.splitlines() if "lpar1" in line)
        assert len(re.findall(r"\b\d+:\d\d\b", row)) >= 2, f"elapsed and ETA: {row!r}"
        assert not re.search(r"~\d+:\d\d", row), "an ETA from history is not a rough guess"

        report = cli("report", str(log), "--format", "json", state=state, config=config)
        assert report.returncode == 3, report.stderr
        last = json.loads(report.stdout)["runs"][-1]
        assert last["outcome"] == "incomplete" and last["open_end"]
        assert last["eta"]["eta_basis"] == 3 and last["eta"]["eta"] >= 0 and last["eta"]["phase"] == 3
        assert [r["eta"] for r in json.loads(report.stdout)["runs"][:3]] == [None] * 3, "finished runs have none"
        text = cli("report", str(log), state=state, config=config).stdout
        assert re.search(r"\n  ETA: \d+s left \(about \d\d:\d\d\); from 3 runs of this client\n", text), text

        def textfile_eta() -> str | None:
            text = prom.read_text() if prom.exists() else ""
            return text if metric(text, "nimwatch_eta_basis_runs", client="lpar1", basis="client") == 3 else None

        text = wait_for(textfile_eta, DEADLINE, "the ETA in the textfile")
        assert metric(text, "nimwatch_eta_seconds", client="lpar1") is not None
        assert metric(text, "nimwatch_history_runs_total", outcome="succeeded") == 3
        assert metric(text, "nimwatch_history_phase_duration_seconds_count", phase="6", mode="unknown") == 3
        assert metric(text, "nimwatch_phase_overdue_seconds", client="lpar1") == 0

        # no log changes from here on: the heartbeat still moves
        first = metric(text, "nimwatch_heartbeat_timestamp_seconds")
        wait_for(
            lambda: (metric(prom.read_text(), "nimwatch_heartbeat_timestamp_seconds") or 0) > (first or 0),
            DEADLINE,
            "a new heartbeat without any log change",
        )
    finally:
        code = proc.stop()
    assert code == 0, proc.stderr()
    assert metric(prom.read_text(), "nimwatch_up") == 0, "a clean exit says so in the textfile"
    text = cli("history", state=state, config=config)
    assert text.returncode == 0
    assert text.stdout.splitlines()[-1] == "3 runs: 3 succeeded; 3 usable for the ETA (succeeded, complete, timed)"
