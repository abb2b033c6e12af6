"""Helpers for the ``nimwatch run`` tests: a stand-in nimadm, its release, and ``nimwatch`` as a real process.

The stand-in is a shell script named ``nimadm`` (nimadm is a ksh script too):
it reads its flags with getopts, writes a real sample log as
``<log dir>/<client>_alt_mig.log``, prints a line on stdout and one on
stderr, records its PID, then blocks reading a FIFO until the test releases
it, and exits with the status the test chose.

``nimwatch run`` refuses a client whose nimadm runs anywhere on the machine
(it looks with ``ps``), and the stand-ins of two tests run at once would be
such nimadms to each other (pytest-xdist workers, another checkout's suite):
a :class:`Setup` holds the machine-wide :data:`STANDIN_LOCK` from
:func:`make_setup` until :meth:`Setup.cleanup` has stopped its stand-ins.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from helpers import ROOT, SAMPLE_LOGS

STANDIN_LOCK = Path(tempfile.gettempdir()) / "nimwatch-tests-standin-nimadm.lock"
"""Held by one test with stand-in nimadms at a time, machine-wide (one :class:`Setup` per test: a second
one in the same process would wait for the first)."""
LOCK_WAIT = 900.0
"""Seconds a test waits for the lock before it fails naming it (another suite's test that hangs)."""

STANDIN = """#!/bin/sh
client=""
while getopts "a:b:c:d:e:i:j:l:m:N:o:O:P:s:T:z:ABCDEFMrSUVWY" opt; do
  case $opt in c) client=$OPTARG ;; esac
done
echo $$ > "$STANDIN_DIR/$client.pid"
cat "$STANDIN_SAMPLE" > "$STANDIN_LOGDIR/${client}_alt_mig.log"
echo "stand-in nimadm for $client: stdout"
echo "stand-in nimadm for $client: stderr" >&2
if [ -p "$STANDIN_DIR/$client.fifo" ]; then
  read status < "$STANDIN_DIR/$client.fifo"
  exit "$status"
fi
exit "${STANDIN_STATUS:-0}"
"""


@dataclass
class Setup:
    root: Path
    nimadm: Path
    logs: Path
    state: Path
    lock: int = -1
    """The open :data:`STANDIN_LOCK`, held (-1: released)."""

    def env(self, sample: str = "web73") -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(
            {
                "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                "STANDIN_DIR": str(self.root),
                "STANDIN_LOGDIR": str(self.logs),
                "STANDIN_SAMPLE": str(SAMPLE_LOGS / f"{sample}_alt_mig.log"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def fifo(self, client: str) -> Path:
        path = self.root / f"{client}.fifo"
        os.mkfifo(path)
        return path

    def pid(self, client: str) -> Optional[int]:
        try:
            return int((self.root / f"{client}.pid").read_text())
        except (OSError, ValueError):
            return None

    def run_args(self, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "nimwatch",
            "run",
            *extra,
            "--state",
            str(self.state),
            "--log-dir",
            str(self.logs),
        ]

    def nimwatch(self, args: list[str], env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "nimwatch", *args],
            capture_output=True,
            text=True,
            env=env or self.env(),
            timeout=300,
            cwd=str(self.root),
            check=False,
        )

    def detach(self, nimadm: list[str], env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess[str]:
        """``nimwatch run --detach`` of the ``nimadm`` command line (``["--", path, flags...]``) in this setup."""
        return self.nimwatch(
            ["run", "--detach", "--state", str(self.state), "--log-dir", str(self.logs), *nimadm], env=env
        )

    def cleanup(self) -> None:
        """Stop whatever a failed test left running: stand-ins (by their PID files) and supervisors.

        A PID is signalled only while its command line names this test's directory (never a reused PID).
        """
        pids: list[int] = []
        for path in self.root.glob("*.pid"):
            with contextlib.suppress(OSError, ValueError):
                pids.append(int(path.read_text()))
        runs = self.state.parent / "runs"
        for path in runs.glob("*.json") if runs.is_dir() else []:
            with contextlib.suppress(OSError, ValueError, KeyError):
                pids.append(int(json.loads(path.read_text())["supervisor_pid"]))
        killed = [pid for pid in pids if self._mine(pid)]
        for pid in killed:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        # gone, or a zombie (no command line): no ps shows it as a nimadm any more
        deadline = time.monotonic() + 60
        while any(self._mine(pid) for pid in killed) and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.lock >= 0:  # (closing the descriptor releases the lock)
            os.close(self.lock)
            self.lock = -1

    def _mine(self, pid: int) -> bool:
        """``pid`` runs with a command line that names this test's directory."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                return str(self.root).encode() in handle.read()
        except OSError:
            return False

    def runs(self) -> list[dict[str, Any]]:
        result = self.nimwatch(["run", "--list", "--format", "json", "--state", str(self.state)])
        assert result.returncode == 0, result.stderr
        listing = json.loads(result.stdout)
        assert listing["schema"] == 1
        runs: list[dict[str, Any]] = listing["runs"]
        return runs


def make_setup(tmp_path: Path) -> Setup:
    nimadm = tmp_path / "bin" / "nimadm"
    nimadm.parent.mkdir()
    nimadm.write_text(STANDIN, encoding="utf-8")
    nimadm.chmod(nimadm.stat().st_mode | stat.S_IXUSR)
    logs = tmp_path / "alt_mig"
    logs.mkdir()
    lock = os.open(STANDIN_LOCK, os.O_RDONLY | os.O_CREAT, 0o644)  # (flock needs no write access)
    end = time.monotonic() + LOCK_WAIT  # until the test that holds it has stopped its stand-ins
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > end:
                os.close(lock)
                raise AssertionError(f"{STANDIN_LOCK} held for {LOCK_WAIT:g} s: a suite beside this one hangs") from None
            time.sleep(0.05)
    return Setup(tmp_path, nimadm, logs, tmp_path / "state" / "state.db", lock)


def release(fifo: Path, status: int, timeout: float = 120.0) -> None:
    """Let the stand-in blocked on ``fifo`` exit with ``status`` (the open waits for its reader)."""
    done = threading.Event()

    def write() -> None:
        with open(fifo, "w", encoding="ascii") as handle:
            handle.write(f"{status}\n")
        done.set()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    thread.join(timeout)
    assert done.is_set(), "the stand-in nimadm never read its FIFO"


class Lines:
    """Collects what a stream yields, in a thread (a pipe or a pty master).

    :meth:`stop` ends the reading before the test closes the descriptor: a
    descriptor closed while another thread is blocked reading it stays open
    underneath (a pty master would not hang up).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        while not self.done.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.buffer += chunk

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def text(self) -> str:
        with self.lock:
            return self.buffer.decode("utf-8", "replace").replace("\r\n", "\n")

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out
