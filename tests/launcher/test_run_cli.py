"""``nimwatch run`` with real processes: a stand-in nimadm, a real terminal (pty) that is closed, restarts.

Tests wait on conditions (``wait_for``), never on fixed sleeps: the stand-in
blocks on a FIFO until the test releases it with the exit status it chose.
"""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import signal
import struct
import subprocess
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest
from hooks.hookkit import pid_alive, wait_for

from nimwatch.cli import main
from nimwatch.journal import Journal

from .kit import Lines, Setup, make_setup, release

DEADLINE = 120.0
# nimadm stand-ins are seen system-wide (nimwatch run refuses a second one for a client): one worker runs them
pytestmark = pytest.mark.xdist_group("nimadm")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = make_setup(tmp_path)
    yield made
    made.cleanup()


def nimadm_args(setup: Setup, client: str = "web73") -> list[str]:
    return ["--", str(setup.nimadm), "-c", client, "-l", "lpp_7302", "-s", "spot_7302", "-d", "hdisk1", "-Y"]


def record_of(setup: Setup, client: str) -> dict[str, object]:
    runs = [r for r in setup.runs() if r["client"] == client]
    assert runs, f"no run recorded for {client}"
    return runs[-1]


def journal_rows(setup: Setup, client: str) -> list[dict[str, object]]:
    journal = Journal.open(setup.state, readonly=True)
    try:
        return journal.launches(client)
    finally:
        journal.close()


