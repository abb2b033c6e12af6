"""nimadm's arguments read for the client; run records written atomically; live, dead and reused PIDs; the journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hooks.hookkit import wait_for

from nimwatch.aix.runner import CommandResult
from nimwatch.errors import UsageError
from nimwatch.journal import Journal, record_launch
from nimwatch.launcher import launch
from nimwatch.launcher.nimadm_args import is_nimadm, nimadm_args_of, parse_nimadm_args
from nimwatch.launcher.records import (
    RunRecord,
    all_records,
    latest,
    parse_etime,
    pid_alive,
    process_start,
    record_path,
    runs_dir,
    sync_journal,
    write_atomic,
)


@pytest.mark.parametrize(
    ("args", "client", "mode"),
    [
        (["-c", "lpar1", "-l", "lpp", "-s", "spot", "-d", "hdisk1", "-Y"], "lpar1", "migrate"),
        (["-clpar1", "-llpp", "-sspot", "-dhdisk1 hdisk2", "-jnimvg", "-Y"], "lpar1", "migrate"),  # SMIT's way
        (["-Y", "-c", "lpar1", "-d", "hdisk1 hdisk2", "-P", "1 2 3"], "lpar1", "migrate"),
        (["-CY", "-c", "lpar1", "-s", "spot"], "lpar1", "cleanup"),
        (["-C", "lpar1", "-s", "spot"], "lpar1", "cleanup"),  # the AIX 5.2 syntax
        (["-W", "-c", "lpar1", "-s", "spot", "-d", "hdisk1", "-z", "post"], "lpar1", "wake-up"),
        (["-S", "-c", "lpar1", "-s", "spot"], "lpar1", "sleep"),
        (
            ["-T", "mksysb71", "-c", "lpar1", "-s", "spot", "-l", "lpp", "-j", "vg", "-d", "hdisk1", "-Y"],
            "lpar1",
            "migrate",
        ),
    ],
)
def test_client_from_nimadm_arguments(args: list[str], client: str, mode: str) -> None:
    call = parse_nimadm_args(args)
    assert (call.client, call.mode) == (client, mode)


def test_values_are_kept() -> None:
    call = parse_nimadm_args(["-clpar1", "-d", "hdisk1 hdisk2", "-jnimvg", "-Y"])
    assert call.values == {"c": "lpar1", "d": "hdisk1 hdisk2", "j": "nimvg"} and "Y" in call.flags


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-M", "-s", "spot", "-l", "lpp"], "needs the NIM client"),
        (["-T", "mksysb71", "-O", "/export/new.mksysb", "-s", "spot", "-l", "lpp", "-j", "vg"], "needs the NIM client"),
        (["-c"], "-c needs a value"),
        (["-c", "lpar1", "-H"], "no flag -H"),
        (["-c", "lpar1;rm"], "not a NIM client name"),
        (["-c", "-rf"], "not a NIM client name"),
    ],
)
def test_refused_command_lines(args: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_nimadm_args(args)


def test_nimadm_in_ps_lines() -> None:
    assert is_nimadm("/bin/ksh /usr/sbin/nimadm -c lpar1 -s spot")
    assert is_nimadm("/usr/sbin/nimadm -c lpar1")
    assert not is_nimadm("vi /tmp/nimadm.notes")
    assert not is_nimadm("grep nimadm")
    assert not is_nimadm("less /usr/sbin/nimadm")
    assert not is_nimadm("/bin/ksh /tmp/wrapper.sh nimadm")
    assert nimadm_args_of("/bin/ksh /usr/sbin/nimadm -c lpar1 -s spot") == ["-c", "lpar1", "-s", "spot"]


def make_record(runs: Path, client: str = "lpar1", **changes: object) -> RunRecord:
    started = float(changes.pop("started", time.time()))  # type: ignore[arg-type]
    record = RunRecord(
        path=record_path(runs, client, started, 4242),
        client=client,
        argv=["nimadm", "-c", client],
        cwd="/",
        started=started,
        pid=None,
        supervisor_pid=4242,
        output=str(runs / "x.out"),
        log=f"/logs/{client}_alt_mig.log",
        journal=str(runs.parent / "state.db"),
    )
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def test_atomic_write_and_load(tmp_path: Path) -> None:
    runs = runs_dir(tmp_path / "state.db")
    runs.mkdir()
    record = make_record(runs, exit_code=3, ended=time.time())
    record.save()
    assert [p.name for p in runs.iterdir()] == [record.path.name]  # no temporary file left
    assert oct(record.path.stat().st_mode & 0o777) == "0o640"
    loaded = RunRecord.load(record.path)
    assert loaded == record and loaded.status() == "exited" and loaded.describe() == "nimadm exited 3"
    # a failed write leaves the old record whole and no temporary file
    with pytest.raises(TypeError):
        write_atomic(record.path, {"bad": object()})
    assert RunRecord.load(record.path) == record
    assert [p.name for p in runs.iterdir()] == [record.path.name]


def test_damaged_and_foreign_records_are_skipped(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    good = make_record(runs, started=1000.0, exit_code=0)
    good.save()
    newer = make_record(runs, started=2000.0, signal=9)
    newer.save()
    (runs / "lpar1.20250101T000000-1.json").write_text("{not json")
    (runs / "lpar1.20250101T000001-2.json").write_text(json.dumps({"version": 99}))
    (runs / "notes.txt").write_text("x")
    make_record(runs, client="lpar2", started=1500.0, exit_code=1).save()
    assert [r.started for r in all_records(runs, "lpar1")] == [1000.0, 2000.0]
    assert len(all_records(runs)) == 3
    last = latest(runs, "lpar1")
    assert last is not None and last.describe() == "nimadm was killed by signal 9"
    assert latest(runs, "nobody") is None
    assert all_records(tmp_path / "missing") == []


def test_status_running_lost_and_a_reused_pid(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    me = os.getpid()
    began = process_start(me)
    assert began is not None and abs(began - time.time()) < 24 * 3600
    assert pid_alive(me, began)
    assert not pid_alive(me, began - 10 * 24 * 3600)  # same PID, another process's start time: reused
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not pid_alive(dead.pid, time.time())
    assert make_record(runs, pid=me, started=began).status() == "running"
    reused = make_record(runs, pid=me, started=began - 10 * 24 * 3600)
    reused.supervisor_pid = dead.pid
    assert reused.status() == "lost"
    finishing = make_record(runs, pid=dead.pid, started=began)
    finishing.supervisor_pid = me  # nimadm ended, the supervisor is writing its status
    assert finishing.status() == "running"
    assert make_record(runs, pid=dead.pid, exit_code=0).status() == "exited"


def test_a_zombie_is_not_alive(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_for(lambda: Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z", 60, "a zombie")
    try:
        assert not pid_alive(child.pid, time.time())
    finally:
        child.wait()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:05", 5.0), ("  01:02:03\n", 3723.0), ("2-00:00:01", 172801.0), ("-", None), ("", None)],
)
def test_etime(text: str, seconds: float | None) -> None:
    assert parse_etime(text) == seconds


def test_journal_rows_are_added_and_completed_never_undone(tmp_path: Path) -> None:
    state = tmp_path / "state" / "state.db"
    state.parent.mkdir()
    runs = runs_dir(state)
    runs.mkdir()
    record = make_record(runs, pid=77)
    record.save()
    holder = Journal.open(state)  # a watcher holds the journal: the record still goes in
    try:
        assert sync_journal(state, runs) == []
        assert [(r["pid"], r["exit_code"]) for r in holder.launches("lpar1")] == [(77, None)]
        record.exit_code, record.ended = 5, time.time()
        record_launch(state, record.journal_row())
        stale = make_record(runs, pid=77)  # a late copy of the first version must not erase the status
        stale.path = record.path
        record_launch(state, stale.journal_row())
        rows = holder.launches()
        assert [(r["client"], r["exit_code"], r["argv"]) for r in rows] == [("lpar1", 5, ["nimadm", "-c", "lpar1"])]
    finally:
        holder.close()
    readonly = Journal.open(state, readonly=True)
    try:
        assert readonly.launches("lpar1")[0]["exit_code"] == 5 and readonly.launches("other") == []
    finally:
        readonly.close()


def test_a_new_journal_made_by_a_record_is_a_whole_journal(tmp_path: Path) -> None:
    state = tmp_path / "fresh.db"
    runs = runs_dir(state)
    runs.mkdir()
    make_record(runs, exit_code=0).save()
    assert sync_journal(state, runs) == []
    readonly = Journal.open(state, readonly=True)  # has its schema version: not "damaged"
    try:
        assert len(readonly.launches()) == 1
    finally:
        readonly.close()


def test_an_older_journal_without_the_table_reads_as_empty(tmp_path: Path) -> None:
    import sqlite3

    state = tmp_path / "old.db"
    Journal.open(state).close()
    conn = sqlite3.connect(str(state))
    conn.execute("DROP TABLE launches")
    conn.commit()
    conn.close()
    readonly = Journal.open(state, readonly=True)
    try:
        assert readonly.launches() == []
    finally:
        readonly.close()


@pytest.mark.parametrize(
    ("result", "why"),
    [
        (
            CommandResult(("/usr/bin/ps", "-e", "-o", "pid,args"), None, error="no answer within 30 s (killed)"),
            "no answer within 30 s (killed)",
        ),
        (
            CommandResult(("/usr/bin/ps", "-e", "-o", "pid,args"), 1, stderr="ps: fatal: cannot read /proc\n"),
            "exit status 1: ps: fatal: cannot read /proc",
        ),
    ],
)
def test_a_process_list_that_cannot_be_read_refuses_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, result: CommandResult, why: str
) -> None:
    # Not knowing whether a nimadm runs on the client is no licence to start a second one on its disks.
    monkeypatch.setattr(launch.SubprocessRunner, "run", lambda self, argv, timeout: result)
    with pytest.raises(launch.AlreadyRunning) as refused:
        launch.refuse_if_running(tmp_path, "lpar4")
    message = str(refused.value)
    assert message.startswith("cannot tell whether a nimadm for lpar4 is already running")
    assert why in message and message.endswith("nothing was started")
