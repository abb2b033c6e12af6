"""The events the parser emits and the enumerations they use.

Events are frozen dataclasses: values that tests build by hand and compare.
``run`` is the index of the run inside one log file (a re-run appended to the
same file is run 1, 2, ...). ``line`` is the 1-based physical line number.
Arrival times are not part of an event: sources stamp them when they apply an
event to the state (the log itself carries no timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Union


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


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
    kind: str = "finding"


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
    kind: str = "run_finished"


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


Event = Union[RunStarted, PhaseStarted, PhaseFinished, Finding, Fact, Progress, RunFinished, LinesRead, BadLine]
