"""The dashboard's rows: one per client, as data and as a plain-text table.

Owns :class:`ClientRow` (what the TUI dashboard and ``nimwatch status`` show
for a client: phase, weighted progress, elapsed time, ETA, status, findings,
the cause, reboot readiness, last line), the status vocabulary with its
symbols (readable without colour), sorting by any column, filtering, the
summary line and the formatting of durations and bars. Whether a run is
stalled is the state's (``RunState.stalled``, which the stall monitor's
verdicts set). Text from logs and file names is escaped here, once, for every
view. Must not import Textual: it is the fallback for terminals where Textual
cannot draw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from nimwatch.core.events import Outcome, PhaseStatus, Severity
from nimwatch.core.outside import exit_words
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState, RunState
from nimwatch.core.verdict import REBOOT_WORDS, cause_label, client_verdict, root_finding
from nimwatch.terminal import escape_controls

if TYPE_CHECKING:
    from nimwatch.core.eta import Estimate

EstimateFn = Callable[[RunState], "Optional[Estimate]"]
"""The ETA of a run (:meth:`nimwatch.eta_live.EtaSource.eta_for` with "now" and "timed" bound)."""

STATUSES = ("running", "stalled", "failed", "incomplete", "succeeded", "other")
"""Every status a client row can have (:func:`nimwatch.core.verdict.client_verdict`; ``other``: the log holds
no migration, e.g. a clean-up only)."""
STATUS_RANK = {"failed": 0, "stalled": 1, "incomplete": 2, "running": 3, "succeeded": 4, "other": 5}
"""Sort order by status: what needs a person first."""
SYMBOL = {"running": "▶", "succeeded": "✔", "failed": "✖", "stalled": "‖", "incomplete": "?", "other": "·"}
"""Status symbols for the TUI (each one terminal cell wide)."""
ASCII_SYMBOL = {"running": ">", "succeeded": "+", "failed": "X", "stalled": "!", "incomplete": "?", "other": "."}
"""Status symbols for plain terminals (AIX consoles without UTF-8)."""
FILTERS = ("all", "problems", "ready", *STATUSES)
"""Filters, in the order the TUI cycles through them; problems = failed, stalled, incomplete; ready = ready to
reboot (the reboot verdict says safe)."""
SORTS = ("status", "client", "phase", "nim", "progress", "elapsed", "eta", "findings", "reboot", "cause", "last")
"""Sort orders (one per column; ``status`` puts what needs a person first), in the order the TUI cycles them."""
SORT_ALIASES = {"name": "client"}
DESCENDING_FIRST = frozenset({"phase", "progress", "elapsed", "findings"})
"""Columns whose first sort puts the biggest value first (the others: the smallest, or the most urgent)."""
MIN_ETA_FRACTION = 0.02
"""Below this much progress an ETA would be a guess: none is shown (when no run history is wired)."""
REBOOT_RANK = {"reset_bootlist": 0, "check_bootlist": 1, "do_not_reboot": 2, "wait": 3, "safe": 4, "not_applicable": 5}
"""Sort order of the Reboot column: what needs a person first."""


@dataclass(frozen=True)
class ClientRow:
    """One client's line on the dashboard (the latest run of its log)."""

    log: str
    client: str
    run: int
    runs: int
    status: str
    phase: int
    phase_name: str
    fraction: float
    """Weighted progress, 0.0 to 1.0 (phases weighted by ``weight:`` in nimadm.yaml)."""
    elapsed: Optional[float]
    eta: Optional[float]
    last_line: str
    findings: int
    """Findings that are not routine (benign) lines."""
    worst: Optional[str]
    """Severity of the worst such finding (error, warning, info) or None."""
    verdict: str = ""
    """The client's verdict in words (from its last migration)."""
    reboot: str = "wait"
    """The reboot verdict (:func:`nimwatch.core.verdict.reboot_verdict`): safe, wait, do_not_reboot..."""
    cause: str = ""
    """The root finding, ``0516-404 VG full: no free PPs`` (:func:`nimwatch.core.verdict.root_finding`)."""
    cause_severity: Optional[str] = None
    cause_line: Optional[int] = None
    eta_overdue: float = 0.0
    """Seconds the current phase runs past its history's p90 (0: not overdue)."""
    eta_rough: bool = False
    """The ETA rests on no history and no timed phase of this run: a nominal run length."""
    nimadm: str = ""
    """How nimadm ended, when ``nimwatch run`` started it (its exit status or signal), else ''."""
    nim: str = ""
    """The client's NIM state in a few words (its info, else Cstate), when the NIM state cross-check is on."""
    hooks: str = ""
    """The hooks that failed for the latest run (their last result), in words, else ''."""

    @property
    def symbol(self) -> str:
        return SYMBOL[self.status]

    @property
    def reboot_word(self) -> str:
        """``ready``, ``wait``, ``do not``, ``check bootlist``, ``reset bootlist`` or ``-``."""
        return REBOOT_WORDS[self.reboot]

    @property
    def label(self) -> str:
        """The client's name, with the run shown (``#2``) when its log holds more than one."""
        return self.client + (f" #{self.run}" if self.runs > 1 else "")

    @property
    def eta_text(self) -> str:
        """``12:05``, ``~1:00:00`` (rough), ``overdue by 4:10`` (never a negative time), ``-``."""
        if self.eta is None:
            return "-"
        if self.eta_overdue > 0:
            return f"overdue by {fmt_duration(self.eta_overdue)}"
        return ("~" if self.eta_rough else "") + fmt_duration(self.eta)

    @property
    def phase_label(self) -> str:
        return f"{self.phase}/12 {self.phase_name}".rstrip()


