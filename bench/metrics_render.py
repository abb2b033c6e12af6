"""Metrics benchmark: the CPU one exposition costs with many running clients and a long run history.

Run: ``python bench/metrics_render.py [--clients 50] [--history 2000] [--repeat 20]`` (the README holds the
figures).

Builds an engine following ``--clients`` logs, every client running phase 6 (so
every client gets an ETA), and a run history of ``--history`` succeeded runs
spread over the clients, then measures the CPU time of one ``render`` of the
metrics with the heartbeat, ETA and history families (what the exporter does
at every heartbeat and every scrape), and the size of the exposition. The
first render (which builds the history histogram) is measured apart.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nimwatch.core.history import HistoryRecord
from nimwatch.engine import Engine
from nimwatch.eta_live import EtaSource, HistoryCache
from nimwatch.metrics import render
from nimwatch.metrics_live import LiveMetrics
from nimwatch.rulefiles import load_rules

RULE = "+" + "-" * 77 + "+"


def running_log(client: str, upto: int) -> str:
    parts = [f"Initializing NIM client {client}.\nStarting Alternate Disk Migration.\n"]
    for phase in range(1, upto + 1):
        parts.append(f"{RULE}\nExecuting nimadm phase {phase}.\n{RULE}\nWorking in phase {phase}.\n")
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--history", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rules = load_rules()
    engine = Engine(rules)
    for c in range(args.clients):
        engine.feed(f"/l/c{c}_alt_mig.log", running_log(f"c{c}", 6).encode(), at=1_000_000.0)
    records = [
        HistoryRecord(
            client=f"c{i % args.clients}",
            outcome="succeeded",
            master="nim01",
            log=f"/old/c{i % args.clients}_{i}_alt_mig.log",
            started_at=float(i * 10_000),
            finished_at=float(i * 10_000 + 3600),
            mode="cache",
            phases={p: 200.0 + (i * 7 + p * 13) % 300 for p in range(1, 13)},
        )
        for i in range(args.history)
    ]
    live = LiveMetrics(EtaSource(rules, HistoryCache(records)), 15.0)
    began = time.process_time()
    text = render(engine, live=live, now=1_000_600.0)
    first = time.process_time() - began
    began = time.process_time()
    for _ in range(args.repeat):
        text = render(engine, live=live, now=1_000_600.0)
    each = (time.process_time() - began) / args.repeat
    result = {
        "clients": args.clients,
        "history": args.history,
        "first_render_ms": round(first * 1000, 1),
        "render_ms": round(each * 1000, 1),
        "lines": text.count("\n"),
        "bytes": len(text.encode()),
        "python": platform.python_version(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.clients} running clients, {args.history} history rows: first render "
            f"{result['first_render_ms']} ms, then {result['render_ms']} ms of CPU per render; "
            f"{result['lines']} lines, {result['bytes']} bytes (Python {result['python']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
