"""Benchmark of ``nimwatch watch``'s tailer: write-to-event latency, and the cost of idle logs.

Latency: a line carrying an AIX message code is appended to a followed log;
the time from just before the ``write`` to the moment the engine hands out
the ``finding`` it causes is one sample. Measured with the native observer
(inotify) and with watchdog's polling observer at 0.25 s and 1 s (writes land
at random points of the polling cycle, so the p50 is about half the interval).

Idle cost: 200 followed logs that do not change; CPU (user + system, the whole
process) and resident memory over an idle period, per observer.

    python bench/tail_latency.py            # full run, about a minute
    python bench/tail_latency.py --quick    # fewer samples, about 20 s
    python bench/tail_latency.py --json     # machine-readable figures

Targets (issue 3): inotify p50 <= 20 ms; polling p50 <= the interval; 200 idle logs < 1% of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nimwatch.engine import Engine, Notice
from nimwatch.rulefiles import load_rules
from nimwatch.sources.observers import native_observer_available
from nimwatch.sources.tail import Tailer

PROBE = re.compile(r"probe (\d+)")
PREAMBLE = (
    "Initializing the NIM master.\nInitializing NIM client bench.\n"
    "+" + "-" * 77 + "+\nExecuting nimadm phase 6.\n" + "+" + "-" * 77 + "+\n"
)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100.0 * (len(ordered) - 1))))
    return ordered[index]


def latency(poll: Optional[float], samples: int, directory: Path) -> dict[str, Any]:
    """Milliseconds from write to notice, ``samples`` times."""
    log = directory / "bench_alt_mig.log"
    log.write_text(PREAMBLE)
    engine = Engine(load_rules())
    arrived: dict[int, float] = {}
    ready = threading.Event()

    def on_notice(notice: Notice) -> None:
        if notice.event == "phase_started":
            ready.set()
        if notice.event == "finding":
            m = PROBE.search(str(notice.get("text")))
            if m:
                arrived[int(m.group(1))] = time.perf_counter()

    engine.subscribe(on_notice)
    tailer = Tailer(engine, [directory], poll=poll, rescan=3600.0)
    tailer.start()
    written: dict[int, float] = {}
    try:
        if not ready.wait(30):
            raise SystemExit("the tailer never read the preamble")
        fd = os.open(log, os.O_WRONLY | os.O_APPEND)
        try:
            for i in range(samples):
                time.sleep(random.uniform(0.0, poll) if poll else random.uniform(0.005, 0.02))
                line = f"0505-999 bench: latency probe {i}\n".encode()
                written[i] = time.perf_counter()
                os.write(fd, line)
                deadline = time.monotonic() + (poll or 0) * 3 + 5
                while i not in arrived and time.monotonic() < deadline:
                    time.sleep(0.0005)
        finally:
            os.close(fd)
    finally:
        tailer.stop()
    ms = [(arrived[i] - written[i]) * 1000.0 for i in written if i in arrived]
    return {
        "observer": "inotify (native)" if poll is None else f"polling {poll:g} s",
        "samples": len(ms),
        "lost": samples - len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(statistics.mean(ms), 2),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mib() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux and AIX, bytes on macOS
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def idle(poll: Optional[float], logs: int, seconds: float, directory: Path) -> dict[str, Any]:
    """CPU share of one core and memory while ``logs`` followed logs stay unchanged."""
    text = PREAMBLE + "".join(f"Installing fileset {i}.\n" for i in range(200))
    for i in range(logs):
        (directory / f"lpar{i:03d}_alt_mig.log").write_text(text.replace("bench", f"lpar{i:03d}"))
    rss_before = _rss_mib()
    engine = Engine(load_rules())
    tailer = Tailer(engine, [directory], poll=poll)
    tailer.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            followed = tailer.logs
            if len(followed) == logs and all(tailer.offset(log) for log in followed):
                break
            time.sleep(0.05)
        time.sleep(min(2.0, seconds))  # let the first polling snapshot settle
        cpu0, t0 = _cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        share = (_cpu_seconds() - cpu0) / (time.monotonic() - t0)
        rss = _rss_mib()
    finally:
        tailer.stop()
    return {
        "observer": "inotify (native)" if poll is None else f"polling {poll:g} s",
        "logs": logs,
        "idle_seconds": seconds,
        "cpu_percent_of_one_core": round(share * 100.0, 3),
        "rss_mib": round(rss, 1),
        "rss_growth_mib": round(rss - rss_before, 1),
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer samples and a shorter idle period")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--logs", type=int, default=200, help="idle logs (default 200)")
    args = parser.parse_args(argv)
    random.seed(1)
    observers: list[Optional[float]] = [0.25, 1.0]
    if native_observer_available():
        observers.insert(0, None)
    counts = {None: 60 if args.quick else 300, 0.25: 12 if args.quick else 60, 1.0: 6 if args.quick else 30}
    idle_seconds = 5.0 if args.quick else 20.0
    lat: list[dict[str, Any]] = []
    cost: list[dict[str, Any]] = []
    for poll in observers:
        with tempfile.TemporaryDirectory(prefix="nimwatch-bench-") as tmp:
            lat.append(latency(poll, counts[poll], Path(tmp)))
    for poll in observers:
        with tempfile.TemporaryDirectory(prefix="nimwatch-bench-") as tmp:
            cost.append(idle(poll, args.logs, idle_seconds, Path(tmp)))
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps({"environment": env, "latency": lat, "idle": cost}, indent=2))
        return 0
    print(f"nimwatch tail benchmark - Python {env['python']} on {env['platform']}, {env['cpus']} CPUs\n")
    print("Write-to-event latency (ms)")
    print(f"{'observer':<18} {'samples':>7} {'p50':>8} {'p99':>8} {'max':>8}")
    for row in lat:
        print(f"{row['observer']:<18} {row['samples']:>7} {row['p50_ms']:>8} {row['p99_ms']:>8} {row['max_ms']:>8}")
    print(f"\nIdle cost of {args.logs} followed logs ({idle_seconds:g} s idle)")
    print(f"{'observer':<18} {'CPU % of a core':>16} {'RSS MiB':>9} {'RSS growth':>11}")
    for row in cost:
        cpu, rss, growth = row["cpu_percent_of_one_core"], row["rss_mib"], row["rss_growth_mib"]
        print(f"{row['observer']:<18} {cpu:>16} {rss:>9} {growth:>11}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
