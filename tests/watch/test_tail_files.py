"""The tailer on real temporary directories, with the native observer (inotify) and the polling one.

Each test starts a Tailer with the safety re-stat pushed out of reach, so what
is seen is seen through watchdog's events (or its polling), and waits on
conditions, never on fixed sleeps.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional

import pytest

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.sources.tail import Tailer

from .watchkit import Collector, append, banner, failing_run, running_run, success_run, wait_for, write_slowly

NO_RESCAN = 3600.0


class Rig:
    """An engine, a tailer on one directory and what they produced."""

    def __init__(self, rules: RuleSet, directory: Path, poll: Optional[float], paths: Optional[list[Path]] = None):
        self.engine = Engine(rules)
        self.notices = Collector(self.engine)
        self.errors: list[str] = []
        self.tailer = Tailer(
            self.engine, paths or [directory], poll=poll, on_error=self.errors.append, rescan=NO_RESCAN
        )
        self.dir = directory

    def log(self, client: str) -> str:
        return str(self.dir / f"{client}_alt_mig.log")

    def phases(self, client: str) -> list[int]:
        return [n.phase for n in self.notices.events("phase_started", log=self.log(client)) if n.phase]

    def outcomes(self, client: str) -> list[str]:
        return [str(n.get("outcome")) for n in self.notices.events("run_finished", log=self.log(client))]

    def restarts(self, client: str) -> list[str]:
        return [str(n.get("reason")) for n in self.notices.events("log_restarted", log=self.log(client))]


@pytest.fixture
def rig(rules: RuleSet, tmp_path: Path, poll: Optional[float]):  # type: ignore[no-untyped-def]
    r = Rig(rules, tmp_path, poll)
    r.tailer.start()
    yield r
    r.tailer.stop()


def test_append_and_a_log_that_appears_later(rig: Rig) -> None:
    a = rig.dir / "lpar1_alt_mig.log"
    append(a, running_run("lpar1", 2))
    wait_for(lambda: rig.phases("lpar1") == [1, 2], what="phases 1 and 2 of lpar1")
    b = rig.dir / "lpar2_alt_mig.log"
    append(b, running_run("lpar2", 1))
    wait_for(lambda: rig.phases("lpar2") == [1], what="the new client's phase 1")
    append(a, "".join(banner(p) for p in range(3, 13)))
    append(a, "Cleaning up alt_disk_migration on the NIM master.\nCleaning up alt_disk_migration on client lpar1.\n")
    wait_for(lambda: rig.outcomes("lpar1") == ["succeeded"], what="lpar1's run to succeed")
    assert rig.phases("lpar1") == list(range(1, 13))
    assert [n.client for n in rig.notices.events("run_started")] == ["lpar1", "lpar2"]
    assert not rig.errors


def test_a_file_that_is_not_a_log_is_ignored(rig: Rig) -> None:
    append(rig.dir / "notes.txt", running_run("x", 1))
    append(rig.dir / "lpar1_alt_mig.log", running_run("lpar1", 1))
    wait_for(lambda: rig.phases("lpar1") == [1], what="lpar1")
    assert rig.tailer.logs == [rig.log("lpar1")]


def test_partial_last_line_is_held_until_its_newline(rig: Rig) -> None:
    log = rig.dir / "lpar1_alt_mig.log"
    append(log, running_run("lpar1", 1))
    wait_for(lambda: rig.phases("lpar1") == [1], what="phase 1")
    append(log, banner(2) + "Executing nimadm ph")
    size = log.stat().st_size
    wait_for(lambda: rig.tailer.offset(str(log)) == size, what="the partial line to be read")
    # the offset moves when bytes are read, just before the engine applies them (another thread): wait for both
    wait_for(lambda: rig.phases("lpar1") == [1, 2], what="phase 2, and not the partial phase 3 line")
    append(log, "ase 3.\n")
    wait_for(lambda: rig.phases("lpar1") == [1, 2, 3], what="phase 3 once its line is complete")


def test_many_small_writes_cut_anywhere(rig: Rig) -> None:
    log = rig.dir / "lpar1_alt_mig.log"
    write_slowly(log, success_run("lpar1", body_lines=20), pieces=200)
    wait_for(lambda: rig.outcomes("lpar1") == ["succeeded"], what="the run to succeed")
    assert rig.phases("lpar1") == list(range(1, 13))
    assert len(rig.notices.events("phase_finished")) == 12


def test_rotation_by_rename_drains_the_old_file_then_reads_the_new(rig: Rig) -> None:
    log = rig.dir / "lpar1_alt_mig.log"
    append(log, running_run("lpar1", 2))
    wait_for(lambda: rig.phases("lpar1") == [1, 2], what="phases 1 and 2")
    # Written just before the rename: only the still-open old descriptor can deliver these lines.
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(banner(3) + "Syncing client data to cache ...\n")
        handle.flush()
        os.rename(log, rig.dir / "lpar1_alt_mig.log.1")
    append(log, success_run("lpar1"))
    wait_for(lambda: rig.outcomes("lpar1")[-1:] == ["succeeded"], what="the new file's run to succeed")
    events = [n.event for n in rig.notices.events("phase_started", "log_restarted")]
    restart_at = events.index("log_restarted")
    assert [n.phase for n in rig.notices.events("phase_started")][:3] == [1, 2, 3]
    assert restart_at == 3, events  # phase 3 of the old file came before the restart
    assert rig.restarts("lpar1") in (["rotated"], ["replaced"])
    assert rig.outcomes("lpar1") == ["incomplete", "succeeded"]
    runs = [n.run for n in rig.notices.events("run_started")]
    assert runs == [1, 2]


def test_copytruncate_starts_a_new_run_from_the_start(rig: Rig) -> None:
    log = rig.dir / "lpar1_alt_mig.log"
    append(log, failing_run("lpar1", 2))
    wait_for(lambda: rig.outcomes("lpar1") == ["failed"], what="the failed run")
    shutil.copy(log, rig.dir / "lpar1_alt_mig.log.old")
    with open(log, "r+", encoding="utf-8") as handle:
        handle.truncate(0)
    wait_for(lambda: rig.restarts("lpar1") == ["truncated"], what="the truncation to be seen")
    append(log, success_run("lpar1"))
    wait_for(lambda: rig.outcomes("lpar1") == ["failed", "succeeded"], what="the new run")
    assert [n.run for n in rig.notices.events("run_started")] == [1, 2]


def test_truncated_and_regrown_between_two_looks_is_a_rewrite(rules: RuleSet, tmp_path: Path) -> None:
    rig = Rig(rules, tmp_path, None)
    log = tmp_path / "lpar1_alt_mig.log"
    append(log, failing_run("lpar1", 2))
    rig.tailer.scan_once()
    assert rig.outcomes("lpar1") == ["failed"]
    log.write_text(success_run("lpar1", body_lines=10))  # longer than before: size never drops below the offset
    rig.tailer.scan_once()
    assert rig.restarts("lpar1") == ["rewritten"]
    assert rig.outcomes("lpar1") == ["failed", "succeeded"]
    rig.tailer.stop()


def test_same_size_rewrite_is_seen_by_its_first_line(rules: RuleSet, tmp_path: Path) -> None:
    rig = Rig(rules, tmp_path, None)
    log = tmp_path / "lpar1_alt_mig.log"
    log.write_text("Initializing the NIM master.\n" + banner(1))
    rig.tailer.scan_once()
    text = log.read_text()
    log.write_text("Initializing the NIM MASTER.\n" + text.split("\n", 1)[1])
    os.utime(log, ns=(log.stat().st_atime_ns, log.stat().st_mtime_ns + 1_000_000_000))
    rig.tailer.scan_once()
    assert rig.restarts("lpar1") == ["rewritten"]
    rig.tailer.stop()


def test_deleted_log_keeps_its_state_and_is_read_anew_when_it_returns(rig: Rig) -> None:
    log = rig.dir / "lpar1_alt_mig.log"
    append(log, running_run("lpar1", 3))
    wait_for(lambda: rig.phases("lpar1") == [1, 2, 3], what="phases 1-3")
    log.unlink()
    append(rig.dir / "lpar2_alt_mig.log", running_run("lpar2", 1))
    wait_for(lambda: rig.phases("lpar2") == [1], what="the other log still followed")
    assert rig.log("lpar1") in rig.engine.logs  # state kept
    assert rig.engine.logs[rig.log("lpar1")].current is not None
    append(log, failing_run("lpar1", 1))
    wait_for(lambda: rig.outcomes("lpar1")[-1:] == ["failed"], what="the returning file's run")
    # "replaced" when the reader saw the name vanish; a poll that missed the gap sees a new inode
    # (rotated) or, when the inode number was reused for a shorter file, a truncation.
    (reason,) = rig.restarts("lpar1")
    assert reason in ("replaced", "rotated", "truncated")
    assert rig.outcomes("lpar1") == ["incomplete", "failed"]
    assert not rig.errors


def test_a_line_of_megabytes_is_cut_and_the_log_goes_on(rig: Rig) -> None:
    log = rig.dir / "lpar1_alt_mig.log"
    append(log, running_run("lpar1", 5))
    wait_for(lambda: rig.phases("lpar1") == [1, 2, 3, 4, 5], what="phases 1-5")
    huge = "installp: " + "x" * (5 * 1024 * 1024) + "\n"
    append(log, banner(6) + huge + "Still installing.\n" + banner(7))
    wait_for(lambda: rig.phases("lpar1")[-1:] == [7], what="phase 7 after the huge line")
    bad = rig.notices.events("bad_line")
    assert len(bad) == 1 and "cut" in str(bad[0].get("reason"))
    state = rig.engine.logs[rig.log("lpar1")]
    assert state.current is not None and len(state.current.last_text) < 1000


def test_a_fifo_or_directory_named_like_a_log_is_reported_and_others_continue(rig: Rig) -> None:
    os.mkfifo(rig.dir / "pipe_alt_mig.log")
    (rig.dir / "dir_alt_mig.log").mkdir()
    good = rig.dir / "lpar1_alt_mig.log"
    append(good, running_run("lpar1", 2))
    wait_for(lambda: rig.phases("lpar1") == [1, 2], what="the readable log")
    wait_for(lambda: len(rig.errors) >= 2, what="both bad names reported")
    assert any("pipe_alt_mig.log" in e and "not a regular file" in e for e in rig.errors)
    assert any("dir_alt_mig.log" in e and "not a regular file" in e for e in rig.errors)
    # The FIFO becomes a real log: it is read (on the next event that names it).
    os.unlink(rig.dir / "pipe_alt_mig.log")
    append(rig.dir / "pipe_alt_mig.log", running_run("pipe", 1))
    wait_for(lambda: rig.phases("pipe") == [1], what="the former FIFO, now a log")
    append(good, banner(3))
    wait_for(lambda: rig.phases("lpar1") == [1, 2, 3], what="the good log still followed")


def test_a_single_file_that_does_not_exist_yet(rules: RuleSet, tmp_path: Path, poll: Optional[float]) -> None:
    log = tmp_path / "later_alt_mig.log"
    rig = Rig(rules, tmp_path, poll, paths=[log])
    rig.tailer.start()
    try:
        append(tmp_path / "other_alt_mig.log", running_run("other", 1))
        append(log, running_run("later", 2))
        wait_for(lambda: rig.phases("later") == [1, 2], what="the named file once it exists")
        assert rig.tailer.logs == [str(log)]  # the other log in the directory is not followed
    finally:
        rig.tailer.stop()


def test_a_directory_that_does_not_exist_yet(rules: RuleSet, tmp_path: Path) -> None:
    missing = tmp_path / "alt_mig"
    engine = Engine(rules)
    notices = Collector(engine)
    errors: list[str] = []
    tailer = Tailer(engine, [missing], on_error=errors.append, rescan=0.05)
    tailer.start()
    try:
        wait_for(lambda: errors, what="the missing directory to be reported")
        assert "no such directory" in errors[0]
        missing.mkdir()
        append(missing / "lpar1_alt_mig.log", running_run("lpar1", 1))
        wait_for(lambda: [n.phase for n in notices.events("phase_started")] == [1], what="the log in the new directory")
        append(missing / "lpar1_alt_mig.log", banner(2))
        wait_for(lambda: [n.phase for n in notices.events("phase_started")] == [1, 2], what="phase 2")
    finally:
        tailer.stop()


def test_unreadable_file_as_another_user(rules: RuleSet) -> None:
    """chmod 000 cannot stop root: a forked child drops to 'nobody' so the permission really fails."""
    import json
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("needs root to follow the logs as another user")
    try:
        import pwd

        nobody = pwd.getpwnam("nobody")
    except (ImportError, KeyError):
        pytest.skip("no 'nobody' user")
    work = Path(tempfile.mkdtemp(prefix="nimwatch-perm-"))
    try:
        work.chmod(0o755)
        (work / "good_alt_mig.log").write_text(failing_run("good", 1))
        (work / "secret_alt_mig.log").write_text(failing_run("secret", 1))
        (work / "good_alt_mig.log").chmod(0o644)
        (work / "secret_alt_mig.log").chmod(0o000)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: no threads of its own, only a synchronous scan
            code = 1
            try:
                os.close(read_end)
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                engine = Engine(rules)
                notices = Collector(engine)
                errors: list[str] = []
                Tailer(engine, [work], on_error=errors.append).scan_once()
                report = {"errors": errors, "clients": sorted({n.client for n in notices.public()})}
                os.write(write_end, json.dumps(report).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, data
        report = json.loads(data)
        assert report["clients"] == ["good"]
        assert len(report["errors"]) == 1
        assert "secret_alt_mig.log: cannot open: Permission denied" in report["errors"][0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