# --------------------------------------------------------------------------- rows


def weighted_fraction(run: RunState, rules: RuleSet) -> float:
    """How far the run is, by phase weights, with progress inside the current phase when counted."""
    if run.outcome is Outcome.SUCCEEDED and "partial" not in run.variants:
        return 1.0
    weights = [spec.weight for spec in rules.model.phases]
    total = sum(weights) or 1.0
    done = 0.0
    for ps, weight in zip(run.phases, weights):
        if ps.status is PhaseStatus.DONE:
            done += weight
        elif ps.status is PhaseStatus.RUNNING and ps.progress_total and ps.progress_done is not None:
            done += weight * min(1.0, ps.progress_done / ps.progress_total)
    return min(1.0, done / total)


def client_row(
    log: LogState,
    rules: RuleSet,
    now: float,
    *,
    stalled: Optional[bool] = None,
    timed: bool = True,
    estimate: Optional[EstimateFn] = None,
) -> ClientRow:
    """The dashboard row of ``log``'s latest run.

    Args:
        now: the current time (the replay's log time in a replay).
        stalled: whether the run is stalled (None: as the state says, ``RunState.stalled``).
        timed: arrival times are real (False: elapsed and ETA are unknown).
        estimate: the ETA from the run history (:mod:`nimwatch.eta_live`); without it, the
            elapsed time scaled by the weighted progress.
    """
    latest = log.current
    if stalled is None:
        stalled = latest is not None and latest.stalled
    if latest is None:
        return ClientRow(log.log, escape_controls(log.client), 0, 0, "running", 0, "waiting for nimadm output", 0.0,
                         None, None, escape_controls(log.last_text), 0, None)
    verdict = client_verdict(log.runs, stalled=stalled, launch=log.launch_exit)
    run = log.run(verdict.run) if verdict.run else latest
    status = "stalled" if verdict.status == "running" and stalled else verdict.status
    phase = run.failed_phase or run.current_phase or run.last_phase
    if status == "other" or verdict.cleaned_up:
        # the verdict in a few words (the phase column is narrow): "clean-up only", "abandoned, cleaned up"
        phase_name = _short_verdict(verdict.summary)
    else:
        idle = "not started" if status == "running" else "no phase run"
        phase_name = rules.model.phase(phase).name if phase else idle
    fraction = 0.0 if status == "other" else weighted_fraction(run, rules)
    elapsed: Optional[float] = None
    eta: Optional[float] = None
    overdue, rough = 0.0, False
    if timed and run.started_at is not None:
        end = run.finished_at if run.finished_at is not None else now
        elapsed = max(0.0, end - run.started_at)
        if estimate is not None:
            est = estimate(run)
            if est is not None:
                eta, overdue, rough = est.remaining, est.overdue, est.rough
        elif run.outcome is Outcome.RUNNING and fraction >= MIN_ETA_FRACTION:
            eta = elapsed * (1.0 - fraction) / fraction
    worst = run.worst_severity()
    root = root_finding(run)
    return ClientRow(
        log=log.log,
        client=escape_controls(run.client or log.client),
        run=run.index,
        runs=len(log.runs),
        status=status,
        phase=phase,
        phase_name=phase_name,
        fraction=fraction,
        elapsed=elapsed,
        eta=eta,
        last_line=escape_controls(latest.last_text or log.last_text),
        findings=run.notable_findings,
        worst=worst.value if isinstance(worst, Severity) else None,
        verdict=verdict.summary,
        reboot=verdict.reboot.verdict,
        cause=escape_controls(cause_label(root, run, rules)) if root is not None else "",
        cause_severity=root.severity.value if root is not None else None,
        cause_line=root.line if root is not None else None,
        eta_overdue=overdue,
        eta_rough=rough,
        nimadm=_nimadm_words(log, run, verdict.run),
        nim=log.nim.short() if log.nim is not None else "",
        hooks=escape_controls(hook_words(latest)),
    )


