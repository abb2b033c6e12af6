"""Benchmark of the ETA estimator (``nimwatch/core/eta.py``): how wrong is it, and which variant is best.

No real fleet's timings are public, so histories are generated, deterministic
for a seed. A fleet of clients, each with its own mode (cache ``-j`` or NFS)
and its own scale: the size of its rootvg stretches the copy phases (1, 3, 9,
11), the number of its filesets the install phases (5, 6, 8). Every run adds
per-run factors (network for 3 and 9, master load for 5, 6 and 8), per-phase
lognormal noise, and now and then a slow phase (3, 6 or 9 two to three and a
half times longer: a busy network, a loaded master). Phase 6 shows
``Filesets processed: i of N``: each client's filesets have their own sizes
(the bos filesets, installed first, are the biggest) and every run its own
per-fileset noise; the phase opens and closes with stretches that show no
count (install utilities, RPMs and install_all_updates).

What is measured: the estimate at each phase start, against the time the run
really needed from there: the error is ``|estimate - actual| / actual``, its
median and p90 over many runs, for 0, 1, 3, 5 and 10 prior runs of the same
client. Two histories: the client's own runs only, and the client's runs plus
the whole fleet's earlier runs (then the fallback to "same target level and
mode" answers when the client has too few). Then the same inside phase 6, at
25, 50 and 75 % of it, where the fileset counts can scale the current phase.

    python bench/eta_accuracy.py              # about half a minute
    python bench/eta_accuracy.py --quick      # fewer clients
    python bench/eta_accuracy.py --json       # machine-readable figures

Target (issue 13): median error <= 15 % from phase 6 on, with 5 prior runs of the same kind.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import platform
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nimwatch.core.eta import EtaOptions, RunningRun, estimate
from nimwatch.core.history import HistoryRecord
from nimwatch.rulefiles import load_rules

PHASES = tuple(range(1, 13))
PRIORS = (0, 1, 3, 5, 10)
TARGET = 0.15

BASE = {
    "cache": {1: 240, 2: 60, 3: 900, 4: 5, 5: 480, 6: 1800, 7: 5, 8: 120, 9: 840, 10: 60, 11: 200, 12: 30},
    "nfs": {1: 240, 2: 45, 3: 40, 4: 5, 5: 620, 6: 2500, 7: 5, 8: 120, 9: 30, 10: 20, 11: 200, 12: 30},
}
"""Seconds per phase of a typical client (about 80 minutes; phase 6 about half an hour or more, 3 and 9 the
copies in cache mode; nimadm_facts.md 6: ~1 h per client, ~30 min in phase 6)."""
COPY_PHASES = {1: 0.5, 3: 1.0, 9: 1.0, 11: 0.5}
"""Exponent of the client's rootvg size factor per phase."""
INSTALL_PHASES = {5: 0.7, 6: 1.0, 8: 0.3}
"""Exponent of the client's fileset-count factor per phase."""
SIGMA = {"client_size": 0.35, "client_software": 0.2, "network": 0.15, "load": 0.12, "phase": 0.08, "fileset": 0.3}
SLOW_CHANCE = 0.06
PHASE6_UNCOUNTED = (0.05, 0.12)
"""Shares of phase 6 before the first and after the last fileset count."""


@dataclass(frozen=True)
class Client:
    name: str
    mode: str
    size: float
    software: float
    filesets: tuple[float, ...]
    """Relative install time of each fileset, in installp's order."""


@dataclass(frozen=True)
class Run:
    client: Client
    night: int
    durations: dict[int, float]
    fileset_ends: tuple[float, ...]
    """When each fileset finished, as a share of the counted stretch of phase 6 (0 to 1, ascending)."""

    def record(self) -> HistoryRecord:
        start = 1_700_000_000.0 + self.night * 86400.0
        return HistoryRecord(
            client=self.client.name,
            master="nim01",
            target_level="7.3",
            mode=self.client.mode,
            outcome="succeeded",
            phases=self.durations,
            started_at=start,
            finished_at=start + sum(self.durations.values()),
            sizes={"filesets": len(self.client.filesets)},
        )


