"""Benchmark of a restart of ``nimwatch watch`` on 55 MB of logs: the first new event, with and without snapshots.

A directory of 200 logs (about 55 MB, phase 6 inflated as in a real installp transcript) is
followed by ``nimwatch watch`` until it has read everything; SIGTERM stops it (a clean stop writes
a state snapshot of every log). While it is down the last log (in the order they are read) gets a
new line that makes an event. The figure is the time from starting ``nimwatch watch`` again to
that event on its stdout, and the CPU time the process used until then: once as it is (resuming
from the snapshots), once after the snapshots were deleted from the journal (what a restart cost
before: every log re-read from byte 0), in one run, side by side.

    python bench/restart_resume.py           # 200 logs, about 55 MB
    python bench/restart_resume.py --quick   # 40 logs, about 11 MB
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.biglog import write_big_log  # noqa: E402

NEW_LINE = "0503-008 installp: There is not enough free disk space in filesystem /usr.\n"


def _env(state: Path) -> dict[str, str]:
    # bytecode as an installed nimwatch has it: compiling the sources again at every start is not a restart cost
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIMWATCH_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"PYTHONPATH": str(ROOT), "NIMWATCH_STATE": str(state), "PYTHONUNBUFFERED": "1"})
    return env


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def start_and_wait(logs: Path, state: Path, until: str, timeout: float = 900.0) -> tuple[float, float, int]:
    """Start ``nimwatch watch``; (seconds until a stdout line containing ``until``, CPU seconds, pid)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nimwatch", "watch", str(logs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(state),
    )
    assert proc.stdout is not None
    found = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if until.encode() in line:
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(timeout):
        proc.kill()
        raise SystemExit(f"no {until!r} within {timeout} s")
    elapsed = time.monotonic() - started
    cpu = _cpu(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=600)
    return elapsed, cpu, proc.pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 logs instead of 200")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    count = 40 if args.quick else 200
    with tempfile.TemporaryDirectory(prefix="nimwatch-restart-") as tmp:
        logs = Path(tmp) / "logs"
        logs.mkdir()
        for i in range(count):
            write_big_log(logs / f"big{i:03d}_alt_mig.log", 9000, client=f"big{i:03d}")
        size = sum(p.stat().st_size for p in logs.iterdir())
        state = Path(tmp) / "state.db"
        # 1. the first start reads everything (its last event: the last log's run end)
        first, first_cpu, _ = start_and_wait(logs, state, f'"client": "big{count - 1:03d}", "log"')
        # it stopped cleanly (SIGTERM): every log has a snapshot. Now a new line while nimwatch is down:
        results: dict[str, Any] = {"logs": count, "bytes": size, "first_start_s": first, "first_start_cpu_s": first_cpu}
        for mode in ("snapshot", "no_snapshot"):
            target = logs / f"big{count - 1:03d}_alt_mig.log"  # the last log read: every other one comes first
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(f"{NEW_LINE.rstrip()} ({mode})\n")
            if mode == "no_snapshot":
                conn = sqlite3.connect(str(state))
                conn.execute("DELETE FROM snapshots")
                conn.commit()
                conn.close()
            elapsed, cpu, _ = start_and_wait(logs, state, f"({mode})")
            results[f"{mode}_first_new_event_s"] = elapsed
            results[f"{mode}_cpu_s"] = cpu
    results["python"] = platform.python_version()
    results["cpus"] = os.cpu_count()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    mb = results["bytes"] / 1e6
    print(f"{count} logs, {mb:.1f} MB, Python {results['python']}, {results['cpus']} CPUs")
    print(f"first start, everything read:        {results['first_start_s']:.2f} s  (CPU {first_cpu:.2f} s)")
    print(
        f"restart, from the snapshots:         {results['snapshot_first_new_event_s']:.2f} s to the first new event"
        f"  (CPU {results['snapshot_cpu_s']:.2f} s)"
    )
    print(
        f"restart, snapshots deleted (before): {results['no_snapshot_first_new_event_s']:.2f} s to the first new event"
        f"  (CPU {results['no_snapshot_cpu_s']:.2f} s)"
    )


if __name__ == "__main__":
    main()
