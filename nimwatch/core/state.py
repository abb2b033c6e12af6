"""Per-log, per-run state built from parser events (the reducer), and the fleet's alert sinks.

Owns :class:`LogState` (one log file: its runs) and :class:`RunState` (one
nimadm run: phases, facts, progress, findings, outcome, the last result of
each hook), and :class:`FleetState` (what is about no one log: the alert
sinks' delivery trouble). ``LogState.apply`` and ``FleetState.apply`` are
the reducer, the one writer of this state: they take one event and an optional arrival time (seconds,
given by the source; the core never reads a clock) and updates the state.
Memory stays flat on any log (:mod:`nimwatch.core.limits`): a run keeps its
first :data:`MAX_FINDINGS` findings (the counts stay exact), a log its first
and latest runs (:data:`~nimwatch.core.limits.MAX_RUNS`; the others are counted
in ``runs_dropped``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

from nimwatch.core import outside
from nimwatch.core.events import (
    BadLine,
    Event,
    Fact,
    Finding,
    FindingDetail,
    HookRan,
    InstallpResult,
    LaunchExited,
    LinesRead,
    NimStateRead,
    Outcome,
    PhaseFinished,
    PhaseStarted,
    PhaseStatus,
    Progress,
    RunFinished,
    RunSilent,
    RunStarted,
    Severity,
    SinkFailed,
    SinkRecovered,
    StallCleared,
    Stalled,
)
from nimwatch.core.limits import FIRST_RUNS_KEPT, MAX_FINDINGS, MAX_RUNS


@dataclass
class PhaseState:
    number: int
    status: PhaseStatus = PhaseStatus.NOT_RUN
    inferred: bool = False
    """Done before the log started (a log that begins mid-run)."""
    start_line: Optional[int] = None
    end_line: Optional[int] = None
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    progress_done: Optional[int] = None
    progress_total: Optional[int] = None
    progress_unit: str = ""

    @property
    def duration(self) -> Optional[float]:
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.started_at)


@dataclass(frozen=True)
class HookOutcome:
    """The last result of one hook in a run (from :class:`~nimwatch.core.events.HookRan`)."""

    hook: str
    trigger: str
    exit_status: Optional[int]
    timed_out: bool
    error: Optional[str]
    attempt: int
    will_retry: bool
    at: Optional[float]
    failed: bool

    def words(self) -> str:
        """What happened, in a few words: ``exit status 3 (attempt 2, retrying)``."""
        if self.timed_out:
            what = "timed out"
        elif self.error:
            what = self.error
        else:
            what = f"exit status {self.exit_status}" if self.exit_status is not None else "ran"
        return what + f" (attempt {self.attempt}" + (", retrying)" if self.will_retry else ")")


@dataclass
class RunState:
    index: int
    client: str
    start_line: int
    mid_run: bool = False
    phases: list[PhaseState] = field(default_factory=lambda: [PhaseState(n) for n in range(1, 13)])
    current_phase: int = 0
    outcome: Outcome = Outcome.RUNNING
    failed_phase: Optional[int] = None
    finish_reason: str = ""
    open_end: bool = False
    """The log simply ended in this run: it may still be going (or was stopped)."""
    end_line: Optional[int] = None
    facts: dict[str, str] = field(default_factory=dict)
    variants: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    finding_counts: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in Severity})
    benign_count: int = 0
    """Findings that are routine lines (all info): views fold them and leave them out of counts."""
    script_output: dict[int, list[str]] = field(default_factory=dict)
    installp: Optional[InstallpResult] = None
    """What installp did in this run (all its invocations), once installp ran."""
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    last_line_at: Optional[float] = None
    last_line: int = 0
    last_text: str = ""
    nimadm_exit: Optional[LaunchExited] = None
    """How the nimadm that wrote this run ended, when ``nimwatch run`` started it (its run record)."""
    exit_settled: bool = False
    """The outcome comes from nimadm's exit status: the log alone left it open (:mod:`nimwatch.core.outside`)."""
    stall_reported: bool = False
    """A ``stalled`` verdict stands (no line came since): see :attr:`stalled` for views."""
    quiet_since: Optional[float] = None
    """Arrival time of the last line before a stall or silence was declared (None: none declared)."""
    stall_evidence: str = ""
    """What decided the stall that stands (``log``, ``nim_info``)."""
    stall_info_since: Optional[float] = None
    """With ``nim_info``: NIM's info value was this old when the stall was declared."""
    hooks: dict[str, HookOutcome] = field(default_factory=dict)
    """The last result of each hook run for this run's events, by hook name."""

    @property
    def failed_hooks(self) -> list[HookOutcome]:
        """Hooks whose last result for this run is a failure (a timeout, an error, a non-zero exit)."""
        return [h for _, h in sorted(self.hooks.items()) if h.failed]

    def phase(self, number: int) -> PhaseState:
        return self.phases[number - 1]

    @property
    def last_phase(self) -> int:
        """The highest phase that started (0 before phase 1)."""
        return max((p.number for p in self.phases if p.status is not PhaseStatus.NOT_RUN), default=0)

    @property
    def target_disks(self) -> list[str]:
        return self.facts.get("target_disks", "").split()

    @property
    def boot_disk(self) -> Optional[str]:
        return self.facts.get("boot_disk")

    @property
    def is_finished(self) -> bool:
        return self.outcome is not Outcome.RUNNING

    @property
    def stalled(self) -> bool:
        """Running, and its phase declared stalled with no line since: the one answer every view asks."""
        return self.stall_reported and self.outcome is Outcome.RUNNING

    @property
    def silenced(self) -> bool:
        """Declared incomplete by silence (not by the log): lines that come again bring it back to running."""
        return self.outcome is Outcome.INCOMPLETE and self.end_line is None

    def worst_severity(self) -> Optional[Severity]:
        """The worst severity among the findings that are not routine (benign) lines."""
        for sev in (Severity.ERROR, Severity.WARNING, Severity.INFO):
            count = self.finding_counts.get(sev.value, 0) - (self.benign_count if sev is Severity.INFO else 0)
            if count > 0:
                return sev
        return None

    @property
    def notable_findings(self) -> int:
        """Findings that are not routine (benign) lines."""
        return sum(self.finding_counts.values()) - self.benign_count


