"""``nimwatch report`` end to end: formats, exit codes, errors, and the installed package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, SAMPLE_LOGS

from nimwatch.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract_over_the_sample_directory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["report", "--format", "json", str(SAMPLE_LOGS)], capsys)
    data = json.loads(out)
    assert data["schema"] == 1
    logs = sorted(SAMPLE_LOGS.glob("*_alt_mig.log"))
    assert len({r["log"] for r in data["runs"]}) == len(logs)
    for run in data["runs"]:
        assert set(run) >= {"client", "log", "outcome", "last_phase", "failed_phase", "boot_disk", "phases", "findings"}
        assert run["outcome"] in ("succeeded", "failed", "incomplete")
        assert [p["number"] for p in run["phases"]] == list(range(1, 13))
        for phase in run["phases"]:
            assert set(phase) >= {"number", "name", "status"}
            assert phase["status"] in ("done", "running", "failed", "not_run")
        for finding in run["findings"]:
            assert set(finding) >= {"rule", "code", "severity", "phase", "line", "text", "advice"}
            assert finding["severity"] in ("info", "warning", "error")
    assert code == 1  # the directory holds failed runs


@pytest.mark.parametrize(
    ("log", "expected"),
    [("dbprod61", 0), ("fail6inst", 1), ("running01", 3), ("rerun02", 0), ("cleanup03", 0)],
)
def test_exit_codes(log: str, expected: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run_cli(["report", str(SAMPLE_LOGS / f"{log}_alt_mig.log")], capsys)
    assert code == expected


def test_text_report_shows_phases_findings_advice_and_reboot(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["report", str(SAMPLE_LOGS / "fail11mb_alt_mig.log")], capsys)
    assert code == 1
    assert "Outcome: FAILED in phase 11" in out
    assert "0505-218" in out and "multibos" in out.lower()
    assert "Fix:" in out
    assert "Reboot (boot disk: hdisk0)" in out
    assert "11  Finish the clone on the client" in out


def test_markdown_report_for_a_change_ticket(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "ticket.md"
    code, out, _ = run_cli(
        ["report", "-f", "markdown", "-o", str(target), str(SAMPLE_LOGS / "app72_alt_mig.log")], capsys
    )
    assert code == 0 and out == ""
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# nimadm migration report")
    assert "| app72 | 1 | **SUCCEEDED** |" in text
    assert "| 6 | Install and migrate software (installp) | done |" in text


def test_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["report", "/nonexistent/x_alt_mig.log"], capsys)
    assert code == 2 and out == ""
    assert "no such file or directory" in err and "Traceback" not in err


def test_unreadable_log_is_reported_and_the_others_still_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad_alt_mig.log"
    bad.mkdir()  # a directory where a log should be: unreadable for root too
    good = SAMPLE_LOGS / "dbprod61_alt_mig.log"
    code, out, err = run_cli(["report", "-f", "json", str(good), str(bad / "..") + "/bad_alt_mig.log"], capsys)
    assert code == 2
    assert "bad_alt_mig.log" in err
    assert [r["client"] for r in json.loads(out)["runs"]] == ["dbprod61"]


def test_bad_user_rules_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "mine.yaml"
    rules.write_text("signatures:\n  - id: x\n    patern: 'a'\n", encoding="utf-8")
    code, _, err = run_cli(["report", "--rules", str(rules), str(SAMPLE_LOGS / "dbprod61_alt_mig.log")], capsys)
    assert code == 2
    assert "mine.yaml:3" in err and "did you mean 'pattern'?" in err


def test_empty_directory_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["report", str(tmp_path)], capsys)
    assert code == 2 and "no *_alt_mig.log files" in err


def test_help_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert main(["frobnicate"]) == 2


def test_installed_console_script_works_from_any_directory(tmp_path: Path) -> None:
    """`pip install .` puts the rule data inside the package: the script must not need the checkout."""
    script = shutil.which("nimwatch", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("nimwatch is not installed in this environment (CI installs it with pip install .)")
    logs = sorted(str(p) for p in SAMPLE_LOGS.glob("*_alt_mig.log"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NIMWATCH_RULES_DIR")}
    proc = subprocess.run(
        [script, "report", "--format", "json", *logs],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    runs = json.loads(proc.stdout)["runs"]
    assert len({r["log"] for r in runs}) == len(logs)
    assert {r["client"] for r in runs} == {Path(p).name[: -len("_alt_mig.log")] for p in logs}
    probe = subprocess.run(
        [sys.executable, "-c", "import nimwatch.rulefiles as r; print(r.builtin_rules_dir())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    installed = Path(probe.stdout.strip())
    if ROOT not in installed.parents:
        assert installed.name == "_phases"


def test_check_rules_on_the_catalog_and_on_a_user_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["check-rules"], capsys)
    assert code == 0 and "signature(s) OK" in out
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "signatures:\n"
        "  - id: site-disk\n"
        "    pattern: 'SITE-1 disk full'\n"
        "    severity: warning\n"
        "    explanation: x\n"
        "    advice: y\n"
        "    examples: ['SITE-1 disk full on /usr']\n"
        "  - id: too-wide\n"
        "    pattern: 'cannot access'\n"
        "    phases: [3]\n"
        "    severity: info\n"
        "    explanation: x\n"
        "    advice: y\n"
        "    examples: ['cannot access ./var/tmp/x: A file or directory in the path name does not exist.']\n"
        "    near_misses: ['cannot access ./tmp/alt_lock: A file or directory in the path name does not exist.']\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli(["check-rules", str(mine)], capsys)
    assert code == 2
    assert "too-wide" in out and "near miss matches" in out
    assert "site-disk" not in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("signatures:\n  - id: x\n    patern: a\n", encoding="utf-8")
    code, out, _ = run_cli(["check-rules", str(bad)], capsys)
    assert code == 2 and "bad.yaml:3" in out and "did you mean 'pattern'?" in out


def test_a_glob_over_the_sample_directory_gives_one_run_per_log(capsys: pytest.CaptureFixture[str]) -> None:
    """`nimwatch report sample_logs/*` also names sample_logs/README.md: not a log, so no run for it."""
    every_file = sorted(str(p) for p in SAMPLE_LOGS.iterdir())
    code, out, err = run_cli(["report", "--format", "json", *every_file], capsys)
    runs = json.loads(out)["runs"]
    logs = sorted(SAMPLE_LOGS.glob("*_alt_mig.log"))
    assert sorted({r["log"] for r in runs}) == [str(p) for p in logs]
    assert len(runs) == len(logs) + 2  # rerun02 and killclean hold two runs each
    assert "README.md: documentation, not a log; skipped" in err
    assert code == 1


def test_an_empty_client_log_is_still_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "newclient_alt_mig.log"
    empty.write_bytes(b"")
    code, out, _ = run_cli(["report", "--format", "json", str(empty)], capsys)
    (run,) = json.loads(out)["runs"]
    assert run["client"] == "newclient" and run["outcome"] == "incomplete"
    assert code == 3
