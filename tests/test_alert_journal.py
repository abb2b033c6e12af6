"""The TUI's alerts in the state journal: first times and acknowledgements survive a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers import notice_count

from nimwatch.alert_journal import KEEP_SECONDS, AlertJournal
from nimwatch.engine import Notice
from nimwatch.errors import StateError
from nimwatch.journal import Journal
from nimwatch.tui.alert_store import AlertStore

LOG = "/var/adm/ras/alt_mig/lpar1_alt_mig.log"


def finding(line: int, ts: float, severity: str = "error", benign: bool = False, rule: str = "r1") -> Notice:
    fields = {"rule": rule, "code": "0516-404", "severity": severity, "benign": benign, "title": "VG full",
              "text": f"line {line}", "line": line}
    return Notice("finding", ts, LOG, "lpar1", 1, 2, "Prepare", fields)


def store(path: Path, now: float = 2000.0) -> AlertStore:
    return AlertStore(journal=AlertJournal.open(path, now=now), identity=lambda log: "dev:ino", clock=lambda: now)


def test_first_times_and_acknowledgements_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = store(path)
    a = first.add_notice(finding(10, 100.0))
    b = first.add_notice(finding(11, 101.0))
    first.add_notice(finding(12, 102.0, severity="info", benign=True, rule="routine"))
    first.flush()
    assert a is not None and b is not None
    assert first.acknowledge(a.id) == 1
    assert first.unacknowledged == 1  # the routine line never needs attention

    # a restart: the logs are read again, their lines "arrive" later, the same alerts come back
    second = store(path)
    again = [second.add_notice(finding(line, 900.0 + line)) for line in (10, 11)]
    assert [x.ts for x in again if x is not None] == [100.0, 101.0]
    assert [x.acknowledged for x in again if x is not None] == [True, False]
    assert second.unacknowledged == 1
    # acknowledge all, then undo: as one step, kept as well
    assert second.acknowledge_all() == 1 and second.unacknowledged == 0
    assert second.undo() == 1 and second.unacknowledged == 1
    third = store(path)
    assert [x.acknowledged for x in (third.add_notice(finding(n, 0.0)) for n in (10, 11)) if x] == [True, False]


def test_a_replaced_log_and_a_raised_severity(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    alerts = store(path)
    alert = alerts.add_notice(finding(10, 100.0, severity="warning"))
    assert alert is not None
    alerts.acknowledge(alert.id)
    # the engine sends the finding again, its severity raised: the same alert, updated
    assert alerts.add_notice(finding(10, 150.0, severity="error")) is alert and alert.severity == "error"
    assert len(alerts) == 1
    # the log was truncated or replaced: its old alerts go, from the journal too
    alerts.add_notice(Notice("log_reset", 200.0, LOG, "lpar1"))
    assert len(alerts) == 0 and AlertJournal.open(path, now=2000.0).known() == {}
    fresh = alerts.add_notice(finding(10, 300.0))
    assert fresh is not None and not fresh.acknowledged and fresh.ts == 300.0


def test_the_tui_writes_while_a_watcher_holds_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    watcher = Journal.open(path)  # takes the watcher's lock
    try:
        alerts = store(path)
        alert = alerts.add_notice(finding(10, 100.0))
        assert alert is not None
        alerts.acknowledge(alert.id)
        known = AlertJournal.open(path, now=2000.0).known()
        assert list(known.values()) == [(100.0, True, 2000.0)]
        assert notice_count(watcher) == 0  # the watcher's own tables are untouched
    finally:
        watcher.close()


def test_old_rows_are_dropped_and_errors_are_state_errors(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    alerts = store(path, now=1000.0)
    alerts.add_notice(finding(10, 1000.0))
    alerts.flush()
    assert AlertJournal.open(path, now=1000.0 + KEEP_SECONDS - 1).known()
    assert AlertJournal.open(path, now=1000.0 + KEEP_SECONDS + 1).known() == {}
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(StateError):
        AlertJournal.open(not_a_dir / "state.db")
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database" * 100)
    with pytest.raises(StateError):
        AlertJournal.open(broken)


def test_a_journal_that_fails_later_is_said_on_screen_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    alerts = store(path)
    assert alerts.journal is not None
    alerts.journal.close()
    alerts.journal._conn = sqlite3.connect(":memory:")  # no table: every write fails
    alert = alerts.add_notice(finding(10, 100.0))
    alerts.flush()
    assert alert is not None and alerts.error is not None and "cannot record" in alerts.error
