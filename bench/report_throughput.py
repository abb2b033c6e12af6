"""Benchmark: ``nimwatch report`` throughput and memory on a 2M-line log, against ``grep -cE``.

Builds a log whose phase 6 is inflated with realistic installp output (see
biglog.py), then in one run times:

* ``nimwatch report --format json`` on it (a real subprocess: start-up, rule
  loading, parsing, JSON), with its peak RSS;
* ``grep -cE`` with patterns like the ones nimwatch looks for, on the same file;
* nimwatch again on logs of 0.5M and 1M lines, to show memory stays flat.

Run: ``python bench/report_throughput.py [--lines N] [--repeat K]``. Results are
printed as a Markdown table (paste into the README).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from biglog import write_big_log

GREP_PATTERN = (
    r"Executing nimadm phase|[0-9]{4}-[0-9]{3}|FAILED|CANCELLED|Filesets processed|"
    r"Cleaning up alt_disk_migration|Bootlist is set|cannot access|alt_lock"
)


def timed(argv: list[str]) -> tuple[float, int, bytes]:
    """Wall time (best of one), peak RSS in KiB and stdout of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr:
        proc.stderr.read()
    return elapsed, usage.ru_maxrss, out


def best(argv: list[str], repeat: int) -> tuple[float, int, bytes]:
    runs = [timed(argv) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    nimwatch = [sys.executable, "-m", "nimwatch", "report", "--format", "json"]
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        sizes = sorted({args.lines // 4, args.lines // 2, args.lines})
        for size in sizes:
            log = Path(tmp) / f"big{size}_alt_mig.log"
            lines = write_big_log(log, size)
            secs, rss, out = best([*nimwatch, str(log)], args.repeat)
            assert b'"outcome": "succeeded"' in out, out[:500]
            rows.append((lines, log.stat().st_size, secs, rss))
        log = Path(tmp) / f"big{args.lines}_alt_mig.log"
        grep_secs, grep_rss, grep_out = best(["grep", "-cE", GREP_PATTERN, str(log)], args.repeat)
    lines, size, secs, rss = rows[-1]
    print("| log lines | size | nimwatch report | lines/s | peak RSS |")
    print("|---:|---:|---:|---:|---:|")
    for n, sz, s, r in rows:
        print(f"| {n:,} | {sz / 1e6:.0f} MB | {s:.2f} s | {n / s / 1e6:.2f} M | {r / 1024:.0f} MiB |")
    print()
    print(
        f"grep -cE (same patterns, {grep_out.decode().strip()} matching lines): {grep_secs:.2f} s, "
        f"{lines / grep_secs / 1e6:.2f} M lines/s, peak RSS {grep_rss / 1024:.0f} MiB"
    )
    print(f"nimwatch / grep time ratio: {secs / grep_secs:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
