"""``nimwatch report --state``: phase durations in a post-mortem come from the watcher's journal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nimwatch.cli import main
from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.journal import Journal
from nimwatch.recorder import Recorder
from nimwatch.sources.tail import Tailer

from .watchkit import banner


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def watch_log_growing(rules: RuleSet, logs: Path, state: Path) -> Path:
    """A watcher follows a log that reaches phase 1 at t=1000, phase 6 at t=1600 and ends at t=4600."""
    log = logs / "lpar9_alt_mig.log"
    clock = Clock(1000.0)
    journal = Journal.open(state)
    engine = Engine(rules, clock)
    recorder = Recorder(engine, journal, forward=lambda n: None)
    tailer = Tailer(engine, [logs], clock=clock, offsets=journal.file_identities(), sink=recorder)
    try:
        log.write_text("Initializing the NIM master.\n" + banner(1), encoding="utf-8")
        os.utime(log, (1000.0, 1000.0))
        tailer.scan_once()
        clock.now = 1600.0
        with log.open("a", encoding="utf-8") as out:
            out.write("".join(banner(n) for n in range(2, 7)))
        tailer.scan_once()
        clock.now = 4600.0
        with log.open("a", encoding="utf-8") as out:
            out.write("".join(banner(n) for n in range(7, 13)))
            out.write(
                "Cleaning up alt_disk_migration on the NIM master.\nCleaning up alt_disk_migration on client lpar9.\n"
            )
        tailer.scan_once()
    finally:
        tailer.stop()
        recorder.close()
        journal.close()
    return log


def test_report_takes_phase_durations_from_the_journal(
    rules: RuleSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    state = tmp_path / "state.db"
    log = watch_log_growing(rules, logs, state)

    assert main(["report", "--format", "json", "--state", str(state), str(log)]) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    seconds = {p["number"]: p.get("seconds") for p in run["phases"]}
    assert seconds[1] == 600.0  # phase 1 began at 1000 and phase 2 arrived at 1600
    assert seconds[6] == 3000.0  # phase 6 arrived with 2-5 at 1600, phase 7 at 4600
    assert seconds[12] == 0.0

    assert main(["report", "--state", str(state), str(log)]) == 0
    text = capsys.readouterr().out
    assert "10m00s" in text and "50m00s" in text

    assert main(["report", "--no-state", "--format", "json", str(log)]) == 0
    (plain,) = json.loads(capsys.readouterr().out)["runs"]
    assert all("seconds" not in p for p in plain["phases"])


def test_a_named_journal_that_cannot_be_read_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "state.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    log = Path(__file__).resolve().parents[2] / "sample_logs" / "dbprod61_alt_mig.log"
    code = main(["report", "--state", str(bad), str(log)])
    err = capsys.readouterr().err
    assert code in (2, 4) and "state.db" in err and "Traceback" not in err
