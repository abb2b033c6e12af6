"""``nimwatch replay`` at the real pace: from a real watcher's journal, and from its run history alone.

A real ``nimwatch watch`` records a run (each phase written once the watcher
saw the one before). The headless replay then gives every notice the time the
watcher gave it, takes at least the recorded span divided by ``--speed`` of wall
time (a lower bound: a loaded machine only makes it slower), and, once the
journal no longer holds the log's arrival times, rebuilds them from the run's
history row: each phase as long as it was recorded.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import pytest
from watch.proc import WatchProcess

from .histkit import cli, live_success_run


def seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def phase_times(events: list[dict]) -> dict[tuple[str, int], float]:
    return {(e["event"], e["phase"]): seconds(e["ts"]) for e in events if e["event"].startswith("phase_")}


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, Path, list[dict]]:
    """(log, state journal, the watcher's JSON lines) of one run written live."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar9_alt_mig.log"
    log.write_text("")
    state = tmp_path / "state.db"
    proc = WatchProcess([str(logs)], None, state, tmp_path).ready()
    try:
        live_success_run(proc, log, "lpar9")
    finally:
        assert proc.stop() == 0, proc.stderr()
    return log, state, proc.events()


def test_replay_gives_each_notice_the_time_the_watcher_gave_it(recorded: tuple[Path, Path, list[dict]]) -> None:
    log, state, watched = recorded
    span = seconds(watched[-1]["ts"]) - seconds(watched[0]["ts"])
    assert span > 0
    for speed in ("1", "4"):
        began = time.monotonic()
        done = cli("replay", "--headless", "--speed", speed, str(log), state=state)
        took = time.monotonic() - began
        assert done.returncode == 0, done.stderr
        replayed = [json.loads(line) for line in done.stdout.splitlines()]
        assert [(e["event"], e["phase"]) for e in replayed] == [(e["event"], e["phase"]) for e in watched]
        want = phase_times(watched)
        got = phase_times(replayed)
        assert set(got) == set(want)
        for key, at in want.items():
            assert got[key] == pytest.approx(at, abs=0.002), key
        assert took >= span / float(speed) * 0.95, f"speed {speed}: {took:.2f} s for a {span:.2f} s run"


def test_without_arrival_times_the_history_row_paces_the_phases(recorded: tuple[Path, Path, list[dict]]) -> None:
    log, state, _ = recorded
    (row,) = json.loads(cli("history", "-f", "json", state=state).stdout)["runs"]
    with sqlite3.connect(str(state)) as conn:  # the journal forgets the log (rebuilt, or the log replaced)
        for table in ("checkpoints", "notices", "files"):
            conn.execute(f"DELETE FROM {table}")
    done = cli("replay", "--headless", "--max", str(log), "--log-level", "info", state=state)
    assert done.returncode == 0, done.stderr
    assert "paced from the phase durations of the run history" in done.stderr
    replayed = [json.loads(line) for line in done.stdout.splitlines()]
    starts = {e["phase"]: seconds(e["ts"]) for e in replayed if e["event"] == "phase_started"}
    ends = {e["phase"]: seconds(e["ts"]) for e in replayed if e["event"] == "phase_finished"}
    assert starts[1] == pytest.approx(row["started_at"], abs=0.002)
    for phase, recorded_seconds in row["phases"].items():
        number = int(phase)
        assert ends[number] - starts[number] == pytest.approx(recorded_seconds, abs=0.002), f"phase {number}"

    # and without history either: evenly paced, 0.1 s of log time per line
    with sqlite3.connect(str(state)) as conn:
        conn.execute("DELETE FROM history")
    even = cli("replay", "--headless", "--max", str(log), state=state)
    lines = [json.loads(line) for line in even.stdout.splitlines()]
    first, second = (e for e in lines if e["event"] == "phase_started" and e["phase"] in (1, 2))
    assert seconds(second["ts"]) - seconds(first["ts"]) == pytest.approx((second["line"] - first["line"]) * 0.1)
