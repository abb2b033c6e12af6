"""Resuming from a state snapshot: exactly what reading the log through gives, and never a stale state.

The codec is checked on every sample log cut at many points (a snapshot there, then the rest); a
restarted watcher (engine, recorder, tailer on the same journal, as ``watch`` wires them) resumes
from the snapshot instead of byte 0, and ignores a snapshot of another generation, another
nimwatch or other rules, or one that does not decode.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import SAMPLE_LOGS

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine, Notice
from nimwatch.journal import Journal
from nimwatch.recorder import Recorder
from nimwatch.snapshot import SnapshotError, decode, encode
from nimwatch.sources.tail import Tailer

from .watchkit import append, banner, failing_run, running_run, success_run

LOG = "/x/lpar1_alt_mig.log"
COALESCED = ("lines", "progress")
"""Notices whose number depends on how the bytes were cut (their last values do not)."""
SAMPLES = sorted(p for p in SAMPLE_LOGS.glob("*_alt_mig.log") if p.stat().st_size < 400_000)


def _view(notices: list[Notice]) -> list[tuple[Any, ...]]:
    return [(n.event, n.run, n.phase, n.phase_name, json.dumps(dict(n.fields), sort_keys=True)) for n in notices]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_a_snapshot_anywhere_then_the_rest_equals_reading_through(rules: RuleSet, path: Path) -> None:
    data = path.read_bytes()
    whole = Engine(rules)
    through = whole.feed(LOG, data, at=5.0) + whole.close(LOG, at=6.0)
    for cut in sorted({1, 137, len(data) // 7, len(data) // 3, len(data) // 2, len(data) - 1, len(data)}):
        first = Engine(rules)
        head = first.feed(LOG, data[:cut], at=5.0)
        stored = json.loads(json.dumps(encode(first.export_log(LOG), first.wiring())))
        second = Engine(rules)
        second.restore_log(LOG, decode(stored, second.wiring()))
        rest = second.feed(LOG, data[cut:], at=5.0) + second.close(LOG, at=6.0)
        assert _view([n for n in head + rest if n.event not in COALESCED]) == _view(
            [n for n in through if n.event not in COALESCED]
        ), f"{path.name} cut at {cut}"
        split = Engine(rules)  # the same two feeds without a snapshot between them: the same state
        split.feed(LOG, data[:cut], at=5.0)
        split.feed(LOG, data[cut:], at=5.0)
        split.close(LOG, at=6.0)
        assert second.logs[LOG] == split.logs[LOG]


def test_the_codec_refuses_what_it_cannot_bring_back(rules: RuleSet) -> None:
    engine = Engine(rules)
    engine.feed(LOG, running_run("lpar1", 2).encode(), at=1.0)
    parts = engine.export_log(LOG)
    assert parts is not None
    parts["reader"].parser.odd = threading.Lock()  # a field of a type the codec does not know
    with pytest.raises(SnapshotError):
        encode(parts, engine.wiring())
    del parts["reader"].parser.odd
    stored = json.loads(json.dumps(encode(parts, engine.wiring())))
    text = json.dumps(stored).replace('"mid_run"', '"mid_run_was_renamed"')  # a dataclass with other fields
    with pytest.raises(SnapshotError):
        decode(json.loads(text), engine.wiring())
    with pytest.raises(SnapshotError):
        decode({"__c": "os:system", "f": {}}, engine.wiring())  # only nimwatch's own classes


class Session:
    """One watcher lifetime over ``logs`` with the journal at ``state`` (what ``watch`` wires)."""

    def __init__(self, rules: RuleSet, logs: Path, state: Path, fingerprint: str = "test") -> None:
        self.journal = Journal.open(state)
        self.engine = Engine(rules)
        self.fed = 0
        self.forwarded: list[Notice] = []
        self.errors: list[str] = []
        self.recorder = Recorder(
            self.engine, self.journal, forward=self.forwarded.append, on_error=self.errors.append,
            fingerprint=fingerprint,
        )
        original = self.recorder.feed

        def counting_feed(log: str, data: bytes, at: float, chunk: Any) -> None:
            self.fed += len(data)
            original(log, data, at, chunk)

        self.recorder.feed = counting_feed  # type: ignore[method-assign]
        self.tailer = Tailer(self.engine, [logs], offsets=self.journal.file_identities(), sink=self.recorder)

    def scan(self) -> list[Notice]:
        before = len(self.forwarded)
        self.tailer.scan_once()
        return self.forwarded[before:]

    def stop(self, snapshot: bool = True) -> None:
        self.tailer.stop()
        if snapshot:
            self.recorder.snapshot_all()
        self.recorder.close()
        self.journal.close()


def test_a_restart_reads_on_from_the_snapshot_not_from_byte_0(rules: RuleSet, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    append(log, success_run("lpar1", body_lines=400) + running_run("lpar1", 3))
    os.utime(log, (1000.0, 1000.0))
    one = Session(rules, logs, tmp_path / "state.db")
    first = one.scan()
    one.stop()
    size = log.stat().st_size
    two = Session(rules, logs, tmp_path / "state.db")
    assert two.scan() == []
    assert two.recorder.restored == {str(log): size} and two.fed == 0 and two.recorder.suppressed == 0
    append(log, banner(4) + "0505-111 alt_disk_install: There is not enough disk space on target disks specified.\n")
    new = two.scan()
    assert two.fed == log.stat().st_size - size
    assert [(n.event, n.phase) for n in new] == [("phase_finished", 3), ("phase_started", 4), ("finding", 4)]
    run = two.engine.logs[str(log)].current
    assert run is not None and run.index == 2 and run.phase(3).started_at == 1000.0  # arrival times kept
    two.stop()
    # a third session that was killed (no snapshot at stop): resumes from the last one and re-reads the rest
    three = Session(rules, logs, tmp_path / "state.db")
    assert three.scan() == [] and three.recorder.suppressed == 0
    assert len(first) == 32 and not three.errors


def test_a_snapshot_older_than_the_journal_is_used_and_the_rest_read_as_history(
    rules: RuleSet, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    append(log, running_run("lpar1", 2))
    one = Session(rules, logs, tmp_path / "state.db")
    one.scan()
    one.recorder.snapshot_all()
    at = log.stat().st_size
    append(log, banner(3) + banner(4))
    one.scan()
    one.stop(snapshot=False)  # as if killed: the journal is ahead of the snapshot
    append(log, banner(5))
    two = Session(rules, logs, tmp_path / "state.db")
    new = two.scan()
    assert two.recorder.restored == {str(log): at}
    assert [(n.event, n.phase) for n in new] == [("phase_finished", 4), ("phase_started", 5)]
    assert two.recorder.suppressed == 4  # phases 3 and 4 were read again, as history, and not repeated
    two.stop()


def test_snapshots_of_another_nimwatch_or_generation_are_ignored(rules: RuleSet, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    append(log, failing_run("lpar1", 2))
    one = Session(rules, logs, tmp_path / "state.db")
    one.scan()
    one.stop()
    other = Session(rules, logs, tmp_path / "state.db", fingerprint="another nimwatch or other rules")
    assert other.scan() == [] and other.recorder.restored == {} and other.recorder.suppressed > 0
    other.stop()
    conn = sqlite3.connect(str(tmp_path / "state.db"))
    conn.execute("UPDATE snapshots SET data = '{\"engine\": {\"__c\": \"os:system\"}}'")
    conn.commit()
    conn.close()
    broken = Session(rules, logs, tmp_path / "state.db", fingerprint="another nimwatch or other rules")
    assert broken.scan() == [] and broken.recorder.restored == {}
    assert any("snapshot cannot be used" in e for e in broken.errors)
    broken.stop()
    log.write_text(failing_run("lpar1", 3))  # truncated and rewritten while down: a new generation
    again = Session(rules, logs, tmp_path / "state.db", fingerprint="another nimwatch or other rules")
    new = again.scan()
    assert again.recorder.restored == {}
    assert [n.get("outcome") for n in new if n.event == "run_finished"] == ["failed"]
    assert new[0].event == "log_replaced"
    again.stop()


def test_a_run_declared_incomplete_before_the_restart_comes_back_when_its_lines_do(
    rules: RuleSet, tmp_path: Path
) -> None:
    """The stall monitor's verdict is in the snapshot; lines that come after the restart still lift it."""
    from nimwatch.config import StallConfig
    from nimwatch.core.events import Outcome
    from nimwatch.stall import StallMonitor

    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    append(log, running_run("lpar1", 3))
    one = Session(rules, logs, tmp_path / "state.db")
    one.scan()
    monitor = StallMonitor(one.engine, StallConfig(incomplete_after_minutes=1), rules)
    silent = [n for n in monitor.check(time.time() + 3600) if n.event == "run_finished"]
    assert [n.get("outcome") for n in silent] == ["incomplete"]
    monitor.close()
    one.stop()
    two = Session(rules, logs, tmp_path / "state.db")
    monitor = StallMonitor(two.engine, StallConfig(incomplete_after_minutes=1), rules)
    two.scan()
    run = two.engine.logs[str(log)].current
    assert run is not None and run.outcome is Outcome.INCOMPLETE and two.recorder.restored
    monitor.check()
    append(log, banner(4))
    new = two.scan()
    assert "stall_cleared" in [n.event for n in new]
    assert run.outcome is Outcome.RUNNING
    monitor.close()
    two.stop()
