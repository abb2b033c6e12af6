"""The dashboard's rows: one per client, as data and as a plain-text table.

Owns :class:`ClientRow` (what the TUI dashboard and ``nimwatch status`` show
for a client: phase, weighted progress, elapsed time, ETA, status, last line,
findings), the status vocabulary with its symbols (readable without colour),
sorting, filtering, the summary line, :class:`StallTracker` (which runs the
stall notices say are stalled) and :func:`render_table`, the plain table of
``nimwatch status``. Must not import Textual: it is the fallback for terminals
where Textual cannot draw.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from nimwatch.core.events import Outcome, PhaseStatus, Severity
from nimwatch.core.outside import exit_words
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState, RunState
from nimwatch.core.verdict import client_verdict
from nimwatch.engine import Notice
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
ANSI_COLOUR = {
    "running": "36",
    "succeeded": "32",
    "failed": "1;31",
    "stalled": "1;33",
    "incomplete": "35",
    "other": "0",
}
"""SGR colour codes of the plain table (the 16 basic colours)."""
FILTERS = ("all", "problems", *STATUSES)
"""Status filters, in the order the TUI cycles through them; problems = failed, stalled, incomplete."""
SORTS = ("status", "name", "progress", "elapsed")
"""Sort orders, in the order the TUI cycles through them."""
MIN_ETA_FRACTION = 0.02
"""Below this much progress an ETA would be a guess: none is shown."""


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
    eta_overdue: float = 0.0
    """Seconds the current phase runs past its history's p90 (0: not overdue)."""
    eta_rough: bool = False
    """The ETA rests on no history and no timed phase of this run: a nominal run length."""
    nimadm: str = ""
    """How nimadm ended, when ``nimwatch run`` started it (its exit status or signal), else ''."""
    nim: str = ""
    """The client's NIM state in a few words (its info, else Cstate), when the NIM state cross-check is on."""

    @property
    def symbol(self) -> str:
        return SYMBOL[self.status]

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


# --------------------------------------------------------------------------- stalls


class StallTracker:
    """Which runs are stalled now, from the ``stalled`` / ``stall_cleared`` notices.

    Subscribe :meth:`on_notice` to the engine; safe to call from any thread.
    """

    def __init__(self) -> None:
        self._stalled: set[tuple[str, Optional[int]]] = set()
        self._lock = threading.Lock()

    def on_notice(self, notice: Notice) -> None:
        key = (notice.log, notice.run)
        with self._lock:
            if notice.event == "stalled":
                self._stalled.add(key)
            elif notice.event in ("stall_cleared", "run_finished", "lines", "phase_started"):
                self._stalled.discard(key)
            elif notice.event == "log_reset":
                self._stalled = {k for k in self._stalled if k[0] != notice.log}

    def is_stalled(self, log: str, run: Optional[int]) -> bool:
        with self._lock:
            return (log, run) in self._stalled


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
    stalled: bool = False,
    timed: bool = True,
    estimate: Optional[EstimateFn] = None,
) -> ClientRow:
    """The dashboard row of ``log``'s latest run.

    Args:
        now: the current time (the replay's log time in a replay).
        stalled: the stall monitor says this run is stalled.
        timed: arrival times are real (False: elapsed and ETA are unknown).
        estimate: the ETA from the run history (:mod:`nimwatch.eta_live`); without it, the
            elapsed time scaled by the weighted progress.
    """
    latest = log.current
    if latest is None:
        return ClientRow(log.log, log.client, 0, 0, "running", 0, "waiting for nimadm output", 0.0,
                         None, None, log.last_text, 0, None)
    verdict = client_verdict(log.runs, stalled=stalled, launch=log.launch_exit)
    run = log.run(verdict.run) if verdict.run else latest
    status = verdict.status
    if status == "running" and stalled:
        status = "stalled"
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
    return ClientRow(
        log=log.log,
        client=run.client or log.client,
        run=run.index,
        runs=len(log.runs),
        status=status,
        phase=phase,
        phase_name=phase_name,
        fraction=fraction,
        elapsed=elapsed,
        eta=eta,
        last_line=latest.last_text or log.last_text,
        findings=run.notable_findings,
        worst=worst.value if isinstance(worst, Severity) else None,
        verdict=verdict.summary,
        eta_overdue=overdue,
        eta_rough=rough,
        nimadm=_nimadm_words(log, run, verdict.run),
        nim=log.nim.short() if log.nim is not None else "",
    )


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


def sort_rows(rows: Iterable[ClientRow], order: str = "status") -> list[ClientRow]:
    """Rows in a :data:`SORTS` order; ties fall back to the client name."""
    if order == "name":
        return sorted(rows, key=lambda r: (r.client, r.log))
    if order == "progress":
        return sorted(rows, key=lambda r: (-r.fraction, r.client, r.log))
    if order == "elapsed":
        return sorted(rows, key=lambda r: (-(r.elapsed or 0.0), r.client, r.log))
    return sorted(rows, key=lambda r: (STATUS_RANK[r.status], r.client, r.log))