def test_headless_prints_the_watch_lines_and_the_exit_status(setup: Setup) -> None:
    fifo = setup.fifo("web73")
    proc = subprocess.Popen(
        [*setup.run_args("--headless"), *nimadm_args(setup)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=setup.env(),
        cwd=str(setup.root),
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = Lines(proc.stdout.fileno()), Lines(proc.stderr.fileno())
    try:
        wait_for(lambda: any(e["event"] == "run_finished" for e in out.events()), DEADLINE, "the log's events")
        started = out.events()[0]
        assert started["event"] == "nimadm_started" and started["client"] == "web73"
        assert started["log"] == str(setup.logs / "web73_alt_mig.log")
        assert pid_alive(int(started["pid"]))  # type: ignore[arg-type]
        assert all(e["client"] == "web73" for e in out.events())
        release(fifo, 0)
        assert proc.wait(DEADLINE) == 0, err.text()
    finally:
        if proc.poll() is None:
            proc.kill()
    events = out.events()
    assert events[-1]["event"] == "nimadm_exited" and events[-1]["exit_code"] == 0 and events[-1]["signal"] is None
    assert all(e["schema"] == 1 for e in events)  # nimwatch run's own lines and the watch lines alike
    finished = [e for e in events if e["event"] == "run_finished"]
    assert len(finished) == 1 and finished[0]["outcome"] == "succeeded"  # the final pass repeats nothing
    output = Path(str(events[-1]["output"])).read_text()
    assert "stand-in nimadm for web73: stdout" in output and "stand-in nimadm for web73: stderr" in output
    assert journal_rows(setup, "web73")[-1]["exit_code"] == 0


def test_headless_exit_code_follows_nimadm(setup: Setup) -> None:
    env = setup.env()
    env["STANDIN_STATUS"] = "3"
    result = subprocess.run(
        [*setup.run_args("--headless"), *nimadm_args(setup)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=str(setup.root),
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert '"nimadm_exited"' in result.stdout and '"exit_code": 3' in result.stdout


def test_terminal_closed_then_nimwatch_restarted_still_gets_the_exit_status(setup: Setup) -> None:
    fifo = setup.fifo("web73")
    master, slave = pty.openpty()

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    launcher = subprocess.Popen(
        [*setup.run_args("--headless"), *nimadm_args(setup)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=setup.env(),
        cwd=str(setup.root),
        preexec_fn=controlling_terminal,
    )
    os.close(slave)
    screen = Lines(master)
    try:
        wait_for(lambda: any(e.get("event") == "run_finished" for e in screen.events()), DEADLINE, "watch lines")
        nimadm = setup.pid("web73")
        assert nimadm is not None and pid_alive(nimadm)
        screen.stop()
        os.close(master)  # the ssh session goes away: the terminal hangs up
        assert launcher.wait(DEADLINE) == 130
    finally:
        if launcher.poll() is None:
            launcher.kill()
    # nimadm goes on, away from the dead terminal
    assert pid_alive(nimadm)
    # no watch of this journal is left behind
    ps = subprocess.run(["ps", "-e", "-o", "pid,args"], capture_output=True, text=True, check=True).stdout
    assert not [line for line in ps.splitlines() if "nimwatch watch" in line and str(setup.state) in line]
    run = record_of(setup, "web73")
    assert run["status"] == "running" and run["pid"] == nimadm and run["exit_code"] is None

    # a restarted nimwatch refuses a second nimadm for the client and says which PID
    again = setup.nimwatch(
        ["run", "--headless", "--state", str(setup.state), "--log-dir", str(setup.logs), *nimadm_args(setup)]
    )
    assert again.returncode == 3, again.stderr
    assert f"still running as PID {nimadm}" in again.stderr
    assert len(setup.runs()) == 1

    release(fifo, 7)
    wait_for(lambda: record_of(setup, "web73")["exit_code"] == 7, DEADLINE, "the recorded exit status")
    run = record_of(setup, "web73")
    assert run["status"] == "exited" and run["signal"] is None and run["ended"] is not None
    assert [r["exit_code"] for r in journal_rows(setup, "web73")] == [7]
    record_file = Path(str(run["path"]))
    assert not [p for p in record_file.parent.iterdir() if p.name.startswith(".")]  # no temporary file left

    # finished: a new run is allowed
    fifo.unlink()
    done = setup.detach(nimadm_args(setup))
    assert done.returncode == 0, done.stderr
    assert "nimadm started for web73: PID" in done.stdout
    wait_for(lambda: record_of(setup, "web73")["status"] == "exited", DEADLINE, "the second run to end")
    assert [r["exit_code"] for r in setup.runs()] == [7, 0]


def test_supervisor_killed_the_run_is_lost_not_running(setup: Setup) -> None:
    fifo = setup.fifo("lpar2")
    started = setup.detach(nimadm_args(setup, "lpar2"))
    assert started.returncode == 0, started.stderr
    run = record_of(setup, "lpar2")
    os.kill(int(run["supervisor_pid"]), signal.SIGKILL)  # type: ignore[arg-type]
    wait_for(lambda: not pid_alive(int(run["supervisor_pid"])), DEADLINE, "the supervisor to die")  # type: ignore[arg-type]
    # nimadm itself still runs: still refused
    refused = setup.detach(nimadm_args(setup, "lpar2"))
    assert refused.returncode == 3 and f"PID {run['pid']}" in refused.stderr
    release(fifo, 0)
    wait_for(lambda: not pid_alive(int(run["pid"])), DEADLINE, "nimadm to end")  # type: ignore[arg-type]
    assert record_of(setup, "lpar2")["status"] == "lost"
    listing = setup.nimwatch(["run", "--list", "--state", str(setup.state)])
    assert "lost" in listing.stdout and "nimadm runs as PID" in listing.stdout
    allowed = setup.detach(nimadm_args(setup, "lpar2"))
    assert allowed.returncode == 0, allowed.stderr


def test_sigterm_to_the_supervisor_stops_nimadm_and_is_recorded(setup: Setup) -> None:
    setup.fifo("lpar3")
    started = setup.detach(nimadm_args(setup, "lpar3"))
    assert started.returncode == 0, started.stderr
    run = record_of(setup, "lpar3")
    wait_for(lambda: setup.pid("lpar3") == run["pid"], DEADLINE, "the stand-in to start")
    os.kill(int(run["supervisor_pid"]), signal.SIGTERM)  # type: ignore[arg-type]
    wait_for(lambda: record_of(setup, "lpar3")["status"] == "exited", DEADLINE, "the recorded end")
    ended = record_of(setup, "lpar3")
    assert ended["signal"] == signal.SIGTERM and ended["exit_code"] is None
    assert journal_rows(setup, "lpar3")[-1]["signal"] == signal.SIGTERM


@pytest.mark.parametrize("columns", [None, "80"])
def test_a_nimadm_started_by_hand_is_refused_too(setup: Setup, columns: Optional[str]) -> None:
    # From a path long enough that ps cuts its line before -c when COLUMNS=80 is in the environment (pytest-xdist's
    # workers set it; a login profile may): the client must still be read.
    deep = setup.root / ("d" * 90) / "nimadm"
    deep.parent.mkdir()
    shutil.copy2(setup.nimadm, deep)
    env = setup.env() if columns is None else {**setup.env(), "COLUMNS": columns}
    fifo = setup.fifo("lpar4")
    by_hand = subprocess.Popen(
        [str(deep), "-c", "lpar4", "-s", "spot", "-l", "lpp", "-d", "hdisk1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: setup.pid("lpar4") == by_hand.pid, DEADLINE, "the hand-started nimadm")
        refused = setup.detach(nimadm_args(setup, "lpar4"), env=env)
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert f"already running as PID {by_hand.pid}" in refused.stderr
    finally:
        release(fifo, 0)
        by_hand.wait(DEADLINE)


def test_nimadm_that_cannot_start_leaves_no_running_record(setup: Setup) -> None:
    result = setup.detach(["--", str(setup.root / "no-such-nimadm"), "-c", "lpar5"])
    assert result.returncode == 2
    assert "cannot start" in result.stderr
    assert setup.runs() == []


def test_headless_refused_before_starting_when_a_watcher_holds_the_journal(setup: Setup) -> None:
    holder = Journal.open(setup.state)
    try:
        result = setup.nimwatch(
            [
                "run",
                "--headless",
                "--state",
                str(setup.state),
                "--log-dir",
                str(setup.logs),
                *nimadm_args(setup, "lpar6"),
            ]
        )
    finally:
        holder.close()
    assert result.returncode == 2
    assert "another nimwatch watch" in result.stderr and "--detach" in result.stderr
    assert setup.pid("lpar6") is None and setup.runs() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "needs the nimadm command"),
        (["--", "nimadm", "-M", "-s", "spot", "-l", "lpp"], "needs the NIM client"),
        (["--", "nimadm", "-c", "lpar1", "-Q"], "no flag -Q"),
        (["--", "nimadm", "-c", "../etc"], "not a NIM client name"),
        (["--list", "--", "nimadm", "-c", "x"], "takes no nimadm command"),
    ],
)
def test_usage_errors(setup: Setup, args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["run", "--detach", "--state", str(setup.state), *args]
        if "--list" not in args
        else ["run", "--state", str(setup.state), *args]
    )
    _, err = capsys.readouterr()
    assert code == 2 and message in err


def test_without_headless_the_tui_opens_on_the_client(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nimwatch.commands import tui

    opened: list[list[str]] = []
    monkeypatch.setattr(tui, "run", lambda args: opened.append(list(args.paths)) or 0)
    for key, value in setup.env().items():
        monkeypatch.setenv(key, value)
    code = main(["run", "--state", str(setup.state), "--log-dir", str(setup.logs), *nimadm_args(setup, "lpar7")])
    _, err = capsys.readouterr()
    assert code == 0
    assert opened == [[str(setup.logs / "lpar7_alt_mig.log")]]
    assert "nimadm started for lpar7" in err and "nimadm goes on" in err
    wait_for(lambda: record_of(setup, "lpar7")["status"] == "exited", DEADLINE, "the run to end")


def test_the_tui_draws_the_client_in_a_real_terminal_and_quits_with_q(setup: Setup) -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    env = {**setup.env(), "TERM": "xterm-256color", "STANDIN_STATUS": "0"}

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    launcher = subprocess.Popen(
        [*setup.run_args(), *nimadm_args(setup, "lpar8")],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=str(setup.root),
        preexec_fn=controlling_terminal,
    )
    os.close(slave)
    screen = Lines(master)
    try:
        wait_for(lambda: "lpar8" in screen.text() and "1 succeeded" in screen.text(), DEADLINE, "the TUI's row")
        os.write(master, b"q")
        assert launcher.wait(DEADLINE) == 0
        wait_for(lambda: "nimadm goes on" in screen.text(), DEADLINE, "the closing note")
    finally:
        if launcher.poll() is None:
            launcher.kill()
        screen.stop()
        os.close(master)
    wait_for(lambda: record_of(setup, "lpar8")["exit_code"] == 0, DEADLINE, "the recorded exit status")
