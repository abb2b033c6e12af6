"""The rule model: nimadm's phases, variants, facts, the failure catalog and the engine's own findings.

Owns the frozen dataclasses the parser runs on (:class:`RuleSet`,
:class:`PhaseModel`, :class:`Signature` and their parts). They are built from
parsed YAML by :mod:`nimwatch.core.phasebuild` and
:mod:`nimwatch.core.catalogbuild`; callers import all of it from
:mod:`nimwatch.core.rules`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from nimwatch.core.events import Severity

if TYPE_CHECKING:  # (core.anchors depends on the scanner, which depends on this module)
    from nimwatch.core.anchors import AnchorData


@dataclass(frozen=True)
class Counter:
    """Progress inside a phase: a count of lines, a "done of total" ratio, or a total."""

    name: str
    pattern: re.Pattern[str]
    unit: str
    kind: str = "count"  # count | ratio | total
    total: Optional[int] = None
    total_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhaseSpec:
    number: int
    name: str
    runs_on: str
    summary: str
    weight: float
    stall_minutes: float
    markers: tuple[re.Pattern[str], ...]
    counters: tuple[Counter, ...]
    variants: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FactSpec:
    name: str
    pattern: re.Pattern[str]
    first_wins: bool = False
    phases: frozenset[int] = frozenset()
    """Phases where the fact is printed (0 = before phase 1); empty = any."""


@dataclass(frozen=True)
class VariantSpec:
    id: str
    name: str
    flags: str
    summary: str
    detect: tuple[re.Pattern[str], ...]
    source: str


@dataclass(frozen=True)
class LineSpec:
    """The structural lines of a nimadm log."""

    banner: re.Pattern[str]
    run_start: tuple[re.Pattern[str], ...]
    cleanup_master: re.Pattern[str]
    cleanup_client: re.Pattern[str]
    message_code: re.Pattern[str]
    no_script: re.Pattern[str]
    script_start: re.Pattern[str]
    script_end: re.Pattern[str]
    review: re.Pattern[str]
    line_starts: tuple[re.Pattern[str], ...] = ()
    """Lines that only mark where a line begins (to split pasted logs)."""


@dataclass(frozen=True)
class Cause:
    """Advice that replaces a signature's own when a finding of one of ``rules`` came first in the phase."""

    rules: frozenset[str]
    advice: str


@dataclass(frozen=True)
class Signature:
    """One entry of the failure catalog."""

    id: str
    title: str
    pattern: re.Pattern[str]
    trigger: Optional[str]
    code: Optional[str]
    phases: frozenset[int]
    severity: Severity
    fails_run: bool
    explanation: str
    advice: str
    source: str
    examples: tuple[str, ...] = ()
    near_misses: tuple[str, ...] = ()
    origin: str = ""
    benign: bool = False
    """A routine line of a healthy run: always info, folded in reports, never alerted or hooked by default."""
    soften_in_installp: bool = False
    """Inside an installp transcript the finding is info unless its text or the lines around it say it failed."""
    causes: tuple[Cause, ...] = ()
    """When a finding of one of these rules precedes this one in the same phase, its advice comes first."""
    short: str = ""
    """A few words for a table column (the dashboard's Cause), placeholders allowed; "" = the title."""

    def applies_in(self, phase: int) -> bool:
        return not self.phases or phase in self.phases


UNKNOWN_CODE = "unknown-message-code"
"""A message number the catalog does not know."""
ABORTED = "nimadm-aborted"
"""nimadm cleaned up before phase 12: the run failed in its current phase."""
MENTIONED = "mentioned-in-text"
"""A failure line or message number in the text around a log, not of the run."""
ENGINE_FINDINGS = (UNKNOWN_CODE, ABORTED, MENTIONED)
"""The findings the engine raises by itself (``findings:`` in nimadm.yaml): it refers to them by id."""

INSTALLP_BUCKETS = ("requisite_failures", "missing_requisites", "verification_failures", "ignore")
"""Where the filesets of a FAILURES list (or a Pre-installation Failure/Warning row) go."""


@dataclass(frozen=True)
class InstallpSpec:
    """The shape of installp's output (``installp:`` in nimadm.yaml): what the installp result model reads.

    ``invocation`` starts one installp run; ``failures`` opens its FAILURES
    section, read line by line until ``failures_end``; inside it ``lists``
    send the fileset lines (``fileset``) that follow a heading to a bucket.
    ``preinstall`` opens the Pre-installation Failure/Warning Summary whose
    rows (``preinstall_row``) go to a bucket by their reason
    (``preinstall_reasons``); ``summary`` opens the Installation Summary whose
    rows are ``summary_row``. ``failure_words`` says a line reports a failure
    (for message numbers nobody catalogued inside the transcript).
    """

    invocation: re.Pattern[str]
    failures: re.Pattern[str]
    failures_end: re.Pattern[str]
    lists: tuple[tuple[str, re.Pattern[str]], ...]
    fileset: re.Pattern[str]
    already_installed: re.Pattern[str]
    failed_verification: re.Pattern[str]
    total: re.Pattern[str]
    preinstall: re.Pattern[str]
    preinstall_row: re.Pattern[str]
    preinstall_reasons: tuple[tuple[str, re.Pattern[str]], ...]
    summary: re.Pattern[str]
    summary_row: re.Pattern[str]
    table_header: re.Pattern[str]
    builddate_failure: re.Pattern[str]
    bosboot_failure: re.Pattern[str]
    failure_words: re.Pattern[str]


@dataclass(frozen=True)
class PhaseModel:
    """phases/nimadm.yaml, compiled."""

    lines: LineSpec
    facts: tuple[FactSpec, ...]
    variants: tuple[VariantSpec, ...]
    phases: tuple[PhaseSpec, ...]
    installp: Optional[InstallpSpec] = None
    findings: Mapping[str, Signature] = field(default_factory=dict)
    """The engine's own findings by id (:data:`ENGINE_FINDINGS`): raised by the engine, never scanned for."""

    def phase(self, number: int) -> PhaseSpec:
        return self.phases[number - 1]

    def finding(self, finding_id: str) -> Signature:
        """One of the engine's own findings (:data:`ENGINE_FINDINGS`)."""
        return self.findings[finding_id]


@dataclass(frozen=True)
class RuleSet:
    """Everything the parser needs: the phase model and the ordered signatures."""

    model: PhaseModel
    signatures: tuple[Signature, ...]
    anchors: Optional[AnchorData] = field(default=None, compare=False, repr=False)
    """The byte scan's anchors stored with the rules (``phases/anchors.yaml``); None: estimated at scan time
    (exact, slower: a fraction of a second for each scanner, which every reader would pay)."""

    def signature(self, rule_id: str) -> Optional[Signature]:
        return next((sig for sig in self.signatures if sig.id == rule_id), None)
