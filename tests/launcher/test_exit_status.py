"""End to end: nimadm's exit status settles the run, after the terminal closed and nimwatch restarted.

``nimwatch run`` starts a stand-in nimadm from a real terminal (a pty in a
session of its own) and the terminal is closed; a ``nimwatch watch`` that
followed the log is stopped; nimadm ends while no watcher runs; a new
watcher, ``status``, ``report`` and the TUI then say how it ended, from the
record the supervisor wrote. The stand-in writes ``running01``'s log, which
stops in phase 6: only the exit status can say how that run ended.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hooks.hookkit import pid_alive, wait_for
from watch.proc import WatchProcess

from .kit import Lines, Setup, make_setup, release

DEADLINE = 120.0
# nimadm stand-ins are seen system-wide (nimwatch run refuses a second one for a client): one worker runs them
pytestmark = pytest.mark.xdist_group("nimadm")
CLIENT = "running01"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = make_setup(tmp_path)
    yield made
    made.cleanup()


def nimadm_args(setup: Setup) -> list[str]:
    return ["--", str(setup.nimadm), "-c", CLIENT, "-l", "lpp_7302", "-s", "spot_7302", "-d", "hdisk1", "-Y"]


def in_a_terminal(setup: Setup, args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int, Lines]:
    """``args`` run with a pty as their controlling terminal, in a session of their own (an ssh login),
    with SIGHUP ignored (started under ``nohup``): the hang-up must end the TUI all the same."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))

    def controlling_terminal() -> None:
        # as under `nohup` or a shell's background job: the TUI must still end with its terminal
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    # the pty's own size, not one this process was given (pytest-xdist's workers have COLUMNS=80 and LINES=24)
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=str(setup.root), preexec_fn=controlling_terminal
    )
    os.close(slave)
    return proc, master, Lines(master)


