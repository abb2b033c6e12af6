"""Diagnostics through logging: --log-level, --log-format, --log-file (rotated), the schema key, O_APPEND output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nimwatch import logsetup
from nimwatch.cli import main
from nimwatch.errors import UsageError

from .proc import ROOT, run_once, watch_env
from .watchkit import failing_run, success_run

TEXT_RECORD = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) nimwatch: \S")


def logs_with(tmp_path: Path, **runs: str) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    for client, text in runs.items():
        (logs / f"{client}_alt_mig.log").write_text(text)
    return logs


def config(tmp_path: Path) -> Path:
    path = tmp_path / "nimwatch.yaml"
    path.write_text("{}\n")
    path.chmod(0o600)
    return path


def nimwatch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", *args],
        capture_output=True,
        text=True,
        env=watch_env(config(tmp_path), tmp_path / "state.db"),
        cwd=str(tmp_path),
        timeout=300,
    )


def test_log_level_debug_watch_once_prints_levelled_timestamped_diagnostics(tmp_path: Path) -> None:
    logs = logs_with(tmp_path, web1=success_run("web1"))
    done = nimwatch(tmp_path, "--log-level", "debug", "watch", "--once", str(logs))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) >= 3, done.stderr
    for line in lines:
        assert TEXT_RECORD.match(line), line
    assert any(" DEBUG nimwatch: config " in line for line in lines)
    assert any(" DEBUG nimwatch: --once: 1 log(s) read" in line for line in lines)
    events = [json.loads(line) for line in done.stdout.splitlines()]  # stdout is still only data
    assert events and all(e["schema"] == 1 for e in events)


def test_default_level_keeps_once_quiet_and_warning_hides_info(tmp_path: Path) -> None:
    logs = logs_with(tmp_path, web1=success_run("web1"))
    done = run_once([str(logs)], config(tmp_path), tmp_path / "state.db", tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    readme = logs / "README.md"
    readme.write_text("# notes\n")
    shown = nimwatch(tmp_path, "report", str(logs / "web1_alt_mig.log"), str(readme))
    assert re.search(r"Z INFO nimwatch: .*README\.md: documentation, not a log; skipped", shown.stderr), shown.stderr
    quiet = nimwatch(tmp_path, "report", "--log-level", "warning", str(logs / "web1_alt_mig.log"), str(readme))
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_json_records_carry_schema_time_level_and_logger(tmp_path: Path) -> None:
    logs = logs_with(tmp_path, db1=failing_run("db1", 2))
    done = nimwatch(tmp_path, "--log-format", "json", "report", str(logs), str(tmp_path / "missing_alt_mig.log"))
    assert done.returncode == 2
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert records, done.stderr
    for record in records:
        assert set(record) >= {"schema", "ts", "level", "logger", "message"} and record["schema"] == 1
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", record["ts"])
    (error,) = [r for r in records if r["level"] == "error"]
    assert error["logger"] == "nimwatch.commands.report" and "missing_alt_mig.log" in error["message"]


def test_user_errors_stay_one_clear_line(tmp_path: Path) -> None:
    done = nimwatch(tmp_path, "--log-level", "debug", "watch", "--once", "--poll", "never")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "nimwatch: --poll: expected 'auto' or a number of seconds, not 'never'"
    assert "Traceback" not in done.stderr


def test_log_options_after_the_command_and_bad_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = logs_with(tmp_path, web1=success_run("web1"))
    log_file = tmp_path / "diag.log"
    code = main(["report", "--log-level", "debug", "--log-file", str(log_file), "--format", "json", str(logs)])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert json.loads(out)["schema"] == 1
    assert " DEBUG nimwatch: " in log_file.read_text()
    assert main(["--log-level", "loud", "report", str(logs)]) == 2
    assert "invalid choice: 'loud'" in capsys.readouterr().err
    assert main(["--log-max-size", "tiny", "--log-file", str(log_file), "report", str(logs)]) == 2
    assert "nimwatch: --log-max-size: expected a size such as 10M" in capsys.readouterr().err
    assert main(["--log-file", str(tmp_path / "no" / "dir.log"), "report", str(logs)]) == 2
    assert "cannot open" in capsys.readouterr().err
    logsetup.configure()


def test_the_log_file_is_rotated_and_bounded(tmp_path: Path) -> None:
    path = tmp_path / "nimwatch.log"
    logsetup.configure("debug", "text", str(path), "4K", 2)
    try:
        log = logsetup.logging.getLogger("nimwatch.test")
        for i in range(400):
            log.info("record %d %s", i, "x" * 60)
    finally:
        logsetup.configure()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["nimwatch.log", "nimwatch.log.1", "nimwatch.log.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 4096
    assert "record 399 " in path.read_text()


def test_sizes_and_escapes() -> None:
    assert logsetup.parse_size("10M") == 10 * 1024 * 1024
    assert logsetup.parse_size("512k") == 512 * 1024
    assert logsetup.parse_size("65536") == 65536
    for bad in ("1K", "ten", "5T", ""):
        with pytest.raises(UsageError):
            logsetup.parse_size(bad)
    record = logsetup.logging.LogRecord("nimwatch.x", 30, __file__, 1, "bad name %s", ("a\x1b[31mb\x07c",), None)
    assert logsetup.TextFormatter().format(record).endswith("WARNING nimwatch: bad name a\\x1b[31mb\\x07c")


def test_stderr_that_cannot_encode_gets_escapes(tmp_path: Path) -> None:
    log = logs_with(tmp_path, **{"caf\u00e9": success_run("cafe")})
    done = subprocess.run(
        [sys.executable, "-m", "nimwatch", "--log-level", "debug", "report", "-o", str(tmp_path / "r.txt"), str(log)],
        capture_output=True,
        env={**watch_env(None, tmp_path / "s.db"), "PYTHONIOENCODING": "ascii", "LC_ALL": "C"},
        timeout=120,
    )
    assert done.returncode == 0
    assert b"caf\\xe9_alt_mig.log" in done.stderr and "Traceback" not in done.stderr.decode("ascii")


def test_watch_output_files_get_o_append_so_copytruncate_leaves_no_hole(tmp_path: Path) -> None:
    """SRC opens -o/-e itself, perhaps without O_APPEND: nimwatch sets it, so a cron rotation is safe."""
    out = tmp_path / "events.jsonl"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # no O_APPEND, as a plain `>` opens it
    os.write(fd, b"x" * 10000)  # the file already has content at the offset nimwatch inherits
    out.write_bytes(b"")  # rotated (copied and truncated) before nimwatch writes
    logs = logs_with(tmp_path, web1=success_run("web1"))
    code = (
        "import os, sys\n"
        "from nimwatch.cli import main\n"
        f"sys.exit(main(['watch', '--once', '--config', {str(config(tmp_path))!r}, '--state', "
        f"{str(tmp_path / 's.db')!r}, {str(logs)!r}]))\n"
    )
    os.lseek(fd, 10000, os.SEEK_SET)
    done = subprocess.run([sys.executable, "-c", code], stdout=fd, stderr=subprocess.PIPE, cwd=str(ROOT), timeout=120)
    os.close(fd)
    assert done.returncode == 0, done.stderr
    data = out.read_bytes()
    assert data and b"\0" not in data and data.startswith(b'{"schema": 1, "event": "run_started"')
