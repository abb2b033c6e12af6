"""The command runner with real processes: argv without a shell, the C locale, timeouts, the c_rsh exit status.

A stand-in ``c_rsh`` script runs the remote text with ``/bin/sh`` on this
machine, so the subshell-and-echo wrapping is executed for real.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from hooks.hookkit import pid_alive, wait_for

from nimwatch.aix import runner as runner_module
from nimwatch.aix.runner import (
    SubprocessRunner,
    remote_script,
    run_remote,
    split_remote_status,
)

from .recorded_runner import parse_remote_script


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def fake_c_rsh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A c_rsh that runs its second argument with sh, records the host, and exits 0 like the real one."""
    log = tmp_path / "c_rsh.hosts"
    path = script(tmp_path / "c_rsh", f'echo "$1" >> {log}\n/bin/sh -c "$2"\nexit 0\n')
    monkeypatch.setattr(runner_module, "C_RSH", str(path))
    return log


def test_no_shell_and_the_c_locale(tmp_path: Path) -> None:
    probe = script(tmp_path / "env", 'printf "%s|%s|%s\\n" "$LC_ALL" "$LANG" "$1"\n')
    result = SubprocessRunner({"PATH": "/usr/bin:/bin", "LC_ALL": "fr_FR", "LANG": "fr_FR"}).run(
        [str(probe), "a; echo injected $(id)"], 30
    )
    assert result.ok
    assert result.stdout == "C|C|a; echo injected $(id)\n"


def test_exit_status_and_stderr(tmp_path: Path) -> None:
    fail = script(tmp_path / "fail", 'echo "0042-053 lsnim: there is no NIM object named \\"x\\"" >&2\nexit 53\n')
    result = SubprocessRunner().run([str(fail)], 30)
    assert result.ran and not result.ok and result.rc == 53
    assert "0042-053" in result.stderr and "exited 53" in result.why_not()


def test_missing_command_is_reported_not_raised() -> None:
    result = SubprocessRunner().run(["/nonexistent/lsnim", "-l"], 30)
    assert not result.ran and "cannot run" in result.error


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    hang = script(tmp_path / "hang", f"sleep 600 &\necho $! > {pidfile}\nwait\n")
    started = time.monotonic()
    result = SubprocessRunner().run([str(hang)], 1.0)
    assert not result.ran and "no answer within 1 s" in result.error
    assert time.monotonic() - started < 60
    child = int(pidfile.read_text())
    # the grandchild was in the killed group: it is gone (or a zombie waiting for init)
    wait_for(lambda: not pid_alive(child), 30, "the command's child to die with it")


def test_remote_status_from_the_echo_trick(fake_c_rsh: Path) -> None:
    runner = SubprocessRunner()
    ok = run_remote(runner, "lpar1.example.com", ["/bin/echo", "hello world"], 30)
    assert ok.ok and ok.stdout == "hello world\n" and ok.host == "lpar1.example.com"
    failing = run_remote(runner, "lpar1.example.com", ["/bin/sh", "-c", "printf partial; exit 7"], 30)
    assert failing.ran and failing.rc == 7 and failing.stdout == "partial"
    quoted = run_remote(runner, "lpar1.example.com", ["/bin/echo", "it's; $(id) `x`"], 30)
    assert quoted.stdout == "it's; $(id) `x`\n"
    locale = run_remote(runner, "lpar1.example.com", ["/bin/sh", "-c", 'echo "$LC_ALL"'], 30)
    assert locale.stdout == "C\n"
    assert fake_c_rsh.read_text().split() == ["lpar1.example.com"] * 4


def test_remote_shell_failures_are_not_mistaken_for_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = script(tmp_path / "c_rsh", 'echo "0042-006 c_rsh: connect Connection refused" >&2\nexit 1\n')
    monkeypatch.setattr(runner_module, "C_RSH", str(broken))
    result = run_remote(SubprocessRunner(), "lpar1", ["/usr/bin/hostname"], 30)
    assert not result.ran and "c_rsh) exited 1" in result.error and "0042-006" in result.error
    silent = script(tmp_path / "c_rsh2", 'echo "rshd: 0826-813 Permission is denied." >&2\nexit 0\n')
    monkeypatch.setattr(runner_module, "C_RSH", str(silent))
    result = run_remote(SubprocessRunner(), "lpar1", ["/usr/bin/hostname"], 30)
    assert not result.ran and "no exit status" in result.error


def test_remote_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hang = script(tmp_path / "c_rsh", "exec sleep 600\n")
    monkeypatch.setattr(runner_module, "C_RSH", str(hang))
    result = run_remote(SubprocessRunner(), "lpar1", ["/usr/bin/hostname"], 1.0)
    assert not result.ran and "no answer" in result.error and result.host == "lpar1"


def test_script_round_trip_and_trailer() -> None:
    argv = ("/usr/sbin/lsvg", "-l", "root vg's")
    assert parse_remote_script(remote_script(argv)) == argv
    assert parse_remote_script("hostname") is None
    assert split_remote_status("a\nrc=0\n") == (0, "a\n")
    assert split_remote_status("arc=-1\r\n") == (-1, "a")
    assert split_remote_status("no trailer\n") == (None, "no trailer\n")
    assert os.path.basename(runner_module.C_RSH) == "c_rsh"


def test_a_process_that_escapes_the_group_does_not_hold_the_runner(tmp_path: Path) -> None:
    pidfile = tmp_path / "escaped.pid"
    escape = script(
        tmp_path / "escape",
        f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 600' &\nexec sleep 600\n",
    )
    started = time.monotonic()
    try:
        result = SubprocessRunner().run([str(escape)], 1.0)
        assert not result.ran and "no answer" in result.error
        assert time.monotonic() - started < 60
    finally:
        wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), 30, "the escaped process's pid")
        os.kill(int(pidfile.read_text()), 9)