def hook_words(run: RunState) -> str:
    """The hooks whose last result for ``run`` is a failure, in words ('' when none failed)."""
    return "; ".join(f"hook {h.hook} failed: {h.words()}" for h in run.failed_hooks)


def _nimadm_words(log: LogState, run: RunState, judged: Optional[int]) -> str:
    """How the nimadm ``nimwatch run`` started ended, in words ('' when nimwatch did not start it)."""
    if judged is None and log.launch_exit is not None:
        return f"{exit_words(log.launch_exit)} before writing to its log"
    if run.nimadm_exit is None:
        return ""
    words = exit_words(run.nimadm_exit)
    if run.exit_settled:
        phase = run.current_phase or run.last_phase
        return words + (f"; the log stops at phase {phase}" if phase else "; the log has no phase")
    return words


def _short_verdict(summary: str) -> str:
    """``clean-up only, nothing migrated`` -> ``clean-up only``; ``incomplete (abandoned), cleaned up — not
    migrated`` -> ``abandoned, cleaned up``."""
    if "(abandoned)" in summary:
        return "abandoned, cleaned up"
    if summary.startswith("migrated, then removed"):
        return "removed by nimadm -C"
    return summary.split(", nothing migrated")[0].split(" — ")[0]


def _sort_key(order: str) -> Callable[[ClientRow], tuple[Any, ...]]:
    """The ascending key of a :data:`SORTS` order (ties: the client name, then the log)."""
    inf = float("inf")
    keys: dict[str, Callable[[ClientRow], Any]] = {
        "status": lambda r: STATUS_RANK[r.status],
        "client": lambda r: (r.client.lower(), r.run),
        "phase": lambda r: (r.phase, r.fraction),
        "nim": lambda r: (not r.nim, r.nim.lower()),
        "progress": lambda r: r.fraction,
        "elapsed": lambda r: r.elapsed if r.elapsed is not None else -inf,
        "eta": lambda r: r.eta if r.eta is not None else inf,
        "findings": lambda r: r.findings,
        "reboot": lambda r: REBOOT_RANK[r.reboot],
        "cause": lambda r: (not r.cause, r.cause.lower()),
        "last": lambda r: r.last_line.lower(),
    }
    key = keys[order]
    return lambda r: (key(r), r.client.lower(), r.run, r.log)


def sort_rows(rows: Iterable[ClientRow], order: str = "status", descending: Optional[bool] = None) -> list[ClientRow]:
    """Rows in a :data:`SORTS` order (``name`` is ``client``).

    ``descending`` None: the column's first direction (biggest first for
    :data:`DESCENDING_FIRST`, else smallest or most urgent first).
    """
    order = SORT_ALIASES.get(order, order)
    if descending is None:
        descending = order in DESCENDING_FIRST
    key = _sort_key(order)
    if not descending:
        return sorted(rows, key=key)
    # the column's values descending, ties still by name (sorting is stable)
    return sorted(sorted(rows, key=lambda r: key(r)[1:]), key=lambda r: key(r)[0], reverse=True)


def filter_rows(rows: Iterable[ClientRow], status: str = "all", text: str = "") -> list[ClientRow]:
    """Rows that pass a :data:`FILTERS` entry and whose client name contains ``text`` (any case)."""

    def passes(row: ClientRow) -> bool:
        if status == "problems":
            return row.status in ("failed", "stalled", "incomplete")
        return row.reboot == "safe" if status == "ready" else status in ("all", row.status)

    return [row for row in rows if passes(row) and text.lower() in row.client.lower()]


def status_counts(rows: Iterable[ClientRow]) -> dict[str, int]:
    counts = Counter(row.status for row in rows)
    return {s: counts[s] for s in STATUSES}


def summary(rows: Sequence[ClientRow]) -> str:
    """``3 clients: 1 running, 0 stalled, 1 failed, 0 incomplete, 1 succeeded`` (``N other`` only when there are)."""
    counts = status_counts(rows)
    noun = "client" if len(rows) == 1 else "clients"
    return f"{len(rows)} {noun}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n or s != "other")


# --------------------------------------------------------------------------- formatting


def fmt_duration(seconds: Optional[float]) -> str:
    """``1:02:03`` or ``12:05``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def bar(fraction: float, width: int = 10, *, ascii_only: bool = False) -> str:
    """A text progress bar of ``width`` cells (no brackets, no percentage)."""
    fraction = min(1.0, max(0.0, fraction))
    full = int(fraction * width + 1e-9)
    if ascii_only:
        return "#" * full + "-" * (width - full)
    return "█" * full + "░" * (width - full)


def percent(fraction: float) -> str:
    return f"{int(fraction * 100 + 1e-9):3d}%"