@dataclass
class LogState:
    """Everything known about one log file."""

    log: str
    client: str
    runs: list[RunState] = field(default_factory=list)
    lines: int = 0
    last_text: str = ""
    bad_lines: list[BadLine] = field(default_factory=list)
    runs_dropped: int = 0
    """Runs of the log not kept (past :data:`~nimwatch.core.limits.MAX_RUNS`: the oldest after the first ones)."""
    launch_exit: Optional[LaunchExited] = None
    """A nimadm started by ``nimwatch run`` that ended without writing a run into this log."""
    nim: Optional[outside.NimView] = None
    """The client's NIM state as last read (when the NIM state cross-check is on)."""

    @property
    def current(self) -> Optional[RunState]:
        return self.runs[-1] if self.runs else None

    def run(self, index: int) -> RunState:
        """Run ``index`` (1, 2, ...); IndexError when the log has no such run kept."""
        found = self.find_run(index)
        if found is None:
            raise IndexError(f"run {index} is not kept")
        return found

    def find_run(self, index: int) -> Optional[RunState]:
        """Run ``index``, or None when there is none (or it was not kept)."""
        runs = self.runs
        if not runs:
            return None
        # the runs kept are a head and a tail, each of consecutive indexes
        for pos in (len(runs) - 1 - (runs[-1].index - index), index - runs[0].index):
            if 0 <= pos < len(runs) and runs[pos].index == index:
                return runs[pos]
        return None

    def apply(self, event: Event, at: Optional[float] = None) -> None:
        """Reduce one event into the state; ``at`` is its arrival time when known."""
        if isinstance(event, LinesRead):
            self.lines = event.line
            self.last_text = event.last_text or self.last_text
            kept = self.find_run(event.run) if event.run is not None else None
            if kept is not None:
                kept.last_line = event.line
                kept.last_text = event.last_text or kept.last_text
                if at is not None:
                    kept.last_line_at = at
        elif isinstance(event, LaunchExited):
            outside.settle(self, event, at)
        elif isinstance(event, NimStateRead):
            outside.read_nim(self, event, at)
        elif isinstance(event, HookRan):
            hooked = self.find_run(event.run) if event.run is not None else None
            if hooked is not None:  # a run not kept: the notice still says it
                hooked.hooks[event.hook] = HookOutcome(
                    event.hook, event.trigger, event.exit_status, event.timed_out, event.error,
                    event.attempt, event.will_retry, at, event.failed,
                )  # fmt: skip
        elif isinstance(event, BadLine):
            if len(self.bad_lines) < 100:
                self.bad_lines.append(event)
        elif isinstance(event, (Stalled, RunSilent, StallCleared)):
            self._quiet(self.run(event.run), event, at)
        elif isinstance(event, RunStarted):
            if len(self.runs) >= MAX_RUNS:
                del self.runs[FIRST_RUNS_KEPT]
                self.runs_dropped += 1
            client = event.client or self.client
            self.runs.append(RunState(event.run, client, event.line, event.mid_run, started_at=at, last_line_at=at))
        elif not isinstance(event, (SinkFailed, SinkRecovered)):  # (those are about no log: FleetState)
            run = self.find_run(event.run)
            if run is not None:  # (else a run not kept)
                self._apply_to_run(run, event, at)

    def _apply_to_run(self, run: RunState, event: Event, at: Optional[float]) -> None:
        """Reduce an event of the parser about one run kept."""
        if at is not None:
            run.last_line_at = at
        if isinstance(event, PhaseStarted):
            ps = run.phase(event.phase)
            if run.mid_run and run.current_phase == 0 and run.last_phase == 0:
                for earlier in run.phases[: event.phase - 1]:
                    earlier.status = PhaseStatus.DONE
                    earlier.inferred = True
            ps.status = PhaseStatus.RUNNING
            ps.start_line = event.line
            ps.started_at = at
            run.current_phase = event.phase
        elif isinstance(event, PhaseFinished):
            ps = run.phase(event.phase)
            ps.status = event.status
            ps.end_line = event.line
            ps.finished_at = at
            if event.status is PhaseStatus.DONE and ps.progress_total and ps.progress_done is not None:
                ps.progress_done = ps.progress_total
        elif isinstance(event, Finding):
            run.finding_counts[event.severity.value] = run.finding_counts.get(event.severity.value, 0) + 1
            run.benign_count += event.benign
            if len(run.findings) < MAX_FINDINGS:
                run.findings.append(event)
        elif isinstance(event, FindingDetail):
            self._detail(run, event)
        elif isinstance(event, InstallpResult):
            run.installp = event
        elif isinstance(event, Fact):
            self._fact(run, event)
        elif isinstance(event, Progress):
            ps = run.phase(event.phase)
            ps.progress_done = event.done
            ps.progress_total = event.total
            ps.progress_unit = event.unit
        elif isinstance(event, RunFinished):
            run.outcome = event.outcome
            run.failed_phase = event.failed_phase
            run.finish_reason = event.reason
            run.open_end = event.open_end
            run.end_line = event.line
            run.finished_at = at
            run.exit_settled = False
            if event.open_end and run.nimadm_exit is not None:
                outside.settle(self, run.nimadm_exit, at)  # the log just ends: the exit status still settles it

    @staticmethod
    def _quiet(run: RunState, event: Stalled | RunSilent | StallCleared, at: Optional[float]) -> None:
        """The stall monitor's verdicts: stalled, silent (ends incomplete), or running on."""
        if isinstance(event, StallCleared):
            run.stall_reported = False
            run.stall_evidence, run.stall_info_since = "", None
            # with evidence, NIM's info moved on: the log may still be silent (lines end that)
            if not (event.evidence and run.silenced):
                run.quiet_since = None
            if run.silenced and not event.evidence:
                run.outcome = Outcome.RUNNING
                run.finish_reason = ""
                run.finished_at = None
            return
        if run.quiet_since is None:
            run.quiet_since = run.last_line_at
        if isinstance(event, Stalled):
            run.stall_reported = True
            run.stall_evidence, run.stall_info_since = event.evidence, event.info_since
        else:
            run.outcome = Outcome.INCOMPLETE
            run.finish_reason = event.reason
            run.finished_at = at

    @staticmethod
    def _detail(run: RunState, event: FindingDetail) -> None:
        """The lines after a finding: its whole message, its context after, maybe a new severity."""
        for i in range(len(run.findings) - 1, -1, -1):
            found = run.findings[i]
            if found.line == event.line and found.rule == event.rule and event.text.startswith(found.text):
                severity = event.severity or found.severity
                if severity is not found.severity:
                    run.finding_counts[found.severity.value] -= 1
                    run.finding_counts[severity.value] = run.finding_counts.get(severity.value, 0) + 1
                run.findings[i] = replace(found, text=event.text, context_after=event.context_after, severity=severity)
                return
            if found.line < event.line:
                return

    def _fact(self, run: RunState, event: Fact) -> None:
        name = event.name
        if name == "variant":
            if event.value not in run.variants:
                run.variants.append(event.value)
        elif name.startswith("script_output_phase"):
            run.script_output.setdefault(int(name.rsplit("phase", 1)[1]), []).append(event.value)
        else:
            run.facts[name] = event.value
            if name == "client" and not run.client:
                run.client = event.value
                self.client = self.client or event.value


