"""Helpers for the history tests: runs written while a real ``nimwatch watch`` reads them, the CLI as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

from watch.proc import ROOT, WatchProcess, watch_env
from watch.watchkit import append, banner, phase_body, preamble, wait_for

DEADLINE = 60.0
"""Generous: two cores shared with other suites (and stress-ng in the load test)."""


def cli(
    *args: str, state: Path, config: Optional[Path] = None, encoding: str = "utf-8", cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    env = watch_env(config, state)
    env["PYTHONIOENCODING"] = encoding
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", *args],
        capture_output=True,
        text=True,
        encoding=encoding,
        errors="replace",
        env=env,
        cwd=str(cwd),
        timeout=300,
        check=False,
    )


def phase_events(proc: WatchProcess, log: Path, event: str = "phase_started") -> list[dict[str, Any]]:
    name = os.path.abspath(log)
    return [e for e in proc.events() if e["event"] == event and e["log"] == name]


def write_phase(proc: WatchProcess, log: Path, phase: int, body: bool = True) -> dict[str, Any]:
    """Append phase ``phase``'s banner (and body); returns the watcher's phase_started event for it."""
    before = len(phase_events(proc, log))
    append(log, banner(phase) + (phase_body(phase) if body else ""))
    wait_for(lambda: len(phase_events(proc, log)) > before, DEADLINE, f"phase_started {phase} of {log.name}")
    return phase_events(proc, log)[-1]


def start_run(proc: WatchProcess, log: Path, client: str) -> None:
    before = len(phase_events(proc, log, "run_started"))
    append(log, preamble(client))
    wait_for(lambda: len(phase_events(proc, log, "run_started")) > before, DEADLINE, f"run_started of {log.name}")


def finish_run(proc: WatchProcess, log: Path, client: str) -> dict[str, Any]:
    """The clean-up lines that end a good run; returns the run_finished event."""
    before = len(phase_events(proc, log, "run_finished"))
    append(log, "Cleaning up alt_disk_migration on the NIM master.\n")
    append(log, f"Cleaning up alt_disk_migration on client {client}.\n")
    wait_for(lambda: len(phase_events(proc, log, "run_finished")) > before, DEADLINE, f"run_finished of {log.name}")
    return phase_events(proc, log, "run_finished")[-1]


def live_success_run(proc: WatchProcess, log: Path, client: str) -> dict[str, Any]:
    """A whole good run, each phase written only once the watcher saw the one before: real arrival times."""
    start_run(proc, log, client)
    for phase in range(1, 13):
        write_phase(proc, log, phase, body=phase < 12)
    return finish_run(proc, log, client)
