"""The run being parsed: its record and the structural transitions of a nimadm log.

Owns :class:`ParsedRun` (what the parser keeps of the current run) and
:class:`RunTracker`, the base of :class:`~nimwatch.core.parser.LogParser` that
turns structural lines into events: a run starts (preamble, banner, or any
line that belongs to a run), phases start and end (done, or failed when
something failed in them), installp's tables open and close, and a run
finishes (nimadm's clean-up lines, the end of a wake-up, or the log simply
ending). Facts, variants and customization-script output are recorded here
too. Pure: no files, clock or threads.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Optional

from nimwatch.core.events import (
    BadLine,
    Event,
    Fact,
    Finding,
    Outcome,
    PhaseFinished,
    PhaseStarted,
    PhaseStatus,
    RunFinished,
    RunStarted,
)
from nimwatch.core.installp import InstallpTracker
from nimwatch.core.limits import MAX_SCRIPT_LINES
from nimwatch.core.outside import NOT_MIGRATIONS, reached_end
from nimwatch.core.rules import RuleSet


@dataclass
class ParsedRun:
    index: int
    client: str
    phase: int = 0
    phase_status: dict[int, PhaseStatus] = field(default_factory=dict)
    finished: bool = False
    failed: bool = False
    failed_phase: Optional[int] = None
    failing_phases: set[int] = field(default_factory=set)
    """Phases in which something failed: they end failed when nimadm leaves them."""
    saw_preamble: bool = False
    variants: set[str] = field(default_factory=set)
    facts_seen: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    best_totals: dict[int, int] = field(default_factory=dict)
    """Per phase, the largest progress total seen: progress follows the largest (main) installp run."""
    script_running: Optional[str] = None
    script_lines: int = 0
    structured: bool = False
    """A line only nimadm prints was seen (preamble, banner, marker, clean-up): text before it is not the log's."""
    sealed: bool = False
    """The run's last line was read: what follows is not its output (an aborted run still prints its
    clean-up on the client and the bootlist it restores)."""
    installp: Optional[InstallpTracker] = None
    recent: deque[tuple[str, int, str]] = field(default_factory=lambda: deque(maxlen=20))
    """(rule, line, text) of the latest findings of the current phase, for signatures' ``causes``."""
    findings: int = 0
    """Findings given so far: past :data:`~nimwatch.core.limits.MAX_FINDINGS` they carry no context."""