def filter_rows(rows: Iterable[ClientRow], status: str = "all", text: str = "") -> list[ClientRow]:
    """Rows whose status passes a :data:`FILTERS` entry and whose client name contains ``text``."""
    needle = text.lower()
    out = []
    for row in rows:
        if status == "problems" and row.status not in ("failed", "stalled", "incomplete"):
            continue
        if status not in ("all", "problems") and row.status != status:
            continue
        if needle and needle not in row.client.lower():
            continue
        out.append(row)
    return out


def status_counts(rows: Iterable[ClientRow]) -> dict[str, int]:
    counts = {s: 0 for s in STATUSES}
    for row in rows:
        counts[row.status] += 1
    return counts


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
    total = round(seconds)
    hours, rest = divmod(total, 3600)
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


def _fit(text: str, width: int) -> str:
    text = escape_controls(text)  # a log line or client name never reaches the terminal raw
    if width <= 0:
        return ""
    if len(text) <= width:
        return text.ljust(width)
    if width == 1:
        return text[:1]
    return text[: width - 1] + "~"


def render_table(rows: Sequence[ClientRow], width: int = 100, *, colour: bool = False, ascii_only: bool = False) -> str:
    """The plain dashboard: a header, one line per row, and the summary line.

    Every line fits in ``width`` columns: the last line text goes first, then
    the ETA, the elapsed time and the findings, and the phase name is cut.
    Status reads without colour: a symbol and the word.
    """
    symbols = ASCII_SYMBOL if ascii_only else SYMBOL
    client_w = max([6, *(len(r.client) + (2 + len(str(r.run)) if r.runs > 1 else 0) for r in rows)])
    nim_w = min(48, max([0, *(len(r.nim) for r in rows)]))
    widths = {
        "status": 12,
        "client": min(client_w, 24),
        "phase": 30,
        "nim": max(nim_w, 9) if nim_w else 0,
        "progress": 15,
        "elapsed": 8,
        "eta": max([8, *(len(r.eta_text) for r in rows)]),
        "find": 5,
        "last": 0,
    }
    optional = ["last", "eta", "elapsed", "find", "nim"]
    columns = [c for c in widths if c != "nim" or nim_w]

    def used() -> int:
        return sum(widths[c] for c in columns if c != "last") + len(columns) - 1

    while used() + (13 if "last" in columns else 0) > width and optional:
        if widths["phase"] > 16:
            widths["phase"] = max(16, widths["phase"] - (used() - width) - (13 if "last" in columns else 0))
            continue
        gone = optional.pop(0)
        if gone in columns:
            columns.remove(gone)
    if "last" in columns:
        widths["last"] = width - used()
    if used() > width:
        widths["phase"] = max(8, widths["phase"] - (used() - width))
    headers = {
        "status": "STATUS",
        "client": "CLIENT",
        "phase": "PHASE",
        "nim": "NIM STATE",
        "progress": "PROGRESS",
        "elapsed": "ELAPSED",
        "eta": "ETA",
        "find": "FIND",
        "last": "LAST LINE",
    }
    right = {"elapsed", "eta", "find"}

    def cell(name: str, text: str) -> str:
        if name in right and len(text) <= widths[name]:
            return text.rjust(widths[name])
        return _fit(text, widths[name])

    lines = [" ".join(cell(c, headers[c]) for c in columns).rstrip()]
    for row in rows:
        values = {
            "status": f"{symbols[row.status]} {row.status}",
            "client": row.client + (f" #{row.run}" if row.runs > 1 else ""),
            "phase": row.phase_label.replace("—", "-") if ascii_only else row.phase_label,
            "nim": row.nim or "-",
            "progress": f"{bar(row.fraction, 10, ascii_only=ascii_only)} {percent(row.fraction)}",
            "elapsed": fmt_duration(row.elapsed),
            "eta": row.eta_text,
            "find": str(row.findings),
            "last": row.last_line,
        }
        cells = [cell(c, values[c].strip() if c in right else values[c]) for c in columns]
        if colour:
            cells[0] = f"\x1b[{ANSI_COLOUR[row.status]}m{cells[0]}\x1b[0m"
        lines.append(" ".join(cells).rstrip())
    text = summary(rows)
    if len(text) > width:
        counts = status_counts(rows)
        text = f"{len(rows)} clients: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    lines.append(text[:width])
    for row in rows:  # how nimadm ended, for the runs nimwatch run started: under the table, whole
        if row.nimadm:
            lines.append(f"{row.client}: {row.nimadm}")
    return "\n".join(lines) + "\n"
