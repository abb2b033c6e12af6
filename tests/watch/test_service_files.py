"""The service definitions in contrib/: the systemd unit (verified and scored by systemd-analyze) and the SRC scripts.

The SRC scripts run against stand-ins for mkssys, rmssys, mkitab, rmitab,
lsitab, lssrc and startsrc: small scripts on PATH that record their exact
argv, one argument per line, so the tests compare it with IBM's documented
syntax (mkssys { -p Path -s Subsystem -u UserID } [ -a Arguments ] [ -e ]
[ -i ] [ -o ] [ -O | -R ] [ -q | -Q ] [ -f StopForce -n StopNormal -S ]
[ -w Wait ]; mkitab Identifier:RunLevel:Action:Command; rmitab Identifier).
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "contrib" / "systemd" / "nimwatch.service"
DROPIN = ROOT / "contrib" / "systemd" / "nimwatch-privileged-hooks.conf"
SRC_SCRIPT = ROOT / "contrib" / "aix" / "mkssys-nimwatch.sh"
TRIM_SCRIPT = ROOT / "contrib" / "aix" / "trim-nimwatch-output.sh"
MAN_DIR = ROOT / "share" / "man"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)")


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
    assert unit["Unit"]["Documentation"] == "man:nimwatch(1)"
    # the sandbox: read-only system, writable state, no privileges to gain
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    assert service["CapabilityBoundingSet"] == "" and service["PrivateTmp"] == "yes"
    assert "/var/lib/node_exporter/textfile_collector" in service["ReadWritePaths"]


def _stand_in_unit(tmp_path: Path, text: str, name: str = "nimwatch.service") -> Path:
    """The unit with ExecStart pointing at an executable stand-in (verify wants one), everything else kept."""
    fake = tmp_path / "nimwatch"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    unit = tmp_path / name
    unit.write_text(text.replace("/usr/local/bin/nimwatch", str(fake)))
    return unit


@needs_analyze
def test_systemd_analyze_verify_accepts_the_unit_and_its_documentation(tmp_path: Path) -> None:
    assert ANALYZE is not None
    unit = _stand_in_unit(tmp_path, UNIT.read_text())
    env = {**os.environ, "MANPATH": str(MAN_DIR)}  # Documentation=man:nimwatch(1): the page nimwatch ships
    done = subprocess.run([ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "nimwatch.service" not in done.stderr, done.stderr  # no warning about our unit
    broken = tmp_path / "broken.service"
    broken.write_text(unit.read_text().replace("KillSignal=SIGTERM", "KillSignal=SIGNOPE"))
    bad = subprocess.run([ANALYZE, "verify", str(broken)], capture_output=True, text=True, timeout=60, env=env)
    assert "SIGNOPE" in bad.stderr  # the verification really reads the keys


def _exposure(unit: Path) -> float:
    assert ANALYZE is not None
    done = subprocess.run(
        [ANALYZE, "security", "--offline=yes", "--no-pager", str(unit)], capture_output=True, text=True, timeout=60
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert match, done.stdout + done.stderr
    return float(match.group(1))


@needs_analyze
def test_systemd_analyze_security_exposure_is_at_most_4(tmp_path: Path) -> None:
    score = _exposure(UNIT)
    print(f"systemd-analyze security: {score} (contrib/systemd/nimwatch.service)")
    assert score <= 4.0
    # with the drop-in for privileged hooks (its [Service] lines appended, as systemd merges them)
    merged = UNIT.read_text().replace("[Install]", DROPIN.read_text().split("[Service]", 1)[1] + "\n[Install]")
    relaxed = _exposure(_stand_in_unit(tmp_path, merged, "relaxed.service"))
    print(f"systemd-analyze security with the privileged-hooks drop-in: {relaxed}")
    assert score < relaxed <= 4.0
    bare = tmp_path / "bare.service"
    bare.write_text(UNIT.read_text().split("# Sandbox.")[0] + "\n[Install]\nWantedBy=multi-user.target\n")
    assert _exposure(bare) > 9.0  # the score really reads the sandbox keys


@needs_analyze
def test_the_privileged_hooks_drop_in_is_valid(tmp_path: Path) -> None:
    assert ANALYZE is not None
    merged = UNIT.read_text().replace("[Install]", DROPIN.read_text().split("[Service]", 1)[1] + "\n[Install]")
    unit = _stand_in_unit(tmp_path, merged)
    env = {**os.environ, "MANPATH": str(MAN_DIR)}
    done = subprocess.run([ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0 and "nimwatch.service" not in done.stderr, done.stderr




# ---------------------------------------------------------------------- AIX: SRC and inittab

STAND_INS = ("mkssys", "rmssys", "mkitab", "rmitab", "lsitab", "lssrc", "startsrc", "stopsrc")


class Aix:
    """PATH stand-ins for the SRC and inittab commands: each records its argv (``<tool>.argv``, one per line).

    ``lssrc`` answers as for a defined subsystem when ``defined`` (``active`` when ``running``), else
    exits 1 as AIX does for an unknown one; ``lsitab`` exits 0 when ``in_inittab``.
    """

    def __init__(self, tmp_path: Path, defined: bool = False, running: bool = False, in_inittab: bool = False) -> None:
        self.dir = tmp_path / "aix"
        self.bin = self.dir / "bin"
        self.bin.mkdir(parents=True)
        for tool in STAND_INS:
            script = self.bin / tool
            body = f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> {self.dir / (tool + ".argv")}\n'
            if tool == "lssrc":
                status = "active" if running else "inoperative"
                pid = "4242" if running else ""
                body += (
                    f'printf "%s\\n" "Subsystem         Group            PID          Status"\n'
                    f'printf " nimwatch                           {pid}         {status}\\n"\nexit 0\n'
                    if defined
                    else 'echo "0513-085 The $2 Subsystem is not on file." >&2\nexit 1\n'
                )
            elif tool == "lsitab":
                body += 'echo "nimwatch:2:once:/usr/bin/startsrc -s nimwatch >/dev/console 2>&1"\nexit 0\n' if in_inittab else "exit 1\n"
            script.write_text(body)
            script.chmod(0o755)

    def argv(self, tool: str) -> list[str]:
        path = self.dir / f"{tool}.argv"
        return path.read_text().splitlines() if path.exists() else []

    def called(self) -> set[str]:
        return {tool for tool in STAND_INS if (self.dir / f"{tool}.argv").exists()}

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        base = {
            "PATH": f"{self.bin}{os.pathsep}/usr/bin:/bin",
            "NIMWATCH_BIN": sys.executable,
            "NIMWATCH_STATE": str(self.dir / "state" / "state.db"),
            "NIMWATCH_OUT": str(self.dir / "log" / "events.jsonl"),
            "NIMWATCH_ERR": str(self.dir / "log" / "stderr.log"),
            "NIMWATCH_LOG": str(self.dir / "log" / "nimwatch.log"),
        }
        return subprocess.run(
            ["/bin/sh", str(SRC_SCRIPT), *args], capture_output=True, text=True, env={**base, **env}, timeout=60
        )


def expected_mkssys(aix: Aix, args: str, wait: str = "60") -> list[str]:
    log = aix.dir / "log"
    return [
        "-p", sys.executable,
        "-s", "nimwatch",
        "-u", "0",
        "-a", args,
        "-e", str(log / "stderr.log"),
        "-i", "/dev/null",
        "-o", str(log / "events.jsonl"),
        "-R",
        "-Q",
        "-f", "9",
        "-n", "15",
        "-S",
        "-w", wait,
    ]  # fmt: skip


def test_src_script_runs_mkssys_with_ibms_flags(tmp_path: Path) -> None:
    aix = Aix(tmp_path)
    done = aix.run()
    assert done.returncode == 0, done.stderr
    state, log = aix.dir / "state" / "state.db", aix.dir / "log" / "nimwatch.log"
    args = (
        f"--log-file '{log}' --log-max-size '10M' --log-backups '5' "
        f"watch --config '/etc/nimwatch/nimwatch.yaml' --state '{state}' '/var/adm/ras/alt_mig'"
    )
    assert aix.argv("mkssys") == expected_mkssys(aix, args)
    assert aix.called() == {"lssrc", "mkssys"}  # no inittab entry unless asked
    assert aix.argv("lssrc") == ["-s", "nimwatch"]
    assert (aix.dir / "state").is_dir() and (aix.dir / "log").is_dir()
    assert "startsrc -s nimwatch" in done.stdout


def test_the_src_argument_string_splits_into_what_nimwatch_accepts(tmp_path: Path) -> None:
    """SRC splits -a like a shell (quoted strings are one argument): paths with blanks survive."""
    from nimwatch.cli import build_parser

    aix = Aix(tmp_path)
    done = aix.run(NIMWATCH_CONFIG="/etc/nim watch/my config.yaml", NIMWATCH_LOGDIR="/var/adm/ras/alt mig", NIMWATCH_WAIT="90")
    assert done.returncode == 0, done.stderr
    argv = aix.argv("mkssys")
    assert argv[argv.index("-w") + 1] == "90"
    words = shlex.split(argv[argv.index("-a") + 1])
    args = build_parser().parse_args(words)
    assert args.command == "watch"
    assert args.config == "/etc/nim watch/my config.yaml"
    assert args.paths == ["/var/adm/ras/alt mig"]
    assert args.state == str(aix.dir / "state" / "state.db")
    assert (args.log_file, args.log_max_size, args.log_backups) == (str(aix.dir / "log" / "nimwatch.log"), "10M", 5)


def test_src_script_boot_entry_with_mkitab(tmp_path: Path) -> None:
    aix = Aix(tmp_path)
    done = aix.run("-b")
    assert done.returncode == 0, done.stderr
    assert aix.argv("mkitab") == ["nimwatch:2:once:/usr/bin/startsrc -s nimwatch >/dev/console 2>&1"]
    assert aix.argv("lsitab") == ["nimwatch"] and aix.argv("mkssys")
    assert "/etc/inittab entry nimwatch" in done.stdout


def test_src_script_boot_entry_for_a_defined_subsystem_and_an_existing_entry(tmp_path: Path) -> None:
    aix = Aix(tmp_path / "a", defined=True)
    done = aix.run("-b")
    assert done.returncode == 0, done.stderr
    assert "mkssys" not in aix.called() and aix.argv("mkitab")  # only the boot entry is added
    again = Aix(tmp_path / "b", defined=True, in_inittab=True)
    done = again.run("-b")
    assert done.returncode == 0 and "already has an entry" in done.stdout
    assert again.called() == {"lssrc", "lsitab"}
    refused = Aix(tmp_path / "c", defined=True)
    done = refused.run()
    assert done.returncode == 1 and "already exists" in done.stderr and "mkssys" not in refused.called()


def test_src_script_remove(tmp_path: Path) -> None:
    aix = Aix(tmp_path / "a", defined=True, in_inittab=True)
    done = aix.run("-r")
    assert done.returncode == 0, done.stderr
    assert aix.argv("rmitab") == ["nimwatch"]
    assert aix.argv("rmssys") == ["-s", "nimwatch"]
    no_entry = Aix(tmp_path / "b", defined=True)
    assert no_entry.run("-r").returncode == 0
    assert "rmitab" not in no_entry.called() and no_entry.argv("rmssys") == ["-s", "nimwatch"]
    running = Aix(tmp_path / "c", defined=True, running=True, in_inittab=True)
    done = running.run("-r")
    assert done.returncode == 1 and "stopsrc -s nimwatch first" in done.stderr
    assert not {"rmitab", "rmssys"} & running.called()


def test_src_script_dry_run_and_refusals(tmp_path: Path) -> None:
    aix = Aix(tmp_path / "a")
    dry = aix.run("-n", "-b")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0].startswith(f"'mkssys' '-p' '{sys.executable}' '-s' 'nimwatch' '-u' '0' '-a' ")
    assert lines[1] == "'mkitab' 'nimwatch:2:once:/usr/bin/startsrc -s nimwatch >/dev/console 2>&1' "
    assert aix.called() == set()
    for args, env, message in [
        (("--bogus",), {}, "usage"),
        (("-r", "-b"), {}, "usage"),
        ((), {"NIMWATCH_CONFIG": "/etc/it's.yaml"}, "a single quote cannot be passed"),
        (("-b",), {"NIMWATCH_SUBSYS": "nimwatch-master01"}, "more than 14 characters"),
        ((), {"NIMWATCH_SUBSYS": "nim;watch"}, "must be a plain name"),
        ((), {"NIMWATCH_WAIT": "soon"}, "must be a number of seconds"),
    ]:
        bad = Aix(tmp_path / f"bad{len(message)}{len(args)}")
        done = bad.run(*args, **env)
        assert done.returncode == 2 and message in done.stderr, (args, env, done.stderr)
        assert not {"mkssys", "mkitab", "rmssys", "rmitab"} & bad.called()
    missing = Aix(tmp_path / "missing")
    done = missing.run(NIMWATCH_BIN=str(tmp_path / "nope"))
    assert done.returncode == 1 and "not an executable nimwatch" in done.stderr


def test_trim_script_keeps_the_output_files_bounded(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    env = {"PATH": "/usr/bin:/bin", "NIMWATCH_TRIM_MAX_KB": "1", "NIMWATCH_TRIM_KEEP": "2"}

    def trim() -> None:
        done = subprocess.run(["/bin/sh", str(TRIM_SCRIPT), str(out), str(tmp_path / "absent")], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    for generation in range(3):
        out.write_text(f"{generation}\n" * 600)  # 1200 bytes: over 1 KB
        trim()
        assert out.read_bytes() == b""
    assert (tmp_path / "events.jsonl.1").read_text().startswith("2\n")
    assert (tmp_path / "events.jsonl.2").read_text().startswith("1\n")
    assert not (tmp_path / "events.jsonl.3").exists()  # KEEP=2: the oldest is dropped
    out.write_text("small\n")
    trim()
    assert out.read_text() == "small\n"  # under the bound: untouched
    bad = subprocess.run(["/bin/sh", str(TRIM_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "usage" in bad.stderr