class RunTracker:
    """Runs, phases, installp tables, facts and outcomes: the structural half of the parser."""

    def __init__(self, rules: RuleSet, client: str = "", first_run: int = 1) -> None:
        self.rules = rules
        self.client = client
        self.run: Optional[ParsedRun] = None
        self.first_run = first_run
        """The number of this content's first run (later contents of a log continue the numbering)."""
        self.runs_started = first_run - 1
        self._events: list[Event] = []
        self._mentions: list[Finding] = []
        """Mentions read before any run: they join the first run when it starts."""

    def _emit(self, event: Event) -> None:
        self._events.append(event)
        if type(event) is Finding and self.run is not None:
            self.run.findings += 1

    @property
    def _live(self) -> ParsedRun:
        """The current run, where the caller knows there is one."""
        assert self.run is not None
        return self.run

    def _phase(self) -> int:
        return self.run.phase if self.run is not None else 0

    def _scanner_key(self) -> int:
        run = self.run
        return 0 if run is None or run.finished else run.phase

    # ------------------------------------------------------------------ runs

    def _start_run(self, line_no: int, mid_run: bool = False) -> ParsedRun:
        if self.run is not None and not self.run.finished:
            self._finish_at_end(line_no, "a new run started in the same log")
        self.runs_started += 1
        run = self.run = ParsedRun(index=self.runs_started, client=self.client)
        self._emit(RunStarted(run.index, line_no, self.client, mid_run))
        for mention in self._mentions:
            self._emit(replace(mention, run=run.index))
        self._mentions = []
        return run

    def _ensure_run(self, line_no: int, structure: bool = False) -> ParsedRun:
        """The current run (one starts here when there is none); ``structure``: the line is nimadm's own."""
        run = self.run if self.run is not None else self._start_run(line_no)
        if structure:
            run.structured = True
        return run

    def _run_start(self, line_no: int, seg_index: int) -> None:
        run = self.run
        if run is None or run.finished or run.phase > 0:
            # A pasted page may repeat the preamble mid-line after a run (seed 003):
            # only a preamble that begins a physical line starts a re-run.
            if run is not None and seg_index > 0:
                return
            run = self._start_run(line_no)
        run.saw_preamble = True
        run.structured = True

    # ------------------------------------------------------------------ phases

    def _banner(self, number: int, line_no: int) -> None:
        if not 1 <= number <= 12:
            self._emit(BadLine(line_no, f"phase banner with phase {number}, outside 1-12"))
            return
        run = self.run
        if run is None or run.finished or number < run.phase:
            self._start_run(line_no, mid_run=number > 1)
        elif number == run.phase:
            return
        self._enter_phase(number, line_no)

    def _enter_phase(self, number: int, line_no: int) -> None:
        run = self._live
        self._end_installp(line_no)
        run.structured = True
        run.recent.clear()
        self._end_phase(line_no)
        if run.phase == 0 and number > 1 and run.saw_preamble:
            self._variant("partial", line_no)
        run.phase = number
        run.script_running = None
        run.phase_status[number] = PhaseStatus.RUNNING
        self._emit(PhaseStarted(run.index, number, line_no))

    def _marker(self, phase: int, line_no: int) -> None:
        """A line only phase N prints: places a run whose banner we never saw."""
        run = self.run if self.run is not None else self._start_run(line_no, mid_run=True)
        if run.finished or run.phase != 0:
            return
        run.structured = True
        if run.variants.isdisjoint(NOT_MIGRATIONS):
            self._enter_phase(phase, line_no)

    def _fail_phase(self, line_no: int) -> None:
        """Something failed in the current phase: the run has failed; the phase ends failed when nimadm leaves it."""
        run = self._live
        run.failed = True
        if run.failed_phase is None:
            run.failed_phase = run.phase or None
        if run.phase:
            run.failing_phases.add(run.phase)

    def _end_phase(self, line_no: int) -> None:
        """nimadm left the current phase (next banner, end of the run): done, or failed if something failed in it."""
        run = self._live
        if run.phase and run.phase_status.get(run.phase) is PhaseStatus.RUNNING:
            status = PhaseStatus.FAILED if run.phase in run.failing_phases else PhaseStatus.DONE
            run.phase_status[run.phase] = status
            self._emit(PhaseFinished(run.index, run.phase, line_no, status))

    # ------------------------------------------------------------------ installp

    def _installp_line(self, key: str, match: re.Match[str], text: str, line_no: int) -> None:
        """A line of installp's own structure (an invocation, a table heading, a count, a failure)."""
        run = self.run
        spec = self.rules.model.installp
        if run is None or run.finished or run.phase == 0 or spec is None:
            return
        if run.installp is None:
            run.installp = InstallpTracker(spec)
        if run.installp.on_item(key, match, text):
            self._fail_phase(line_no)
        self._flush_installp(line_no)

    def _flush_installp(self, line_no: int, force: bool = False) -> None:
        """Publish the run's installp facts when they changed and a table or invocation ended (or ``force``)."""
        run = self.run
        tracker = run.installp if run is not None else None
        if run is not None and tracker is not None and tracker.dirty and (tracker.flush or force):
            self._emit(tracker.snapshot(run.index, run.phase, line_no))

    def _end_installp(self, line_no: int) -> None:
        """The phase or the run ended: installp's open table is over."""
        run = self.run
        if run is not None and run.installp is not None:
            run.installp.end()
            self._flush_installp(line_no, force=True)

    # ------------------------------------------------------------------ the end of a run

    def _cleanup_client(self, client: str, line_no: int) -> None:
        run = self._ensure_run(line_no, structure=True)
        if not self.client and client:
            self._fact("client", client, line_no, first_wins=True)
        if not run.finished and (run.phase == 12 or (run.phase == 0 and "cleanup" in run.variants)):
            self._finish(line_no, "nimadm cleaned up on the client")

    def _abort(self, line_no: int) -> None:
        """nimadm cleaned up before phase 12: the run failed in its phase (its clean-up lines still follow)."""
        self._fail_phase(line_no)
        self._finish(line_no, "nimadm aborted and cleaned up", seal=False)

    def _finish(self, line_no: int, reason: str, seal: bool = True) -> None:
        """The run ends (failed if something failed in it); ``seal``: nothing after this line is its output."""
        run = self._live
        self._end_installp(line_no)
        self._end_phase(line_no)
        run.finished = True
        run.sealed = run.sealed or seal
        outcome = Outcome.FAILED if run.failed else Outcome.SUCCEEDED
        self._emit(RunFinished(run.index, line_no, outcome, run.failed_phase if run.failed else None, reason))

    def _finish_at_end(self, line_no: int, reason: str, open_end: bool = False) -> None:
        """The log (or this run) ended without nimadm's final lines; ``open_end``: the log just stops here."""
        run = self._live
        if run.failed or reached_end(run.phase, run.variants):
            self._finish(line_no, reason)
            return
        self._end_installp(line_no)
        run.finished = run.sealed = True
        self._emit(RunFinished(run.index, line_no, Outcome.INCOMPLETE, None, reason, open_end=open_end))

    def _end_of_wakeup(self, line_no: int) -> None:
        """nimadm -W ends with its -z script step (or the "no script" line): the wake-up is done."""
        run = self.run
        if run is not None and not run.finished and run.phase == 0 and "wakeup" in run.variants:
            self._finish(line_no, "wake-up done: altinst_rootvg is mounted on the master")

    # ------------------------------------------------------------------ content

    def _fact(self, name: str, value: str, line_no: int, first_wins: bool = False) -> None:
        run = self._live
        value = " ".join(value.split())
        if first_wins and name in run.facts_seen:
            return
        run.facts_seen.add(name)
        if name == "boot_disk" and run.finished:
            run.sealed = True  # an aborted run ends with the bootlist it restored
        if name == "client" and not run.client:
            run.client = value
        self._emit(Fact(run.index, name, value, line_no))

    def _variant(self, variant_id: str, line_no: int) -> None:
        run = self._live
        if variant_id not in run.variants:
            run.variants.add(variant_id)
            self._emit(Fact(run.index, "variant", variant_id, line_no))

    def _script_output(self, text: str, line_no: int) -> None:
        run = self._live
        if run.script_lines < MAX_SCRIPT_LINES and not self.rules.model.lines.script_end.search(text):
            run.script_lines += 1
            self._emit(Fact(run.index, f"script_output_phase{run.phase}", text[:300], line_no))

    def _script_end(self, rc: int, line_no: int) -> None:
        run = self._ensure_run(line_no)
        run.script_running = None
        # A non-zero return code is judged by the catalog (customization-script-nonzero-rc).
        self._fact(f"script_rc_phase{run.phase}", str(rc), line_no)
        self._end_of_wakeup(line_no)
