"""Running ``python -m nimwatch watch`` as a real process: its stdout JSON lines, its stderr, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, Optional

from .watchkit import wait_for

ROOT = Path(__file__).resolve().parents[2]


def watch_env(config: Optional[Path], state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        {
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "NIMWATCH_STATE": str(state),
            "no_proxy": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if config is not None:
        env["NIMWATCH_CONFIG"] = str(config)
    return env


def run_once(args: list[str], config: Optional[Path], state: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", "watch", "--once", *args],
        capture_output=True,
        text=True,
        env=watch_env(config, state),
        cwd=str(cwd),
        timeout=300,
    )


class WatchProcess:
    """``nimwatch watch`` running in the background, its output collected by two threads."""

    def __init__(self, args: list[str], config: Optional[Path], state: Path, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nimwatch", "watch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=watch_env(config, state),
            cwd=str(cwd),
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._lock = threading.Lock()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, stream: IO[str], into: list[str]) -> None:
        for line in stream:
            with self._lock:
                into.append(line.rstrip("\n"))

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(line) for line in self.out]

    def stderr(self) -> str:
        with self._lock:
            return "\n".join(self.err)

    def wait_stderr(self, text: str, timeout: float = 30.0) -> None:
        wait_for(lambda: text in self.stderr() or self.proc.poll() is not None, timeout, what=repr(text))
        assert text in self.stderr(), f"exited {self.proc.returncode}: {self.stderr()}"

    def ready(self) -> WatchProcess:
        self.wait_stderr("nimwatch: watching ")
        return self

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        for thread in self._threads:
            thread.join(timeout=10)
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)
        for thread in self._threads:
            thread.join(timeout=10)
