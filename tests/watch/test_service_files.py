"""The service definitions in contrib/: the systemd unit verified by systemd, the SRC script's mkssys argv."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "contrib" / "systemd" / "nimwatch.service"
SRC_SCRIPT = ROOT / "contrib" / "aix" / "mkssys-nimwatch.sh"


def unit_sections() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_systemd_unit_says_what_the_watcher_needs() -> None:
    unit = unit_sections()
    service = unit["Service"]
    assert service["ExecStart"].split()[1:] == ["watch", "/var/adm/ras/alt_mig"]
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillSignal"] == "SIGTERM"
    assert service["Restart"] == "on-failure"
    assert set(service["RestartPreventExitStatus"].split()) == {"2", "4"}
    assert service["StateDirectory"] == "nimwatch"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    env = [line for line in UNIT.read_text().splitlines() if line.startswith("Environment=")]
    assert "Environment=NIMWATCH_STATE=/var/lib/nimwatch/state.db" in env
    assert "Environment=NIMWATCH_CONFIG=/etc/nimwatch/nimwatch.yaml" in env


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the unit's keys are checked by the test above")
    # verify wants ExecStart to exist: point it at a stand-in executable, keep everything else.
    fake = tmp_path / "nimwatch"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    unit = tmp_path / "nimwatch.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/nimwatch", str(fake)))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "nimwatch.service" not in done.stderr, done.stderr  # no warning about our unit
    broken = tmp_path / "broken.service"
    broken.write_text(unit.read_text().replace("KillSignal=SIGTERM", "KillSignal=SIGNOPE"))
    bad = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "SIGNOPE" in bad.stderr  # the verification really reads the keys


def fake_tools(tmp_path: Path, lssrc_status: int = 1) -> Path:
    """mkssys / lssrc / rmssys stand-ins that record their argv, one argument per line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mkssys", "rmssys"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > {tmp_path / (tool + ".argv")}\n')
        script.chmod(0o755)
    lssrc = bin_dir / "lssrc"
    lssrc.write_text(f"#!/bin/sh\nexit {lssrc_status}\n")
    lssrc.chmod(0o755)
    return bin_dir


def run_script(tmp_path: Path, *args: str, lssrc_status: int = 1) -> subprocess.CompletedProcess[str]:
    bin_dir = fake_tools(tmp_path, lssrc_status)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "NIMWATCH_BIN": sys.executable,
        "NIMWATCH_STATE": str(tmp_path / "state" / "state.db"),
    }
    return subprocess.run(["/bin/sh", str(SRC_SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)


def test_src_script_runs_mkssys_with_sigterm_stop(tmp_path: Path) -> None:
    done = run_script(tmp_path)
    assert done.returncode == 0, done.stderr
    argv = (tmp_path / "mkssys.argv").read_text().splitlines()
    state = str(tmp_path / "state" / "state.db")
    assert argv == [
        "-s", "nimwatch",
        "-p", sys.executable,
        "-a", f"watch --config /etc/nimwatch/nimwatch.yaml --state {state} /var/adm/ras/alt_mig",
        "-u", "0",
        "-i", "/dev/null",
        "-o", "/var/log/nimwatch.jsonl",
        "-e", "/var/log/nimwatch.err",
        "-R", "-Q", "-S",
        "-n", "15",
        "-f", "9",
        "-w", "60",
    ]  # fmt: skip
    assert (tmp_path / "state").is_dir()
    assert "startsrc -s nimwatch" in done.stdout


def test_src_script_dry_run_and_refusals(tmp_path: Path) -> None:
    dry = run_script(tmp_path, "-n")
    assert dry.returncode == 0 and dry.stdout.startswith("'mkssys' '-s' 'nimwatch'")
    assert not (tmp_path / "mkssys.argv").exists()
    shutil.rmtree(tmp_path / "bin")
    exists = run_script(tmp_path, lssrc_status=0)
    assert exists.returncode == 1 and "already exists" in exists.stderr
    shutil.rmtree(tmp_path / "bin")
    removed = run_script(tmp_path, "-r")
    assert removed.returncode == 0
    assert (tmp_path / "rmssys.argv").read_text().splitlines() == ["-s", "nimwatch"]
    shutil.rmtree(tmp_path / "bin")
    assert run_script(tmp_path, "--bogus").returncode == 2


def test_the_src_argument_string_is_what_the_watch_parser_accepts() -> None:
    from nimwatch.cli import build_parser

    args = build_parser().parse_args(
        ["watch", "--config", "/etc/nimwatch/nimwatch.yaml", "--state", "/var/lib/nimwatch/state.db", "/var/adm/ras/alt_mig"]
    )
    assert (args.config, args.state, args.paths) == (
        "/etc/nimwatch/nimwatch.yaml",
        "/var/lib/nimwatch/state.db",
        ["/var/adm/ras/alt_mig"],
    )