def make_client(rng: random.Random, index: int) -> Client:
    software = rng.lognormvariate(0, SIGMA["client_software"])
    count = max(200, round(900 * software))
    big = max(1, count // 12)
    filesets = tuple(rng.lognormvariate(0, 1.0) * (3.0 if i < big else 1.0) for i in range(count))
    return Client(
        name=f"lpar{index:02d}",
        mode="nfs" if index % 4 == 3 else "cache",
        size=rng.lognormvariate(0, SIGMA["client_size"]),
        software=software,
        filesets=filesets,
    )


def make_run(rng: random.Random, client: Client, night: int, noise: float = 1.0) -> Run:
    network = rng.lognormvariate(0, SIGMA["network"] * noise)
    load = rng.lognormvariate(0, SIGMA["load"] * noise)
    slow_phase = rng.choice((3, 6, 9)) if rng.random() < SLOW_CHANCE * noise else 0
    durations: dict[int, float] = {}
    for phase, base in BASE[client.mode].items():
        seconds = base * rng.lognormvariate(0, SIGMA["phase"] * noise)
        seconds *= client.size ** COPY_PHASES.get(phase, 0.0) * client.software ** INSTALL_PHASES.get(phase, 0.0)
        if phase in (3, 9):
            seconds *= network
        if phase in (5, 6, 8):
            seconds *= load
        if phase == slow_phase:
            seconds *= rng.uniform(1.8, 3.5)
        durations[phase] = round(seconds, 1)
    times = [size * rng.lognormvariate(0, SIGMA["fileset"]) for size in client.filesets]
    total = sum(times)
    ends: list[float] = []
    acc = 0.0
    for t in times:
        acc += t
        ends.append(acc / total)
    return Run(client, night, durations, tuple(ends))


def fleet(seed: int, clients: int, nights: int, noise: float = 1.0) -> list[list[Run]]:
    """``runs[c][n]``: client c's run on night n (every client migrates every night, a test lab's rhythm).

    ``noise`` multiplies the per-run spreads (network, load, per phase) and the chance of a slow phase.
    """
    rng = random.Random(seed)
    people = [make_client(rng, i) for i in range(clients)]
    return [[make_run(rng, c, n, noise) for n in range(nights)] for c in people]


def phase6_progress(run: Run, tau: float) -> tuple[int, int]:
    """Filesets done at ``tau`` (share of phase 6's duration), out of the total."""
    lead, tail = PHASE6_UNCOUNTED
    counted = (tau - lead) / (1.0 - lead - tail)
    done = 0 if counted <= 0 else bisect.bisect_right(run.fileset_ends, counted)
    return min(done, len(run.fileset_ends)), len(run.fileset_ends)


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Variant:
    name: str
    options: EtaOptions
    note: str


def at_phase_start(run: Run, phase: int) -> tuple[RunningRun, float]:
    done = {p: run.durations[p] for p in PHASES if p < phase}
    actual = sum(run.durations[p] for p in PHASES if p >= phase)
    return RunningRun(
        run.client.name, phase, 0.0, done=done, master="nim01", target_level="7.3", mode=run.client.mode
    ), actual


def in_phase6(run: Run, tau: float, with_counts: bool = True) -> tuple[RunningRun, float]:
    d6 = run.durations[6]
    done_count, total = phase6_progress(run, tau)
    done = {p: run.durations[p] for p in PHASES if p < 6}
    actual = d6 * (1 - tau) + sum(run.durations[p] for p in PHASES if p > 6)
    counts: dict[str, Any] = {"progress_done": done_count, "progress_total": total} if with_counts else {}
    return RunningRun(
        run.client.name, 6, d6 * tau, done=done, master="nim01", target_level="7.3", mode=run.client.mode, **counts
    ), actual


def history_for(runs: list[list[Run]], c: int, night: int, prior: int, with_fleet: bool) -> list[HistoryRecord]:
    own = [r.record() for r in runs[c][night - prior : night]] if prior else []
    if not with_fleet:
        return own
    others = [runs[o][n].record() for o in range(len(runs)) if o != c for n in range(night)]
    return others + own


Point = Callable[[Run], tuple[RunningRun, float]]
"""A moment of a run: the running run as the estimator sees it then, and the seconds really left."""


def errors(
    runs: list[list[Run]],
    variant: Variant,
    prior: int,
    with_fleet: bool,
    tests: int,
    weights: dict[int, float],
    points: Mapping[Any, Point],
) -> dict[Any, list[float]]:
    """|estimate - actual| / actual at each point of each test run, per point."""
    out: dict[Any, list[float]] = {key: [] for key in points}
    nights = len(runs[0])
    for c in range(len(runs)):
        for night in range(nights - tests, nights):
            history = history_for(runs, c, night, prior, with_fleet)
            for key, point in points.items():
                running, actual = point(runs[c][night])
                got = estimate(history, running, 0.0, weights, variant.options).remaining
                out[key].append(abs(got - actual) / actual)
    return out


def errors_at_starts(
    runs: list[list[Run]], variant: Variant, prior: int, with_fleet: bool, tests: int, weights: dict[int, float]
) -> dict[int, list[float]]:
    points = {p: (lambda run, p=p: at_phase_start(run, p)) for p in PHASES}
    return errors(runs, variant, prior, with_fleet, tests, weights, points)


def errors_in_phase6(
    runs: list[list[Run]], variant: Variant, prior: int, tests: int, weights: dict[int, float], taus: Sequence[float]
) -> dict[float, list[float]]:
    points = {t: (lambda run, t=t: in_phase6(run, t)) for t in taus}
    return errors(runs, variant, prior, False, tests, weights, points)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return (ordered[n // 2] + ordered[(n - 1) // 2]) / 2


def p90(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def pooled(errors: dict[int, list[float]], phases: Sequence[int]) -> list[float]:
    return [e for p in phases for e in errors[p]]


def pct(value: float) -> str:
    return f"{100 * value:.0f}"


# --------------------------------------------------------------------------- variants


DEFAULT = EtaOptions()
HISTORY_VARIANTS = (
    Variant("median of last 10 (default)", DEFAULT, "per-phase median of the newest 10 runs"),
    Variant("mean of last 3", replace(DEFAULT, window=3, statistic="mean"), "Jenkins: mean of up to 3 recent runs"),
    Variant("last run only", replace(DEFAULT, window=1), "Argo / Altair: the last successful run"),
    Variant("median 10, run scaling 0.5", replace(DEFAULT, run_scaling=0.5), "remaining x (actual/expected)^0.5"),
    Variant("median 10, run scaling 1", replace(DEFAULT, run_scaling=1.0), "remaining x actual/expected"),
    Variant("median 10, min 3 runs", replace(DEFAULT, min_runs=3), "a level needs 3 runs (else the next)"),
)
PROGRESS_VARIANTS = (
    Variant("counts ignored (elapsed vs expected)", replace(DEFAULT, progress="none"), "max(0, expected - elapsed)"),
    Variant("count fraction", replace(DEFAULT, progress="count"), "expected x (1 - f)"),
    Variant("own rate", replace(DEFAULT, progress="rate"), "elapsed x (1 - f) / f"),
    Variant("blend w = f^0.5", replace(DEFAULT, progress="blend", blend_exponent=0.5), ""),
    Variant("blend w = f", replace(DEFAULT, progress="blend", blend_exponent=1.0), ""),
    Variant("blend w = f^2 (default)", replace(DEFAULT, progress="blend", blend_exponent=2.0), ""),
)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--tests", type=int, default=6, help="test runs per client (after the 10 priors)")
    parser.add_argument("--quick", action="store_true", help="8 clients, 3 test runs each")
    parser.add_argument("--noise", type=float, default=1.0, help="multiply the per-run spread (2 = twice as noisy)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.tests = 8, 3
    started = time.process_time()
    weights = {p.number: p.weight for p in load_rules().model.phases}
    runs = fleet(args.seed, args.clients, max(PRIORS) + args.tests, args.noise)
    default = HISTORY_VARIANTS[0]
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "seed": args.seed,
        "clients": args.clients,
        "test_runs_per_client": args.tests,
        "noise": args.noise,
        "target": TARGET,
    }

    # 1. the default, per phase start, own history only and with the fleet
    for with_fleet in (False, True):
        key = "per_phase_fleet" if with_fleet else "per_phase_own"
        result[key] = {}
        for prior in PRIORS:
            errs = errors_at_starts(runs, default, prior, with_fleet, args.tests, weights)
            result[key][prior] = {p: {"median": median(errs[p]), "p90": p90(errs[p])} for p in PHASES}
            result[key][prior]["6-12"] = {
                "median": median(pooled(errs, range(6, 13))),
                "p90": p90(pooled(errs, range(6, 13))),
            }
    # 2. history variants side by side
    result["variants"] = {}
    for variant in HISTORY_VARIANTS:
        row: dict[str, Any] = {"note": variant.note}
        for prior in PRIORS:
            for with_fleet in (False, True):
                errs = errors_at_starts(runs, variant, prior, with_fleet, args.tests, weights)
                row[f"{prior}{'+fleet' if with_fleet else ''}"] = {
                    "1-5": median(pooled(errs, range(1, 6))),
                    "6-12": median(pooled(errs, range(6, 13))),
                    "6-12 p90": p90(pooled(errs, range(6, 13))),
                }
        result["variants"][variant.name] = row
    # 3. inside phase 6: what the fileset counts are worth
    taus = (0.25, 0.5, 0.75)
    result["phase6"] = {}
    for variant in PROGRESS_VARIANTS:
        row = {"note": variant.note}
        for prior in (1, 5):
            errs6 = errors_in_phase6(runs, variant, prior, args.tests, weights, taus)
            row[prior] = {str(t): {"median": median(errs6[t]), "p90": p90(errs6[t])} for t in taus}
        result["phase6"][variant.name] = row
    result["cpu_seconds"] = round(time.process_time() - started, 1)

    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    print_tables(result)
    return 0


def print_tables(result: dict[str, Any]) -> None:
    print(
        f"ETA error |estimate - actual| / actual, % (median/p90); {result['clients']} clients x "
        f"{result['test_runs_per_client']} test runs, seed {result['seed']}, noise x{result['noise']:g}; "
        f"{result['machine']}\n"
    )
    for key, title in (("per_phase_own", "own history only"), ("per_phase_fleet", "own history + the fleet's")):
        print(f"Default estimator at each phase start, {title}:\n")
        print("| prior runs | " + " | ".join(f"ph {p}" for p in PHASES) + " | 6-12 |")
        print("|---:|" + "---:|" * 13)
        for prior, row in result[key].items():
            cells = [f"{pct(row[p]['median'])}/{pct(row[p]['p90'])}" for p in PHASES]
            print(
                f"| {prior} | " + " | ".join(cells) + f" | **{pct(row['6-12']['median'])}**/{pct(row['6-12']['p90'])} |"
            )
        print()
    print("History variants: median error at phase starts 1-5 / 6-12 (p90 6-12), %:\n")
    cols = [f"{p}{f}" for p in PRIORS for f in ("", "+fleet")]
    print("| variant | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, row in result["variants"].items():
        cells = [f"{pct(row[c]['1-5'])} / {pct(row[c]['6-12'])} ({pct(row[c]['6-12 p90'])})" for c in cols]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n(+fleet: the fleet's earlier runs are in the history too; with few own runs the estimate falls back to")
    print("runs of the same target level and mode.)\n")
    print("Inside phase 6 (fileset counts), error of the remaining time at 25/50/75 % of the phase, median (p90), %:\n")
    print("| progress | 1 prior: 25 % | 50 % | 75 % | 5 prior: 25 % | 50 % | 75 % |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, row in result["phase6"].items():
        cells = [
            f"{pct(row[p][t]['median'])} ({pct(row[p][t]['p90'])})" for p in (1, 5) for t in ("0.25", "0.5", "0.75")
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    six = result["per_phase_own"][5]["6-12"]["median"]
    verdict = "met" if six <= TARGET else "NOT met"
    print(f"\nTarget: median error <= {pct(TARGET)} % from phase 6 on with 5 prior runs: {pct(six)} % ({verdict}).")
    print(f"CPU time: {result['cpu_seconds']} s")


if __name__ == "__main__":
    sys.exit(main())
