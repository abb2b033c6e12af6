"""The events the parser emits and the enumerations they use.

Events are frozen dataclasses: values that tests build by hand and compare.
``run`` is the index of the run inside one log file (a re-run appended to the
same file is run 1, 2, ...). ``line`` is the 1-based physical line number.
Arrival times are not part of an event: sources stamp them when they apply an
event to the state (the log itself carries no timestamps).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional, Union


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class PhaseStatus(str, Enum):
    NOT_RUN = "not_run"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Outcome(str, Enum):
    RUNNING = "running"
    """Only in live state: the run has not finished yet."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class RunStarted:
    run: int
    line: int
    client: str
    mid_run: bool = False
    """True when the log starts inside a run (no preamble or phase 1 seen)."""
    kind: str = "run_started"


@dataclass(frozen=True)
class PhaseStarted:
    run: int
    phase: int
    line: int
    kind: str = "phase_started"


@dataclass(frozen=True)
class PhaseFinished:
    run: int
    phase: int
    line: int
    status: PhaseStatus
    kind: str = "phase_finished"


@dataclass(frozen=True)
class Finding:
    run: int
    phase: int
    line: int
    rule: str
    code: Optional[str]
    severity: Severity
    fails_run: bool
    text: str
    title: str
    explanation: str
    advice: str
    context: tuple[str, ...] = ()
    """The lines before it."""
    context_after: tuple[str, ...] = ()
    """The lines after the message (filled in by a later :class:`FindingDetail`)."""
    benign: bool = False
    """A routine line of a healthy run (catalog ``benign: true``): info, folded in reports, never alerted by default."""
    fills: tuple[tuple[str, str], ...] = ()
    """Values the line itself gives for the advice's placeholders (named groups of the signature), e.g. fileset."""
    kind: str = "finding"


@dataclass(frozen=True)
class FindingDetail:
    """What the lines after a finding add to it, once they have been read (a bounded look-ahead).

    ``text`` is the finding's line joined with its continuation lines (AIX
    indents the rest of a long message); ``context_after`` the lines that
    follow the message. ``severity`` is set when the lines after it change
    the judgement (an unknown message number inside an installp transcript
    followed by a failure), else None. The reducer merges it into the finding
    of the same run and line.
    """

    run: int
    line: int
    rule: str
    text: str
    context_after: tuple[str, ...]
    severity: Optional[Severity] = None
    kind: str = "finding_detail"


@dataclass(frozen=True)
class InstallpResult:
    """What installp did in a run so far, over all its invocations (phase 6 runs installp several times).

    A snapshot: each one replaces the previous. Names are fileset names, in the
    order first seen. ``filesets_ok`` counts distinct filesets whose
    Installation Summary rows are all SUCCESS (a CLEANUP row is never good news).
    """

    run: int
    phase: int
    line: int
    invocations: int
    filesets_ok: int
    failed: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    requisite_failures: tuple[str, ...] = ()
    missing_requisites: tuple[str, ...] = ()
    verification_failures: tuple[str, ...] = ()
    failed_verification: int = 0
    """Filesets the FILESET STATISTICS say FAILED pre-installation verification (named or not)."""
    already_installed: int = 0
    total: Optional[int] = None
    """The largest "Total to be installed" of one invocation: the size of the main installp run."""
    builddate_failure: bool = False
    bosboot_failure: bool = False
    kind: str = "installp"

    @property
    def failing(self) -> bool:
        """Whether some software was not (correctly) installed."""
        return bool(
            self.failed
            or self.cancelled
            or self.requisite_failures
            or self.missing_requisites
            or self.verification_failures
            or self.failed_verification
            or self.builddate_failure
            or self.bosboot_failure
        )


@dataclass(frozen=True)
class Fact:
    """Something the log told about the run: disks, levels, cache VG, mode, boot disk."""

    run: int
    name: str
    value: str
    line: int
    kind: str = "fact"


@dataclass(frozen=True)
class Progress:
    """Progress inside a long phase, where the log shows counts."""

    run: int
    phase: int
    done: int
    total: Optional[int]
    unit: str
    line: int
    kind: str = "progress"


@dataclass(frozen=True)
class RunFinished:
    run: int
    line: int
    outcome: Outcome
    failed_phase: Optional[int] = None
    reason: str = ""
    open_end: bool = False
    """The log simply ended here: the run may still be going (or was stopped); nothing says it finished."""
    kind: str = "run_finished"


@dataclass(frozen=True)
class LaunchExited:
    """How the nimadm that ``nimwatch run`` started ended (its run record): fed by a source, never by the parser.

    ``first_line`` is where that nimadm's output begins in the log as it is
    now (the lines before were there when it started; 1 when the log was
    created or replaced after the start): its run is the first that begins at
    or after it. None when the record does not say (then the log's latest
    run). The reducer settles that run's outcome where the log leaves it open
    (:mod:`nimwatch.core.exits`).
    """

    first_line: Optional[int]
    exit_code: Optional[int]
    signal: Optional[int]
    pid: Optional[int] = None
    record: str = ""
    """The run record's path."""
    output: str = ""
    """Where nimadm's stdout and stderr went."""
    started: Optional[float] = None
    ended: Optional[float] = None
    kind: str = "launch_exited"