def hang_up(proc: subprocess.Popen[bytes], master: int, screen: Lines) -> None:
    """The ssh session goes away: the terminal hangs up, its session gets SIGHUP."""
    screen.stop()
    os.close(master)
    try:
        proc.wait(DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()


def events(watch: WatchProcess, name: str) -> list[dict[str, Any]]:
    return [e for e in watch.events() if e["event"] == name]


def nimwatch(setup: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**setup.env("running01"), "NIMWATCH_STATE": str(setup.state), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=str(setup.root),
        check=False,
    )


def test_the_exit_status_outlives_the_terminal_and_a_nimwatch_restart(setup: Setup) -> None:
    env = {**setup.env("running01"), "TERM": "xterm-256color", "NIMWATCH_STATE": str(setup.state)}
    fifo = setup.fifo(CLIENT)
    log = setup.logs / f"{CLIENT}_alt_mig.log"
    first = WatchProcess(["--poll", "0.2", str(setup.logs)], None, setup.state, setup.root).ready()
    try:
        launcher, master, screen = in_a_terminal(setup, [*setup.run_args(), *nimadm_args(setup)], env)
        wait_for(lambda: CLIENT in screen.text() and "1 running" in screen.text(), DEADLINE, "the TUI's row")
        nimadm = setup.pid(CLIENT)
        assert nimadm is not None
        hang_up(launcher, master, screen)
        assert pid_alive(nimadm)  # nimadm goes on, away from the dead terminal
        wait_for(lambda: [e for e in events(first, "phase_started") if e["phase"] == 6], DEADLINE, "phase 6")
    finally:
        assert first.stop() == 0, first.stderr()
    assert not events(first, "nimadm_exited") and not events(first, "run_finished")

    release(fifo, 3)  # nimadm ends while no nimwatch runs
    wait_for(lambda: not pid_alive(nimadm), DEADLINE, "nimadm to end")
    second = WatchProcess(["--poll", "0.2", str(setup.logs)], None, setup.state, setup.root).ready()
    try:
        wait_for(lambda: events(second, "nimadm_exited"), DEADLINE, "the exit status from the record")
        wait_for(lambda: events(second, "run_finished"), DEADLINE, "the settled outcome")
    finally:
        assert second.stop() == 0, second.stderr()
    exited = events(second, "nimadm_exited")
    assert len(exited) == 1
    assert exited[0]["exit_code"] == 3 and exited[0]["signal"] is None and exited[0]["pid"] == nimadm
    assert exited[0]["settled"] is True and exited[0]["outcome"] == "failed" and exited[0]["severity"] == "error"
    assert exited[0]["summary"] == "failed in phase 6: nimadm exited with status 3, the log stops there"
    assert exited[0]["log"] == str(log) and exited[0]["run"] == 1 and exited[0]["phase"] == 6
    finished = events(second, "run_finished")
    assert [(e["outcome"], e["failed_phase"], e["reason"]) for e in finished] == [
        ("failed", 6, "nimadm exited with status 3")
    ]
    assert not events(second, "run_started")  # what the first watcher printed is not printed again

    again = nimwatch(setup, "watch", "--once", str(setup.logs))
    assert again.returncode == 1, again.stderr  # a failed run
    assert '"nimadm_exited"' not in again.stdout and '"run_finished"' not in again.stdout

    status = nimwatch(setup, "status", "--ascii", str(setup.logs))
    assert status.returncode == 1, status.stderr
    assert f"{CLIENT}: nimadm exited with status 3; the log stops at phase 6" in status.stdout
    row = next(line for line in status.stdout.splitlines() if f" {CLIENT} " in line)
    assert row.startswith("X failed") and "6/12" in row

    text = nimwatch(setup, "report", str(log))
    assert text.returncode == 1, text.stderr
    assert "Outcome: FAILED in phase 6" in text.stdout
    assert f"Exit status: nimadm exited with status 3 (PID {nimadm}; its output: " in text.stdout
    report = json.loads(nimwatch(setup, "report", "--format", "json", str(log)).stdout)
    run = report["runs"][0]
    assert run["outcome"] == "failed" and run["open_end"] is False
    assert run["nimadm_exit"]["exit_code"] == 3 and run["nimadm_exit"]["settled"] is True
    assert Path(run["nimadm_exit"]["output"]).read_text().startswith("# nimwatch run ")
    client = report["clients"][0]
    assert client["status"] == "failed" and client["reboot"]["verdict"] == "do_not_reboot"
    assert client["summary"] == "failed in phase 6: nimadm exited with status 3, the log stops there"
    markdown = nimwatch(setup, "report", "--format", "markdown", str(log)).stdout
    assert "- Exit status: nimadm exited with status 3" in markdown
    # without the records (--no-state) the log alone is judged: it leaves the run open
    alone = json.loads(nimwatch(setup, "report", "--no-state", "--format", "json", str(log)).stdout)
    assert alone["runs"][0]["outcome"] == "incomplete" and alone["runs"][0]["nimadm_exit"] is None

    # the TUI says it too: the client's detail (Enter on its row)
    tui, master, screen = in_a_terminal(setup, [sys.executable, "-m", "nimwatch", "tui", str(setup.logs)], env)
    try:
        wait_for(lambda: "1 failed" in screen.text(), DEADLINE, "the TUI's failed row")
        os.write(master, b"\r")
        wait_for(lambda: "exited with status 3" in screen.text(), DEADLINE, "the exit status in the detail")
        os.write(master, b"q")
    finally:
        if tui.poll() is None:
            tui.send_signal(signal.SIGTERM)
        hang_up(tui, master, screen)


def test_a_nimadm_stopped_by_a_signal_is_a_failed_run(setup: Setup) -> None:
    setup.fifo(CLIENT)
    started = nimwatch(
        setup, "run", "--detach", "--state", str(setup.state), "--log-dir", str(setup.logs), *nimadm_args(setup)
    )  # (this module's nimwatch: the stand-in writes running01's log, an unfinished run)
    assert started.returncode == 0, started.stderr
    record = json.loads(next((setup.state.parent / "runs").glob("*.json")).read_text())
    wait_for(lambda: setup.pid(CLIENT) == record["pid"], DEADLINE, "the stand-in to start")
    os.kill(record["supervisor_pid"], signal.SIGTERM)  # how a run is stopped: the supervisor passes it on
    wait_for(lambda: json.loads(Path(record["path"]).read_text()).get("signal"), DEADLINE, "the recorded signal")
    status = nimwatch(setup, "status", "--ascii", str(setup.logs))
    assert status.returncode == 1
    assert f"{CLIENT}: nimadm was killed by signal 15 (SIGTERM); the log stops at phase 6" in status.stdout
    once = nimwatch(setup, "watch", "--once", str(setup.logs))
    lines = [json.loads(line) for line in once.stdout.splitlines()]
    exited = [e for e in lines if e["event"] == "nimadm_exited"]
    assert len(exited) == 1 and exited[0]["signal"] == 15 and exited[0]["outcome"] == "failed"
    assert [e["reason"] for e in lines if e["event"] == "run_finished"] == ["nimadm was killed by signal 15 (SIGTERM)"]