@dataclass(frozen=True)
class SinkState:
    """One alert sink's delivery, as its worker last reported it."""

    name: str
    type: str
    failing_since: Optional[float] = None
    """When its current failure began (None: delivering)."""
    pending: int = 0
    attempts: int = 0
    """Failed tries in a row of the alert at the head of its queue."""
    last_error: str = ""
    next_try: Optional[float] = None
    rejected: int = 0
    """Alerts the receiver refused for good (dropped) since nimwatch started."""

    @property
    def failing(self) -> bool:
        return self.failing_since is not None


@dataclass
class FleetState:
    """What is about no one log: the alert sinks that are failing (by sink name)."""

    sinks: dict[str, SinkState] = field(default_factory=dict)

    @property
    def failing(self) -> list[SinkState]:
        return [s for _, s in sorted(self.sinks.items()) if s.failing]

    def apply(self, event: Event, at: Optional[float] = None) -> None:
        """Reduce a sink's report: failing (since the first failure), a rejected alert, or delivering again."""
        if not isinstance(event, (SinkFailed, SinkRecovered)):
            return
        old = self.sinks.get(event.sink) or SinkState(event.sink, event.type)
        if isinstance(event, SinkRecovered):
            self.sinks[event.sink] = SinkState(event.sink, event.type, pending=event.pending, rejected=old.rejected)
        elif event.rejected:
            rejected = old.rejected + 1
            self.sinks[event.sink] = replace(old, pending=event.pending, last_error=event.error, rejected=rejected)
        else:
            since = old.failing_since if old.failing_since is not None else (at or 0.0)
            self.sinks[event.sink] = replace(
                old, failing_since=since, pending=event.pending, attempts=event.attempts, last_error=event.error,
                next_try=event.next_try,
            )  # fmt: skip
