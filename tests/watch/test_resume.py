"""Resuming from the journal, in process: no notice twice, none missed, arrival times kept.

Each "session" is a fresh engine, recorder and tailer over the same journal
file, as after a restart. Time is an injected clock, so arrival times are exact.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine, Notice
from nimwatch.journal import Journal
from nimwatch.recorder import Recorder
from nimwatch.sources.tail import Tailer

from .watchkit import append, banner, failing_run, running_run, success_run


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Session:
    """One watcher lifetime over ``directory`` with the journal at ``state``."""

    def __init__(self, rules: RuleSet, directory: Path, state: Path, clock: Clock) -> None:
        self.journal = Journal.open(state)
        self.engine = Engine(rules, clock)
        self.forwarded: list[Notice] = []
        self.planned: list[tuple[str, str]] = []
        self.recorder = Recorder(self.engine, self.journal, forward=self.forwarded.append, planner=self._plan)
        self.tailer = Tailer(
            self.engine, [directory], clock=clock, offsets=self.journal.file_identities(), sink=self.recorder
        )

    def _plan(self, notice: Notice, key: str) -> None:
        self.planned.append((notice.event, key))

    def scan(self) -> list[Notice]:
        before = len(self.forwarded)
        self.tailer.scan_once()
        return self.forwarded[before:]

    def close(self) -> None:
        self.tailer.stop()
        self.recorder.close()
        self.journal.close()

    def state(self, log: Path) -> Any:
        return self.engine.logs[str(log)]


def events(notices: list[Notice]) -> list[tuple[str, Any]]:
    return [(n.event, n.phase) for n in notices]


def test_restart_suppresses_what_was_delivered_and_keeps_arrival_times(rules: RuleSet, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    state = tmp_path / "state.db"
    clock = Clock(1000.0)
    append(log, running_run("lpar1", 1))
    os.utime(log, (900.0, 900.0))
    one = Session(rules, logs, state, clock)
    first = one.scan()
    assert events(first) == [("run_started", None), ("phase_started", 1)]
    assert first[0].ts == 900.0  # content there before the watcher started is stamped with the file's mtime
    clock.now = 2000.0
    append(log, banner(2) + "Creating cache file systems.\n")
    assert events(one.scan()) == [("phase_finished", 1), ("phase_started", 2)]
    clock.now = 2500.0
    append(log, banner(3))
    assert events(one.scan()) == [("phase_finished", 2), ("phase_started", 3)]
    one.close()

    clock.now = 9000.0
    two = Session(rules, logs, state, clock)
    assert two.scan() == []  # everything was delivered before
    assert two.recorder.suppressed == 6
    run = two.state(log).current
    assert run.phase(1).started_at == 900.0
    assert run.phase(1).finished_at == 2000.0
    assert run.phase(2).duration == 500.0
    assert run.phase(3).started_at == 2500.0
    assert run.last_line_at == 2500.0  # so a stall is judged on when the last line really came
    clock.now = 9100.0
    append(log, banner(4))
    new = two.scan()
    assert events(new) == [("phase_finished", 3), ("phase_started", 4)]
    assert [n.ts for n in new] == [9100.0, 9100.0]
    assert two.planned == [("phase_finished", two.planned[0][1]), ("phase_started", two.planned[1][1])]
    two.close()

    three = Session(rules, logs, state, Clock(9999.0))
    assert three.scan() == []
    assert three.state(log).current.phase(3).duration == 9100.0 - 2500.0
    arrival = three.journal.arrival_times(str(log))
    assert arrival[min(arrival)] == 900.0 and max(arrival.values()) == 9100.0
    three.close()


def test_new_content_written_while_down_is_a_new_generation(rules: RuleSet, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    state = tmp_path / "state.db"
    append(log, failing_run("lpar1", 1))
    one = Session(rules, logs, state, Clock(1000.0))
    first = one.scan()
    assert [n.get("outcome") for n in first if n.event == "run_finished"] == ["failed"]
    one.close()
    # copytruncate and a re-run that fails the same way, longer than before: same inode, same lines
    with open(log, "r+", encoding="utf-8") as handle:
        handle.truncate(0)
    append(log, failing_run("lpar1", 1).replace("step 1.", "step one, retried."))
    two = Session(rules, logs, state, Clock(2000.0))
    again = two.scan()
    assert [n.get("outcome") for n in again if n.event == "run_finished"] == ["failed"]
    replaced, *rest = again
    assert replaced.event == "log_replaced" and "rewritten while nimwatch was down" in str(replaced.get("reason"))
    assert events(rest) == events(first)  # every notice of the new content is delivered
    two.close()


def test_rotation_while_down_reads_the_new_file(rules: RuleSet, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    state = tmp_path / "state.db"
    append(log, running_run("lpar1", 2))
    one = Session(rules, logs, state, Clock(1000.0))
    one.scan()
    one.close()
    os.rename(log, logs / "lpar1_alt_mig.log.1")
    append(log, success_run("lpar1"))
    two = Session(rules, logs, state, Clock(2000.0))
    notices = two.scan()
    assert notices[0].event == "log_replaced" and notices[0].get("rotated_to") == str(logs / "lpar1_alt_mig.log.1")
    # the old file is read to its end first (nothing was added to it: its run ends as incomplete), then the new
    assert [n.get("outcome") for n in notices if n.event == "run_finished"] == ["incomplete", "succeeded"]
    assert len([n for n in notices if n.event == "phase_started"]) == 12
    two.close()


def test_rotation_during_a_session_keys_each_content_apart(rules: RuleSet, tmp_path: Path) -> None:
    """Two contents with identical lines under one name: both alerted, and neither again after a restart."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    state = tmp_path / "state.db"
    append(log, failing_run("lpar1", 1))
    one = Session(rules, logs, state, Clock(1000.0))
    first = one.scan()
    with open(log, "r+", encoding="utf-8") as handle:
        handle.truncate(0)
    one.scan()
    append(log, failing_run("lpar1", 1))
    second = one.scan()
    findings = [n for n in first + second if n.event == "finding"]
    assert len(findings) == 2 * len([n for n in first if n.event == "finding"])
    assert [n.run for n in second if n.event == "run_started"] == [2]
    one.close()
    two = Session(rules, logs, state, Clock(3000.0))
    assert two.scan() == []
    two.close()


def test_stall_notices_are_journaled_and_not_repeated(rules: RuleSet, tmp_path: Path) -> None:
    from nimwatch.config import StallConfig
    from nimwatch.stall import StallMonitor

    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    state = tmp_path / "state.db"
    append(log, running_run("lpar1", 3))
    clock = Clock(1000.0)
    one = Session(rules, logs, state, clock)
    one.scan()
    stall = StallMonitor(one.engine, StallConfig(default_minutes=10), rules, clock)
    assert [n.event for n in stall.check(1000.0 + 11 * 60)] == ["stalled"]
    assert [n.event for n in one.forwarded][-1] == "stalled"
    stall.close()
    one.close()
    two = Session(rules, logs, state, clock)
    two.scan()
    stall = StallMonitor(two.engine, StallConfig(default_minutes=10), rules, clock)
    stall.check(1000.0 + 12 * 60)  # the same stall, seen again after the restart
    assert two.forwarded == []
    stall.close()
    two.close()
