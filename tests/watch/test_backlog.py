"""History is not news: at first start, finished runs in logs last written long ago are shown, not alerted.

The done-when case of the issue: ``watch --once`` with default alert settings and the example hooks on a
copy of ``sample_logs/`` last modified two days ago sends no alert and runs no hook for its finished runs,
and one ``backlog`` event says what was found. ``--alert-backlog`` restores alerting; a log that is new
(or grows after the first start) is alerted as always.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from .proc import run_once
from .servers import HttpReceiver
from .watchkit import append, failing_run, wait_for

ROOT = Path(__file__).resolve().parents[2]
TWO_DAYS = 2 * 24 * 3600


def setup(tmp_path: Path, http: HttpReceiver) -> tuple[Path, Path]:
    """The sample logs, two days old, and the example hooks plus a webhook with default settings."""
    logs = tmp_path / "logs"
    logs.mkdir()
    old = time.time() - TWO_DAYS
    for log in (ROOT / "sample_logs").glob("*_alt_mig.log"):
        shutil.copy(log, logs / log.name)
        os.utime(logs / log.name, (old, old))
    # The modes are set here, not copied from the checkout: running as root, nimwatch refuses a config or
    # a hook that group or others can write, and a checkout made with umask 002 is group-writable.
    etc = tmp_path / "etc"
    etc.mkdir()
    etc.chmod(0o755)
    for source in sorted((ROOT / "examples" / "hooks").iterdir()):
        shutil.copyfile(source, etc / source.name)
        (etc / source.name).chmod(0o755 if source.suffix == ".sh" else 0o644)
    config = etc / "nimwatch.yaml"
    config.write_text(config.read_text() + f"\nalerts:\n  - type: webhook\n    url: {http.url}/alerts\n")
    config.chmod(0o600)
    return logs, config


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_first_start_on_old_logs_alerts_and_hooks_nothing_for_finished_runs(tmp_path: Path) -> None:
    http = HttpReceiver()
    try:
        logs, config = setup(tmp_path, http)
        done = run_once([str(logs)], config, tmp_path / "state.db", tmp_path)
        assert done.returncode == 1, done.stderr  # the samples hold failed runs: the exit code still says so
        events = lines(done.stdout)
        finished = [e for e in events if e["event"] == "run_finished" and "silent_minutes" not in e]
        assert len(finished) == 25  # every finished run is shown (the stall monitor's are about now)
        (backlog,) = [e for e in events if e["event"] == "backlog"]
        assert (backlog["logs"], backlog["runs"], backlog["failed"], backlog["succeeded"]) == (25, 27, 12, 12)
        assert backlog["unfinished"] == 2 and backlog["hours"] == 6
        assert [e for e in events if e["event"] == "hook_result"] == []  # the example hooks ran for nothing
        assert "shown but not alerted" in done.stderr
        # the runs that never finished (running01, and partial04, whose log stops without nimadm's last
        # line) are judged live: silent for two days, they are stalled and incomplete; those alerts are
        # about now, not history
        bodies = http.bodies()
        assert {b["client"] for b in bodies} <= {"running01", "partial04"}
        assert all(b["event"] in ("stalled", "run_finished") for b in bodies)
        assert all(b["event"] != "run_finished" or b["outcome"] == "incomplete" for b in bodies)
        # what is new after the first start is news again
        append(logs / "fail6inst_alt_mig.log", failing_run("fail6inst", 1))
        again = run_once([str(logs)], config, tmp_path / "state.db", tmp_path)
        new = lines(again.stdout)
        assert "backlog" not in {e["event"] for e in new}
        wait_for(lambda: any(b["client"] == "fail6inst" and b["event"] == "run_finished" for b in http.bodies()),
                 what="the alert for the new failed run")
        assert any(e["event"] == "hook_result" and e["hook"] == "mail-on-failure" for e in new)
    finally:
        http.close()


def test_alert_backlog_alerts_the_history_too(tmp_path: Path) -> None:
    http = HttpReceiver()
    try:
        logs, config = setup(tmp_path, http)
        state = tmp_path / "state.db"
        done = run_once(["--alert-backlog", str(logs)], config, state, tmp_path)
        assert done.returncode == 1
        assert "backlog" not in {e["event"] for e in lines(done.stdout)}
        failed = {b["client"] for b in http.bodies() if b["event"] == "run_finished" and b["outcome"] == "failed"}
        assert failed == {
            "fail11mb", "fail1lvm", "fail2cache", "fail3nfs", "fail6inst", "fail8boot", "rerun02",
            "bbverify12", "instfail12", "reqfail12", "rshrefused", "rshtimeout",
        }
    finally:
        http.close()


def test_a_new_log_at_first_start_is_news(tmp_path: Path) -> None:
    http = HttpReceiver()
    try:
        logs, config = setup(tmp_path, http)
        for log in logs.iterdir():
            if log.name != "fail1lvm_alt_mig.log":
                log.unlink()
        os.utime(logs / "fail1lvm_alt_mig.log")  # written just now: a migration that just failed
        done = run_once([str(logs)], config, tmp_path / "state.db", tmp_path)
        assert "backlog" not in {e["event"] for e in lines(done.stdout)}
        assert any(b["event"] == "run_finished" and b["client"] == "fail1lvm" for b in http.bodies())
    finally:
        http.close()
