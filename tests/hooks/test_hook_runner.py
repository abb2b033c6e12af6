"""run_command with real processes: no shell, bounded output, stdin, timeouts that kill the whole group."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from nimwatch.process import runner
from nimwatch.process.runner import CommandResult, run_command

from .hookkit import Kit, pid_alive, wait_for, write_script

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}


def test_exit_status_output_and_stdin(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.sh", "#!/bin/sh\ncat\necho to-stderr >&2\nexit 3\n")
    result = run_command([str(script)], env=ENV, stdin=b'{"event": "x"}\n', timeout=20)
    assert result.returncode == 3
    assert not result.timed_out and result.error is None and not result.ok
    assert result.output_tail == '{"event": "x"}\nto-stderr\n'
    assert result.argv == (str(script),)
    assert result.duration >= 0


def test_argv_is_never_given_to_a_shell(kit: Kit) -> None:
    nasty = ["; touch pwned", "$(touch pwned)", "`touch pwned`", "a b\nc", "'\"", "*", "&& touch pwned"]
    result = run_command(
        [str(kit.recorder), *nasty],
        env={**ENV, "RECORD_DIR": str(kit.records_dir)},
        stdin=b"",
        timeout=20,
        cwd=str(kit.tmp),
    )
    assert result.ok, result
    (record,) = kit.records()
    assert record["argv"][1:] == nasty
    assert not (kit.tmp / "pwned").exists()


def test_environment_is_exactly_the_one_given(kit: Kit, monkeypatch: object) -> None:
    os.environ["NIMWATCH_TEST_SECRET"] = "leak"
    try:
        env = {"PATH": ENV["PATH"], "RECORD_DIR": str(kit.records_dir), "ONLY": "this"}
        assert run_command([str(kit.recorder)], env=env, stdin=b"", timeout=20).ok
    finally:
        del os.environ["NIMWATCH_TEST_SECRET"]
    (record,) = kit.records()
    assert "NIMWATCH_TEST_SECRET" not in record["env"]
    assert {k: v for k, v in record["env"].items() if k in env} == env


def test_output_tail_is_bounded_and_keeps_the_end(tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "loud.py",
        f"#!{sys.executable}\nimport sys\nfor i in range(200000):\n    print('line', i)\nsys.stdout.flush()\nprint('THE END', file=sys.stderr)\n",
    )
    result = run_command([str(script)], env=ENV, stdin=b"", timeout=60)
    assert result.ok
    assert len(result.output_tail.encode()) <= runner.OUTPUT_TAIL_BYTES
    assert result.output_tail.endswith("line 199999\nTHE END\n")


def test_large_stdin_that_is_never_read_does_not_hang(tmp_path: Path) -> None:
    script = write_script(tmp_path / "ignore.sh", "#!/bin/sh\nexit 0\n")
    result = run_command([str(script)], env=ENV, stdin=b"x" * 5_000_000, timeout=20)
    assert result.ok, result


def test_large_stdin_is_delivered_whole(tmp_path: Path) -> None:
    script = write_script(tmp_path / "count.sh", "#!/bin/sh\nwc -c\n")
    result = run_command([str(script)], env=ENV, stdin=b"x" * 3_000_000, timeout=20)
    assert result.ok and result.output_tail.strip() == "3000000"


def test_a_command_that_cannot_start_gives_an_error_not_an_exception(tmp_path: Path) -> None:
    missing = run_command(["no-such-command-for-nimwatch"], env=ENV, stdin=b"", timeout=5)
    assert missing.returncode is None and missing.error and "no-such-command-for-nimwatch" in missing.error
    not_exec = write_script(tmp_path / "plain.sh", "#!/bin/sh\n", mode=0o644)
    denied = run_command([str(not_exec)], env=ENV, stdin=b"", timeout=5)
    assert denied.returncode is None and denied.error and "ermission" in denied.error
    bad_cwd = run_command(["true"], env=ENV, stdin=b"", timeout=5, cwd=str(tmp_path / "nope"))
    assert bad_cwd.returncode is None and bad_cwd.error and "working directory" in bad_cwd.error
    empty = run_command([], env=ENV, stdin=b"", timeout=5)
    assert empty.error and empty.returncode is None
    nul = run_command(["echo", "a\0b"], env=ENV, stdin=b"", timeout=5)
    assert nul.error and nul.returncode is None
    assert all(isinstance(r, CommandResult) for r in (missing, denied, bad_cwd, empty, nul))


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    # The child ignores SIGTERM, so only the SIGKILL to the group after the grace ends it.
    script = write_script(
        tmp_path / "slow.sh",
        "#!/bin/sh\n"
        f"(trap '' TERM; exec sleep 300) & echo $! > {tmp_path}/child.pid\n"
        f"echo $$ > {tmp_path}/hook.pid\n"
        "echo started\n"
        "sleep 300\n",
    )
    result = run_command([str(script)], env=ENV, stdin=b"", timeout=1.0)
    assert result.timed_out and result.error and "timed out" in result.error
    assert result.returncode is not None and result.returncode < 0
    assert "started" in result.output_tail
    hook_pid = int((tmp_path / "hook.pid").read_text())
    child_pid = int((tmp_path / "child.pid").read_text())
    wait_for(lambda: not pid_alive(hook_pid) and not pid_alive(child_pid), what="hook and child gone")


def test_leftover_children_holding_the_output_are_ended(tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "bg.sh", f"#!/bin/sh\nsleep 300 &\necho $! > {tmp_path}/child.pid\necho done\nexit 0\n"
    )
    result = run_command([str(script)], env=ENV, stdin=b"", timeout=30)
    assert result.returncode == 0 and not result.timed_out
    assert result.error and "still held its output" in result.error
    assert result.output_tail == "done\n"
    child_pid = int((tmp_path / "child.pid").read_text())
    wait_for(lambda: not pid_alive(child_pid), what="background child gone")


def test_death_by_signal_is_a_negative_status(tmp_path: Path) -> None:
    script = write_script(tmp_path / "die.sh", "#!/bin/sh\nkill -9 $$\n")
    result = run_command([str(script)], env=ENV, stdin=b"", timeout=20)
    assert result.returncode == -9 and not result.timed_out and not result.ok


def test_non_utf8_output_is_replaced_not_fatal(tmp_path: Path) -> None:
    script = write_script(tmp_path / "bin.sh", "#!/bin/sh\nprintf 'caf\\351\\n'\n")
    result = run_command([str(script)], env=ENV, stdin=b"", timeout=20)
    assert result.ok and result.output_tail == "caf\ufffd\n"


def test_result_is_json_friendly() -> None:
    result = run_command(["true"], env=ENV, stdin=b"", timeout=20)
    json.dumps(result.__dict__)
