"""The SQLite state journal: persistence, damage detection, rebuild, locking, once-keys, spool, throttle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import notice_count, spool_keys

from nimwatch.errors import ExitCode, StateError
from nimwatch.feed import FileIdentity
from nimwatch.journal import Journal

ROOT = Path(__file__).resolve().parents[2]


def test_mark_once_is_true_once_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state" / "state.db"
    journal = Journal.open(path)
    assert journal.mark_once("hook", "a") is True
    assert journal.mark_once("hook", "a") is False
    assert journal.mark_once("other", "a") is True
    journal.close()
    journal = Journal.open(path)
    assert journal.mark_once("hook", "a") is False
    journal.close()


def test_files_checkpoints_and_arrival_times(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "s.db")
    ident = FileIdentity(1, 2, 1, 100, 10, "h", "p")
    journal.record_file("/l/a_alt_mig.log", ident, 5, 1000.0, checkpoint=True)
    journal.record_file("/l/a_alt_mig.log", FileIdentity(1, 2, 1, 200, 10, "h", "p2"), 9, 1010.0, checkpoint=True)
    journal.claim("k1", "/l/a_alt_mig.log", 1, 1, "phase_started", 1, 3, 999.5)
    assert journal.file_identities()["/l/a_alt_mig.log"].offset == 200
    assert journal.checkpoints("/l/a_alt_mig.log", 1) == [(100, 1000.0), (200, 1010.0)]
    assert journal.arrival_times("/l/a_alt_mig.log") == {3: 999.5, 5: 1000.0, 9: 1010.0}
    assert journal.arrival_times("/l/none") == {}
    journal.forget_generations("/l/a_alt_mig.log", 2)
    assert journal.checkpoints("/l/a_alt_mig.log", 1) == []
    journal.close()
    readonly = Journal.open(tmp_path / "s.db", readonly=True)
    assert readonly.file_identities()["/l/a_alt_mig.log"].prefix_hash == "p2"
    readonly.close()


def test_claim_is_true_only_the_first_time(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "s.db")
    assert journal.claim("key", "log", 1, 1, "finding", 3, 10, 1.0)
    assert not journal.claim("key", "log", 1, 1, "finding", 3, 10, 2.0)
    assert notice_count(journal) == 1
    journal.close()


def test_throttle_once_ever_or_once_per_window(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "s.db")
    assert journal.throttle("hook", "k", 100.0, 0)
    assert not journal.throttle("hook", "k", 10_000.0, 0)
    assert journal.throttle("mail", "k", 100.0, 60)
    assert not journal.throttle("mail", "k", 159.0, 60)
    assert journal.throttle("mail", "k", 161.0, 60)
    journal.close()


def test_spool_keeps_order_retries_and_states(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "s.db")
    a = journal.spool_add("web", "a", {"body": {"n": 1}}, 1.0)
    b = journal.spool_add("web", "b", {"body": {"n": 2}}, 2.0)
    journal.spool_add("mail", "c", {"body": {"n": 3}}, 3.0)
    assert [i.key for i in journal.spool_due("web", 10.0)] == ["a", "b"]
    journal.spool_retry(a, 1, 50.0, "down")
    assert [i.key for i in journal.spool_due("web", 10.0)] == ["b"]
    assert journal.spool_due("web", float("inf"))[0].last_error == "down"
    journal.spool_sent(b, 11.0)
    journal.spool_drop(a, 12.0, "HTTP 400")
    assert journal.spool_pending() == {"mail": 1}
    assert spool_keys(journal, "web", "rejected") == ["a"]
    journal.close()


def test_garbage_file_is_a_clear_state_error_and_rebuild_moves_it_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite at all\n" * 100)
    with pytest.raises(StateError) as caught:
        Journal.open(path)
    assert "damaged" in str(caught.value) and "--rebuild-state" in str(caught.value)
    assert caught.value.exit_code == ExitCode.STATE
    journal, aside = Journal.rebuild(path)
    assert aside is not None and aside.read_bytes().startswith(b"this is not sqlite")
    assert journal.mark_once("x", "y")
    journal.close()


def test_cut_database_is_reported_damaged(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    journal = Journal.open(path)
    for i in range(2000):
        journal.claim(f"key-{i}", "log", 1, 1, "finding", 1, i, float(i))
    journal.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StateError, match="damaged"):
        journal = Journal.open(path)
        notice_count(journal)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    journal = Journal.open(path)
    with journal.transaction() as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    journal.close()
    with pytest.raises(StateError, match="schema 99"):
        Journal.open(path)


def test_a_second_watcher_on_the_same_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    journal = Journal.open(path)
    code = (
        "import sys; from nimwatch.journal import Journal; from nimwatch.errors import StateError\n"
        "try:\n    Journal.open(sys.argv[1])\nexcept StateError as e:\n    print(e); sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=str(ROOT), timeout=60
    )
    journal.close()
    assert done.returncode == 3, done.stderr
    assert "another nimwatch watch is using" in done.stdout


def test_unwritable_state_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateError, match="cannot create the state directory"):
        Journal.open(blocker / "sub" / "state.db")
