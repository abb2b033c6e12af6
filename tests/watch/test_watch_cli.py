"""``nimwatch watch`` as users run it: --once exit codes, the JSON-lines schema, errors, SIGTERM, SIGHUP."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from nimwatch.cli import main
from nimwatch.journal import Journal

from .proc import WatchProcess, run_once
from .servers import HttpReceiver
from .watchkit import append, banner, failing_run, running_run, success_run, wait_for

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
COMMON = ("schema", "event", "ts", "client", "log", "phase", "phase_name")


def logs_dir(tmp_path: Path, **runs: str) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    for client, text in runs.items():
        (logs / f"{client}_alt_mig.log").write_text(text)
    return logs


def empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "nimwatch.yaml"
    path.write_text("{}\n")
    path.chmod(0o600)
    return path


def once(tmp_path: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["watch", "--once", "--config", str(empty_config(tmp_path)), "--state", str(tmp_path / "s.db"), *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_once_exit_0_and_the_json_lines_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = logs_dir(tmp_path, web1=success_run("web1"), app2=running_run("app2", 6))
    code, events, err = once(tmp_path, str(logs), capsys=capsys)
    assert code == 0, err
    assert {e["event"] for e in events} == {"run_started", "phase_started", "phase_finished", "run_finished"}
    for e in events:
        assert all(key in e for key in COMMON), e
        assert ISO.match(e["ts"]) and e["schema"] == 1
        assert e["log"].startswith(str(logs))
    finished = [e for e in events if e["event"] == "run_finished"]
    assert [(e["client"], e["outcome"]) for e in finished] == [("web1", "succeeded")]
    phase6 = [e for e in events if e["event"] == "phase_started" and e["phase"] == 6]
    assert phase6 and phase6[0]["phase_name"] and phase6[0]["client"] == "app2"
    # a second pass over unchanged logs prints nothing new and exits the same way
    code, events, err = once(tmp_path, str(logs), capsys=capsys)
    assert (code, events) == (0, [])


def test_once_exit_1_on_a_failed_run_with_finding_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = logs_dir(tmp_path, db1=failing_run("db1", 1), web1=success_run("web1"))
    code, events, _ = once(tmp_path, str(logs), capsys=capsys)
    assert code == 1
    findings = [e for e in events if e["event"] == "finding"]
    assert findings
    for f in findings:
        for key in ("rule", "code", "severity", "text", "advice", "line"):
            assert key in f, (key, f)
    assert any(f["code"] == "0505-111" and f["severity"] == "error" for f in findings)
    (failed,) = [e for e in events if e["event"] == "run_finished" and e["client"] == "db1"]
    assert failed["outcome"] == "failed" and failed["phase"] == 1


def test_once_on_the_repository_sample_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples = Path(__file__).resolve().parents[2] / "sample_logs"
    if not list(samples.glob("*_alt_mig.log")):
        pytest.skip("no sample logs")
    code, events, err = once(tmp_path, str(samples), capsys=capsys)
    assert code == 1, err  # the samples hold failed runs
    assert {e["event"] for e in events} >= {"run_started", "finding", "run_finished"}


def test_once_on_a_missing_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["watch", "--once", "--config", str(empty_config(tmp_path)), "--state", str(tmp_path / "s.db"),
                 str(tmp_path / "nowhere")])
    assert code == 2 and "nowhere: no such directory" in capsys.readouterr().err


def test_a_single_log_that_does_not_exist_yet_is_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, events, _ = once(tmp_path, str(tmp_path / "later_alt_mig.log"), capsys=capsys)
    assert (code, events) == (0, [])


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (["--poll", "often"], "{}\n", "--poll: expected 'auto' or a number of seconds"),
        (["--poll", "0"], "{}\n", "--poll: the interval must be above 0"),
        ([], "alerts:\n  - type: webhook\n    ur1: http://x\n", "nimwatch.yaml:3: alerts[0].ur1: unknown key (did you mean 'url'?)"),
        ([], "stall: {default_minutes: -5}\n", "stall.default_minutes: must be a positive number"),
        ([], "poll: sometimes\n", "poll: must be 'auto' or a positive number"),
    ],
)
def test_usage_and_config_errors_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], config: str, message: str
) -> None:
    path = tmp_path / "nimwatch.yaml"
    path.write_text(config)
    path.chmod(0o600)
    code = main(["watch", "--once", "--config", str(path), "--state", str(tmp_path / "s.db"), *args, str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert message in err and "Traceback" not in err and out == ""


def test_damaged_state_exits_4_and_rebuild_state_recovers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = logs_dir(tmp_path, db1=failing_run("db1", 1))
    (tmp_path / "s.db").write_bytes(b"garbage" * 1000)
    code, events, err = once(tmp_path, str(logs), capsys=capsys)
    assert code == 4 and events == []
    assert "state journal is damaged" in err and "--rebuild-state" in err
    code, events, err = once(tmp_path, "--rebuild-state", str(logs), capsys=capsys)
    assert code == 1 and events
    assert "moved aside to" in err
    assert list(tmp_path.glob("s.db.damaged-*"))


def test_env_gives_config_and_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    logs = logs_dir(tmp_path, web1=success_run("web1"))
    monkeypatch.setenv("NIMWATCH_CONFIG", str(empty_config(tmp_path)))
    monkeypatch.setenv("NIMWATCH_STATE", str(tmp_path / "env-state" / "state.db"))
    assert main(["watch", "--once", str(logs)]) == 0
    assert (tmp_path / "env-state" / "state.db").is_file()
    capsys.readouterr()


def test_sigterm_stops_cleanly_with_the_state_flushed(tmp_path: Path) -> None:
    logs = logs_dir(tmp_path)
    state = tmp_path / "state.db"
    watcher = WatchProcess([str(logs), "--poll", "auto"], empty_config(tmp_path), state, tmp_path).ready()
    try:
        log = logs / "lpar1_alt_mig.log"
        append(log, running_run("lpar1", 3))
        wait_for(lambda: [e["phase"] for e in watcher.events() if e["event"] == "phase_started"] == [1, 2, 3],
                 what="the live events on stdout")
        append(log, "Copying more data.\n" + banner(4) + "Copying more data.\n")
        wait_for(lambda: [e for e in watcher.events() if e["event"] == "phase_started" and e["phase"] == 4],
                 what="phase 4")
    finally:
        code = watcher.stop()
    assert code == 0, watcher.stderr()
    assert "Traceback" not in watcher.stderr()
    journal = Journal.open(state)
    try:
        identity = journal.file_identities()[str(log)]
        assert identity.offset == log.stat().st_size  # everything read was recorded before exiting
    finally:
        journal.close()


def test_sighup_reloads_and_a_bad_config_is_refused(tmp_path: Path) -> None:
    first, second = HttpReceiver(), HttpReceiver()
    config = tmp_path / "nimwatch.yaml"

    def use(url: str) -> None:
        config.write_text(f"alerts:\n  - type: webhook\n    url: {url}/hook\n    events: [run_finished]\n")
        config.chmod(0o600)

    use(first.url)
    logs = logs_dir(tmp_path)
    watcher = WatchProcess([str(logs)], config, tmp_path / "state.db", tmp_path).ready()
    try:
        append(logs / "a_alt_mig.log", failing_run("a", 1))
        wait_for(lambda: len(first.bodies()) == 1, what="the alert through the first config")

        config.write_text("alerts:\n  - type: webhook\n    url: [not, a, url]\n")
        watcher.signal(signal.SIGHUP)
        watcher.wait_stderr("reload refused, the old configuration stays")
        assert "alerts[0].url" in watcher.stderr()
        append(logs / "b_alt_mig.log", failing_run("b", 1))
        wait_for(lambda: len(first.bodies()) == 2, what="the old config still used")

        use(second.url)
        watcher.signal(signal.SIGHUP)
        watcher.wait_stderr("configuration reloaded from")
        append(logs / "c_alt_mig.log", failing_run("c", 1))
        wait_for(lambda: len(second.bodies()) == 1, what="the alert through the reloaded config")
        assert [b["client"] for b in first.bodies()] == ["a", "b"]
        assert second.bodies()[0]["client"] == "c"
    finally:
        code = watcher.stop()
        first.close()
        second.close()
    assert code == 0, watcher.stderr()


def test_once_as_a_subprocess(tmp_path: Path) -> None:
    logs = logs_dir(tmp_path, db1=failing_run("db1", 2))
    done = run_once([str(logs)], empty_config(tmp_path), tmp_path / "state.db", tmp_path)
    assert done.returncode == 1, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[-1]["event"] == "run_finished" and events[-1]["outcome"] == "failed"
    assert done.stderr == ""