@dataclass(frozen=True)
class NimStateRead:
    """The client's NIM object as ``lsnim -Z -a Cstate -a info -a Cstate_result`` showed it (a source's reading).

    ``error`` is set (and the three values empty) when the state could not be read.
    """

    cstate: str
    info: str
    result: str
    error: str = ""
    kind: str = "nim_state"


@dataclass(frozen=True)
class Stalled:
    """The running ``phase`` got no new line for longer than its threshold: the stall monitor's verdict.

    Not from the parser: the log has no timestamps, so a stall is about arrival
    times, and the monitor that keeps the clock says when (the arrival time
    the reducer is given with it).
    """

    run: int
    phase: int
    silent_minutes: float
    threshold_minutes: float
    evidence: str = "log"
    """What decided it: ``log`` (the log's silence) or ``nim_info`` (NIM's info unchanged as long as the log)."""
    nim_cstate: str = ""
    nim_info: str = ""
    info_unchanged_minutes: Optional[float] = None
    info_since: Optional[float] = None
    """With ``nim_info``: since when NIM's info had its value (a change of it clears the stall)."""
    kind: str = "stalled"


@dataclass(frozen=True)
class RunSilent:
    """A running run got no new line for ``incomplete_after_minutes``: it ends as incomplete (the monitor's verdict).

    Lines that come again bring it back to running (:class:`StallCleared`).
    """

    run: int
    silent_minutes: float
    reason: str
    kind: str = "run_silent"


@dataclass(frozen=True)
class StallCleared:
    """Lines came again for a run that was stalled or declared silent: it runs on.

    With ``evidence`` ``nim_info``: NIM's info moved on, which ends only the stall it decided.
    """

    run: int
    stalled_minutes: float
    """From the last line before the silence to what ended it."""
    evidence: str = ""
    nim_info: str = ""
    kind: str = "stall_cleared"


@dataclass(frozen=True)
class LinesRead:
    """Emitted once per fed block: how far the log has been read and its last meaningful line.

    Not a semantic event: chunking decides how many there are, so comparisons of
    event streams leave it out.
    """

    run: Optional[int]
    line: int
    last_text: str = field(default="")
    kind: str = "lines_read"


@dataclass(frozen=True)
class BadLine:
    """A line the parser could not use as it is (over-long, cut): reported, never fatal."""

    line: int
    reason: str
    kind: str = "bad_line"


@dataclass(frozen=True)
class HookRan:
    """A hook ran (or was not run) for an event of this log: the hook manager's report, kept per run.

    ``trigger`` is the event's kind and ``trigger_fields`` its keys (the ``hook_result`` notice
    repeats them); ``exit_status`` is None when nothing ran (``error`` then says why), negative N
    when signal N ended it.
    """

    run: Optional[int]
    phase: Optional[int]
    client: str
    hook: str
    trigger: str
    on: str
    exit_status: Optional[int]
    timed_out: bool = False
    error: Optional[str] = None
    skipped: bool = False
    attempt: int = 1
    will_retry: bool = False
    argv: tuple[str, ...] = ()
    duration: float = 0.0
    output_tail: str = ""
    trigger_fields: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "hook_ran"

    @property
    def failed(self) -> bool:
        return bool(self.error or self.timed_out or self.exit_status not in (0, None))


@dataclass(frozen=True)
class SinkFailed:
    """An alert sink could not deliver (``rejected``: the receiver refused one alert for good): the dispatcher's report.

    ``log`` and ``client`` are the alert's; ``next_try`` is when the sink tries again (None: rejected).
    """

    sink: str
    type: str
    error: str
    pending: int
    attempts: int
    next_try: Optional[float] = None
    rejected: bool = False
    alert: str = ""
    alert_event: str = ""
    log: str = ""
    client: str = ""
    kind: str = "sink_failed"


@dataclass(frozen=True)
class SinkRecovered:
    """An alert sink that was failing delivered again (``pending``: alerts still spooled for it)."""

    sink: str
    type: str
    pending: int
    kind: str = "sink_recovered"


Event = Union[
    RunStarted,
    PhaseStarted,
    PhaseFinished,
    Finding,
    FindingDetail,
    InstallpResult,
    Fact,
    Progress,
    RunFinished,
    LinesRead,
    BadLine,
    LaunchExited,
    NimStateRead,
    Stalled,
    RunSilent,
    StallCleared,
    HookRan,
    SinkFailed,
    SinkRecovered,
]
