"""``nimwatch history`` and ``history import``: filters, formats, escaping, locales, timings from the journal."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from watch.proc import WatchProcess
from watch.watchkit import failing_run, running_run, success_run

from nimwatch.commands.history import parse_since
from nimwatch.errors import UsageError
from nimwatch.history_store import records, store_records
from nimwatch.journal import Journal

from .histkit import ROOT, cli, live_success_run

SAMPLES = ROOT / "sample_logs"


def once(logs: Path, state: Path) -> None:
    done = cli("watch", "--once", str(logs), state=state)
    assert done.returncode in (0, 1), done.stderr


def test_listing_filters_and_formats(tmp_path: Path) -> None:
    # the lines already in a log at first start arrived at the file's modification time: web73's 3 days ago
    logs = tmp_path / "logs"
    shutil.copytree(SAMPLES, logs)
    now = time.time()
    for log in logs.iterdir():
        os.utime(log, (now, now - 3 * 86400 if log.name.startswith("web73") else now))
    state = tmp_path / "state.db"
    once(logs, state)
    text = cli("history", state=state)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["FINISHED", "CLIENT", "RUN", "OUTCOME", "MODE", "LEVEL", "TIME", "MASTER"]
    assert "phase times not known (the journal did not see this run)" in text.stdout
    assert "failed (6)" in text.stdout
    assert lines[-1].endswith("; 0 usable for the ETA (succeeded, complete, timed)"), "read at once: untimed"

    doc = json.loads(cli("history", "--format", "json", state=state).stdout)
    assert doc["schema"] == 1 and len(doc["runs"]) > 10
    assert all(r["seconds"] is None and r["phases"] == {} for r in doc["runs"])
    one = json.loads(cli("history", "--client", "web73", "-f", "json", state=state).stdout)["runs"]
    assert [r["client"] for r in one] == ["web73"] and one[0]["sizes"]["filesets"] > 0

    table = list(csv.DictReader(io.StringIO(cli("history", "--format", "csv", state=state).stdout)))
    assert len(table) == len(doc["runs"])
    assert {"phase_1", "phase_12", "filesets", "started", "usable_for_eta"} <= set(table[0])
    assert {row["client"] for row in table} == {r["client"] for r in doc["runs"]}

    assert cli("history", "--since", "2999-01-01", state=state).stdout == "no runs in the history\n"
    recent = json.loads(cli("history", "--since", "1d", "-f", "json", state=state).stdout)["runs"]
    assert len(recent) == len(doc["runs"]) - 1 and "web73" not in {r["client"] for r in recent}
    older = json.loads(cli("history", "--since", "4d", "-f", "json", state=state).stdout)["runs"]
    assert len(older) == len(doc["runs"])


def test_usage_errors(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    missing = cli("history", state=state)
    assert missing.returncode == 2 and "no state journal here" in missing.stderr
    once(SAMPLES, state)
    for args, message in (
        (["--since", "last tuesday"], "is not YYYY-MM-DD"),
        (["import"], "give the log files or directories"),
        (["imprt", "x"], "did you mean `nimwatch history import PATH...`"),
        (["import", "x", "--client", "a"], "--client and --since are for listing"),
    ):
        done = cli("history", *args, state=state)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_parse_since() -> None:
    assert parse_since("7d", now=1_000_000.0) == 1_000_000.0 - 7 * 86400
    assert parse_since("30m", now=1000.0) == -800.0
    assert parse_since("2026-11-22") == time.mktime((2026, 11, 22, 0, 0, 0, 0, 0, -1))
    assert parse_since("2026-11-22 03:15") == time.mktime((2026, 11, 22, 3, 15, 0, 0, 0, -1))
    with pytest.raises(UsageError):
        parse_since("yesterday")


def test_names_from_logs_are_escaped_in_every_locale(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "evil\x1b[2J\u00e9_alt_mig.log").write_text(success_run("evil\x1b[2J\u00e9"))
    state = tmp_path / "state.db"
    once(logs, state)
    utf8 = cli("history", state=state)
    assert "\x1b" not in utf8.stdout and "evil\\x1b[2J\u00e9" in utf8.stdout
    latin = cli("history", state=state, encoding="iso8859-1")  # AIX's default en_US
    assert latin.returncode == 0 and "evil\\x1b[2J\u00e9" in latin.stdout
    plain = cli("history", state=state, encoding="ascii")
    assert plain.returncode == 0 and "evil\\x1b[2J?" in plain.stdout and "Traceback" not in plain.stderr
    assert json.loads(cli("history", "-f", "json", state=state, encoding="ascii").stdout)["runs"][0]["client"] == (
        "evil\x1b[2J\u00e9"
    )


def test_import_old_logs_outcomes_only_and_not_the_running_ones(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "ok1_alt_mig.log").write_text(success_run("ok1") + success_run("ok1"))
    (logs / "bad1_alt_mig.log").write_text(failing_run("bad1", 3))
    (logs / "busy1_alt_mig.log").write_text(running_run("busy1", 4))
    state = tmp_path / "state.db"
    done = cli("history", "import", str(logs), str(tmp_path / "nothing.log"), state=state)
    assert done.returncode == 2, "one path could not be read"
    assert "nothing.log: no such file or directory" in done.stderr
    assert done.stdout.strip() == (
        f"3 runs imported into {state}; 0 with phase durations from the journal, 3 outcome only; "
        "1 not finished (the log ends in it) left out"
    )
    journal = Journal.open(state, readonly=True)
    try:
        found = records(journal)
    finally:
        journal.close()
    assert sorted((r.client, r.run, r.outcome) for r in found) == [
        ("bad1", 1, "failed"),
        ("ok1", 1, "succeeded"),
        ("ok1", 2, "succeeded"),
    ]
    assert not any(r.usable_for_eta for r in found)
    again = cli("history", "import", str(logs), state=state)
    assert again.returncode == 0 and again.stdout.startswith("3 runs imported")
    journal = Journal.open(state, readonly=True)
    try:
        assert len(records(journal)) == 3, "importing twice replaces, never duplicates"
    finally:
        journal.close()


def test_import_takes_the_journals_timings_beside_a_running_watcher(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar7_alt_mig.log"
    log.write_text("")
    state = tmp_path / "state.db"
    proc = WatchProcess([str(logs)], None, state, tmp_path).ready()
    try:
        live_success_run(proc, log, "lpar7")
        recorded = json.loads(cli("history", "-f", "json", state=state).stdout)["runs"]
        assert len(recorded) == 1 and recorded[0]["usable_for_eta"]

        same = cli("history", "import", str(log), state=state)
        assert same.returncode == 0, same.stderr
        assert "0 runs imported" in same.stdout and "1 already in the history" in same.stdout

        # a journal that lost its history row (older nimwatch) still has the arrival times
        with sqlite3.connect(str(state), timeout=30) as conn:
            conn.execute("DELETE FROM history")
        back = cli("history", "import", str(log), state=state)  # the watcher holds the journal meanwhile
        assert back.returncode == 0, back.stderr
        assert back.stdout.startswith("1 run imported") and "1 with phase durations from the journal" in back.stdout
        imported = json.loads(cli("history", "-f", "json", state=state).stdout)["runs"]
        assert len(imported) == 1 and imported[0]["usable_for_eta"]
        ours, theirs = imported[0]["phases"], recorded[0]["phases"]
        assert set(ours) == set(theirs)
        for phase, seconds in theirs.items():
            assert ours[phase] == pytest.approx(seconds, abs=1.5), f"phase {phase}"
    finally:
        assert proc.stop() == 0, proc.stderr()


def test_a_history_row_edited_by_hand_is_skipped_and_named(tmp_path: Path) -> None:
    from nimwatch.core.history import HistoryRecord

    state = tmp_path / "state.db"
    store_records(state, [HistoryRecord(client="a", outcome="succeeded"), HistoryRecord(client="b", outcome="failed")])
    with sqlite3.connect(str(state)) as conn:
        conn.execute("UPDATE history SET phases = '{\"13\": 5}' WHERE client = 'b'")
    done = cli("history", state=state)
    assert done.returncode == 0
    assert "history row" in done.stderr and "phases: 13 is not a phase number" in done.stderr
    assert done.stdout.splitlines()[-1].startswith("1 run: 1 succeeded")


def test_an_older_journal_without_the_table_reads_as_no_history(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    Journal.open(state).close()
    with sqlite3.connect(str(state)) as conn:
        conn.execute("DROP TABLE history")
    journal = Journal.open(state, readonly=True)
    try:
        assert records(journal) == []
    finally:
        journal.close()
