"""``nimwatch watch`` on a terminal that hangs up (EIO on stdout): printing stops, watching goes on.

A real terminal (a pty in a session of its own, as an ssh login gives) is
closed under a running ``watch``: its alerts keep being sent (a real HTTP
receiver), it stops cleanly when told, and the event lines it could not print
stay in the journal's outbox: the next start prints them, nothing was marked
written that was not.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import subprocess
import sys
import termios
from pathlib import Path

from nimwatch.journal import Journal

from .proc import watch_env
from .servers import HttpReceiver
from .watchkit import append, failing_run, running_run, wait_for

DEADLINE = 60.0


def read_available(fd: int, into: bytearray) -> None:
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            into.extend(chunk)
            if len(chunk) < 65536:
                return
    except OSError:
        return


def test_a_hung_up_terminal_stops_printing_not_watching(tmp_path: Path) -> None:
    http = HttpReceiver()
    config = tmp_path / "nimwatch.yaml"
    config.write_text(
        f"alerts:\n  - type: webhook\n    url: {http.url}/alerts\n    severity: info\n"
        "    events: [run_started, run_finished]\n",
        encoding="utf-8",
    )
    config.chmod(0o600)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    log.write_text(running_run("lpar1", 2), encoding="utf-8")
    state = tmp_path / "state.db"
    master, slave = pty.openpty()
    os.set_blocking(master, False)

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "nimwatch", "watch", "--poll", "0.2", str(logs)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=watch_env(config, state),
        cwd=str(tmp_path),
        preexec_fn=controlling_terminal,
    )
    os.close(slave)
    screen = bytearray()
    try:
        wait_for(lambda: read_available(master, screen) or b'"phase_started"' in screen, DEADLINE, "event lines")
        os.close(master)  # the ssh session goes away
        # a new client every few tenths of a second, for well over the service loop's tick: each one's line
        # cannot be printed, each one is still alerted
        for n in range(2, 12):
            client = f"lpar{n}"
            (logs / f"{client}_alt_mig.log").write_text(running_run(client, 1), encoding="utf-8")
            wait_for(lambda c=client: [b for b in http.bodies() if b.get("client") == c], DEADLINE, f"{client}'s alert")
        whole = failing_run("lpar1", 3)
        assert whole.startswith(running_run("lpar1", 2))
        append(log, whole[len(running_run("lpar1", 2)) :])
        # still watching: the failure is alerted, and the watcher runs on
        wait_for(lambda: [b for b in http.bodies() if b.get("event") == "run_finished"], DEADLINE, "the alert")
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        http.close()
    alert = next(b for b in http.bodies() if b.get("event") == "run_finished")
    assert alert["outcome"] == "failed" and alert["client"] == "lpar1"
    journal = Journal.open(state, readonly=True)
    try:
        pending = [json.loads(line) for _, line in journal.outbox_pending()]
    finally:
        journal.close()
    events = [(e["event"], e["client"]) for e in pending]
    assert ("run_finished", "lpar1") in events and ("run_started", "lpar11") in events  # never marked written
    # the next start prints what the hung-up terminal never showed, before anything new
    again = subprocess.run(
        [sys.executable, "-m", "nimwatch", "watch", "--once", str(logs)],
        capture_output=True,
        text=True,
        env=watch_env(config, state),
        cwd=str(tmp_path),
        timeout=300,
        check=False,
    )
    assert again.returncode == 1, again.stderr  # the run failed
    printed = [json.loads(line) for line in again.stdout.splitlines()]
    assert [e["id"] for e in printed[: len(pending)]] == [e["id"] for e in pending]
    assert next(e for e in printed if e["event"] == "run_finished")["outcome"] == "failed"
