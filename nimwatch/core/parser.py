"""The nimadm log parser: lines in, events out.

Owns :class:`LogParser`, the state machine that cuts one log into runs (a
re-run appended to the same file is a new run), tracks the 12 phases, reads
the run's facts, counts progress inside long phases and matches the failure
catalog. It is pure: no files, clock or threads. Feed it blocks of complete
lines (``feed``) or single lines (``feed_line``); the events are the same
however the input is chunked. :class:`LogReader` puts the byte decoder in
front of it for sources that read files.

Run boundaries (see nimadm_facts.md 1.3 and 7):
* a run starts at the first preamble line, phase banner, or line that belongs
  to a run (a log that starts mid-run);
* a phase banner whose number is lower than the current phase, or any banner
  or preamble line after a run finished, starts a new run;
* ``Cleaning up alt_disk_migration on the NIM master.`` before phase 12 means
  nimadm aborted: the run failed in its current phase. In phase 12 it is the
  normal clean-up, and the ``... on client X.`` line that follows ends a good
  run. With no phase at all it is ``nimadm -C``.

Text that is not the log's (a ticket or a web page around a pasted log) gives
no findings of a run: a message number quoted in prose ("attempt 1 failed
with 0505-218"), or any failure line before the log's first structural line
(preamble, banner, phase marker) or after its run ended, becomes one info
"mentioned in surrounding text". installp's output is read by
:class:`~nimwatch.core.installp.InstallpTracker`. A finding is emitted when
its line is read; the lines after it (AIX indents the rest of a long message)
are read with a bounded look-ahead and added by a later ``FindingDetail``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import Optional

from nimwatch.core.decoder import MAX_LINE_BYTES, DecodedBlock, LineDecoder
from nimwatch.core.events import (
    BadLine,
    Event,
    Fact,
    Finding,
    FindingDetail,
    LinesRead,
    Outcome,
    PhaseFinished,
    PhaseStarted,
    PhaseStatus,
    Progress,
    RunFinished,
    RunStarted,
    Severity,
)
from nimwatch.core.installp import InstallpTracker
from nimwatch.core.rules import Counter, RuleSet, Signature
from nimwatch.core.scanner import Item, Scanner, fold, required_literals, unanchored

CONTEXT_LINES = 3
"""Lines before a finding kept as its context, and lines after it kept as ``context_after``."""
MAX_CONTINUATION = 8
"""Indented lines after a message that are joined to it at most (AIX wraps long messages)."""
MAX_MENTIONS = 100
"""Mentions in text before a log's first run, kept until the run starts."""
MAX_TEXT = 1000
"""Longest finding text kept (characters)."""
MAX_SCRIPT_LINES = 200
"""Output lines of one customization script kept in the state."""
PASTED_MIN_LENGTH = 160
"""A physical line at least this long that holds several log lines was pasted
with its line breaks lost (a ticket, a web page): it is split back."""

RULE_LINE = "+" + "-" * 77 + "+"
SPLITTER = -1
"""The scanner key holding every rule: used to find where lines begin in pasted text."""
_BARE_CODE = re.compile(r"(?<![\w-])\d{4}-\d{3}(?=\s)")
_ANY_CODE = re.compile(r"(?<![\w-])\d{4}-\d{3}(?!\d)")
_COMMAND_PREFIX = re.compile(r"^(?:[\w./-]+:\s*){0,2}$")
"""What may come before a message number in a line AIX printed: nothing, or ``cmd: `` (twice at most)."""
_PROSE_BEFORE_CODE = re.compile(r"[a-z,(/]\s*$")
"""A pasted line is not cut before a message number that follows a word or a comma: it is quoted in prose."""

UNKNOWN_CODE = Signature(
    id="unknown-message-code",
    title="Message number not in the failure catalog",
    pattern=re.compile(r"\d{4}-\d{3}"),
    trigger=None,
    code=None,
    phases=frozenset(),
    severity=Severity.WARNING,
    fails_run=False,
    explanation=(
        "The line carries an AIX message number that nimwatch's catalog does not know. It may be "
        "harmless or the first sign of a failure: read it with its context."
    ),
    advice=(
        "Look the number up in IBM Documentation (AIX messages).\n"
        "Check the client's /var/adm/ras/alt_disk_inst.log and errpt -a on master and client.\n"
        "Add a signature for it in your own rules file so it is explained next time."
    ),
    source="nimwatch engine",
    soften_in_installp=True,
)

ABORTED = Signature(
    id="nimadm-aborted",
    title="nimadm aborted and cleaned up before phase 12",
    pattern=re.compile(r"^Cleaning up alt_disk_migration on the NIM master\."),
    trigger=None,
    code=None,
    phases=frozenset(),
    severity=Severity.ERROR,
    fails_run=True,
    explanation=(
        "nimadm started its clean-up before reaching phase 12: the migration failed in the phase "
        "shown. nimadm removes what it created on the master and the client and resets the bootlist "
        "to the original disk, so the client still boots its old rootvg."
    ),
    advice=(
        "Read the lines before this one for the first error (and the findings above).\n"
        "On the client: cat /var/adm/ras/alt_disk_inst.log; lspv; bootlist -m normal -o\n"
        "If leftovers remain: nimadm -C -c <client> -s <spot>, or alt_rootvg_op -X altinst_rootvg on the client.\n"
        "Fix the cause, then run nimadm again."
    ),
    source="nimadm_facts.md 1.3 [V:S9]",
)

MENTIONED = Signature(
    id="mentioned-in-text",
    title="Mentioned in surrounding text (not a line of the log)",
    pattern=re.compile(r"\d{4}-\d{3}"),
    trigger=None,
    code=None,
    phases=frozenset(),
    severity=Severity.INFO,
    fails_run=False,
    explanation=(
        "This line is text around the log (a ticket, notes, a web page the log was pasted into), or it "
        "quotes a message number inside a sentence: nimadm did not print it in this run, so it does not "
        "count for the run."
    ),
    advice="No action for this run. If it refers to another attempt, report on that attempt's log.",
    source="nimwatch engine",
    benign=True,
)


@dataclass
class _Run:
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


@dataclass
class _Pending:
    """A finding whose following lines are still being read (continuation lines, then context after)."""

    run: int
    line: int
    rule: str
    text: str
    severity: Severity
    """The signature's own severity (a softened finding may get it back from the lines after it)."""
    softened: bool
    indent: int = 0
    """Indentation of the finding's line: deeper indented lines continue its message."""
    cont_indent: int = 0
    """Indentation of its first continuation line: the next ones are indented at least as deep."""
    after: list[str] = field(default_factory=list)
    continuing: bool = True
    joined: int = 0


class ScannerSet:
    """One scanner per parser situation, so that a block is only scanned for what can matter.

    Before a run has a phase (key 0) every rule is scanned for, phase markers
    included (they place a log that starts mid-run). Inside phase N only the
    structural lines, facts, variants, the signatures that apply in phase N and
    message numbers can change anything. Progress counters are not scanned for
    line by line: they are counted over each stretch of a block that belongs
    to one phase (:meth:`counters`). The choice depends
    only on the parser's state, so results never depend on chunking.
    """

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._scanners: dict[int, Scanner] = {}
        self._counters: dict[int, list[tuple[Counter, re.Pattern[str], Optional[str]]]] = {}

    def for_phase(self, phase: int) -> Scanner:
        scanner = self._scanners.get(phase)
        if scanner is None:
            scanner = self._scanners[phase] = _build_scanner(self.rules, phase)
        return scanner

    def counters(self, phase: int) -> list[tuple[Counter, re.Pattern[str], Optional[str]]]:
        """Phase ``phase``'s progress counters, compiled to count in whole blocks (pasted lines too),
        with a literal every match holds (to find the last match from the end) when there is one."""
        found = self._counters.get(phase)
        if found is None:
            found = []
            if 1 <= phase <= 12:
                for counter in self.rules.model.phase(phase).counters:
                    pattern = unanchored(counter.pattern)
                    lits = required_literals(pattern.pattern)
                    literal = lits[0][0] if lits and len(lits[0]) == 1 and not lits[1] else None
                    found.append((counter, pattern, literal))
            self._counters[phase] = found
        return found


def build_scanner(rules: RuleSet) -> ScannerSet:
    """The scanners for a rule set (built lazily, one per phase, shared by every log)."""
    return ScannerSet(rules)


def _build_scanner(rules: RuleSet, phase: int) -> Scanner:
    model = rules.model
    lines = model.lines
    items: list[Item] = []

    def add(kind: str, pattern: re.Pattern[str], payload: object = None, literal: Optional[str] = None) -> None:
        items.append(Item(len(items), kind, pattern, payload, literal))

    add("banner", lines.banner)
    for pat in lines.run_start:
        add("run_start", pat)
    add("cleanup_master", lines.cleanup_master)
    add("cleanup_client", lines.cleanup_client)
    add("no_script", lines.no_script)
    add("script_start", lines.script_start)
    add("script_end", lines.script_end)
    add("review", lines.review)
    if model.installp is not None and phase != 0:
        for key in (
            "invocation",
            "failures",
            "already_installed",
            "failed_verification",
            "total",
            "preinstall",
            "summary",
            "builddate_failure",
            "bosboot_failure",
        ):
            add("installp", getattr(model.installp, key), key)
    for fact in model.facts:
        if not fact.phases or phase in fact.phases or phase == SPLITTER:
            add("fact", fact.pattern, fact)
    for variant in model.variants:
        for pat in variant.detect:
            add("variant", pat, variant.id)
    if phase <= 0:
        for pat in lines.line_starts:
            add("line_start", pat)
    for spec in model.phases:
        if phase <= 0:
            for pat in spec.markers:
                add("marker", pat, spec.number)
    for sig in rules.signatures:
        if sig.applies_in(phase) or phase == SPLITTER:
            add("signature", sig.pattern, sig, sig.trigger)
    code = Item(len(items), "code", lines.message_code)
    return Scanner([*items, code], code_item=code)


class LogParser:
    """Cuts one nimadm log into runs, phases, facts, progress and findings.

    Args:
        rules: the compiled phase model and failure catalog.
        client: the client name from the file name (``<client>_alt_mig.log``);
            when empty it is taken from the log's own lines.
    """

    def __init__(
        self, rules: RuleSet, client: str = "", scanner: Optional[ScannerSet] = None, first_run: int = 1
    ) -> None:
        """``first_run`` numbers the first run (a truncated log parsed anew continues the numbering)."""
        self.rules = rules
        self.client = client
        self.scanners = scanner or build_scanner(rules)
        self._block = ""
        self._line_start = 0
        self.line_no = 0
        self.run: Optional[_Run] = None
        self.runs_started = first_run - 1
        self.last_text = ""
        self._context: deque[str] = deque(maxlen=CONTEXT_LINES)
        self._events: list[Event] = []
        self._pending: list[_Pending] = []
        self._indent = 0
        """Indentation of the physical line being read (0 inside a pasted line)."""
        self._mentions: list[Finding] = []
        """Mentions read before any run: they join the first run when it starts."""

    # ------------------------------------------------------------------ feeding

    def feed(self, block: str) -> list[Event]:
        """Feed complete lines: ``block`` is lines each ending in ``\\n`` (a missing final newline is tolerated)."""
        if not block:
            return []
        if not block.endswith("\n"):
            block += "\n"
        events = self._events = []
        base = self.line_no
        self._block = block
        folded: Optional[str] = None
        pos = 0
        n = len(block)
        line_no = base  # lines before `counted_to`
        counted_to = 0
        key = self._scanner_key()
        seg_start, seg_run, seg_phase, seg_line = 0, self.run, key, base
        scanner = self.scanners.for_phase(key)
        if scanner.needs_fold:
            folded = fold(block)
        # Candidates are found a window at a time, small after a phase change (phases change
        # often early in a run) and doubling while none comes: a change rescans little.
        window = MIN_WINDOW
        window_end = _window_end(block, 0, window)
        starts = scanner.candidates(block, 0, folded, window_end)
        si = 0
        while pos < n:
            if self._every_line():
                start = pos  # a script's output, an installp table or the lines after a finding: read them all
            else:
                while si < len(starts) and starts[si] < pos:
                    si += 1
                if si >= len(starts):
                    if window_end >= n:
                        break
                    pos = max(pos, window_end)
                    window = min(window * 2, MAX_WINDOW)
                    window_end = _window_end(block, pos, window)
                    starts = scanner.candidates(block, pos, folded, window_end)
                    si = 0
                    continue
                start = starts[si]
                si += 1
            line_no += block.count("\n", counted_to, start)
            counted_to = start
            end = block.find("\n", start)
            self._line_start = start
            mark = len(events)
            self._physical_line(block[start:end], line_no + 1)
            pos = end + 1
            new_key = self._scanner_key()
            if new_key != key or self.run is not seg_run:
                # The stretch before this line is over: its progress goes before this line's events.
                line_events = events[mark:]
                del events[mark:]
                self._count_progress(seg_run, seg_phase, block, seg_start, start, seg_line)
                events.extend(line_events)
                seg_start, seg_run, seg_phase, seg_line = start, self.run, new_key, line_no
                key = new_key
                scanner = self.scanners.for_phase(key)
                if scanner.needs_fold and folded is None:
                    folded = fold(block)
                window = MIN_WINDOW
                window_end = _window_end(block, pos, window)
                starts = scanner.candidates(block, pos, folded, window_end)
                si = 0
        self._count_progress(seg_run, seg_phase, block, seg_start, n, seg_line)
        self.line_no = base + block.count("\n")
        self._remember_tail(block)
        self._block = ""
        events.append(LinesRead(self.run.index if self.run else None, self.line_no, self.last_text))
        self._events = []
        return events

    def _every_line(self) -> bool:
        """Whether the next line must be read whatever it holds (not only candidate lines)."""
        if self._pending:
            return True
        run = self.run
        if run is None:
            return False
        return run.script_running is not None or (run.installp is not None and bool(run.installp.mode))

    def _scanner_key(self) -> int:
        run = self.run
        if run is None or run.finished:
            return 0
        return run.phase

    def feed_line(self, line: str) -> list[Event]:
        """Feed one line (without its newline)."""
        return self.feed(line.replace("\n", " ") + "\n")

    def close(self) -> list[Event]:
        """End of the log: what is still being read is given out, a run that did not finish gets its outcome."""
        events = self._events = []
        for pending in self._pending:
            self._emit_detail(pending)
        self._pending = []
        if self.run is not None and not self.run.finished:
            self._finish_at_end(self.line_no, "end of log", open_end=True)
        self._mentions = []
        self._events = []
        return events

    # ------------------------------------------------------------------ context

    def _context_before(self) -> tuple[str, ...]:
        """The non-empty lines before the current physical line (this block first, then earlier blocks)."""
        block, start = self._block, self._line_start
        ctx: list[str] = []
        end = start - 1
        while end > 0 and len(ctx) < CONTEXT_LINES:
            s = block.rfind("\n", 0, end) + 1
            text = block[s:end].strip()
            if text and text != RULE_LINE:
                ctx.append(text[:300])
            end = s - 1
        if len(ctx) < CONTEXT_LINES and end <= 0:
            ctx.extend(reversed(list(self._context)[-(CONTEXT_LINES - len(ctx)) :]))
        return tuple(reversed(ctx[:CONTEXT_LINES]))

    def _remember_tail(self, block: str) -> None:
        end = len(block) - 1
        found: list[str] = []
        last_text = ""
        while end > 0 and len(found) < CONTEXT_LINES:
            s = block.rfind("\n", 0, end) + 1
            text = block[s:end].strip()
            if text and text != RULE_LINE:
                found.append(text[:300])
                if not last_text:
                    last_text = text[:300]
            end = s - 1
        for text in reversed(found):
            self._context.append(text)
        if last_text:
            self.last_text = last_text

    # ------------------------------------------------------------------ one line

    def _physical_line(self, raw: str, line_no: int) -> None:
        text = raw.strip()
        if not text:
            for pending in self._pending:
                pending.continuing = False  # an empty line ends a message
            return
        pasted = len(text) >= PASTED_MIN_LENGTH or (len(text) > len(RULE_LINE) and RULE_LINE in text)
        segments = self._segments(text) if pasted else [text]
        self._indent = 0 if pasted else len(raw) - len(raw.lstrip(" \t"))
        for index, seg in enumerate(segments):
            if self._pending:
                self._read_after(seg, self._indent if index == 0 else 0)
            self._segment(seg, line_no, index, tuple(s[:300] for s in segments[max(0, index - CONTEXT_LINES) : index]))

    def _segments(self, text: str) -> list[str]:
        """Split a pasted line back into log lines, before each text that starts a log line."""
        cuts: set[int] = set()
        for item in self.scanners.for_phase(SPLITTER).items_for(text):
            pat = item.pattern.pattern
            if not pat.startswith("^") and item.kind != "code":
                continue
            if item.kind == "code":
                # "cmd: NNNN-NNN text" keeps its command; a bare "NNNN-NNN text" starts a line.
                for m in _BARE_CODE.finditer(text):
                    before = text[max(0, m.start() - 2) : m.start()]
                    if before != ": " and not _PROSE_BEFORE_CODE.search(text[max(0, m.start() - 3) : m.start()]):
                        cuts.add(m.start())
                continue
            body = unanchored(item.pattern)
            for m in body.finditer(text):
                cuts.add(m.start())
        rule_at = text.find(RULE_LINE)
        while rule_at >= 0:
            cuts.add(rule_at)
            cuts.add(rule_at + len(RULE_LINE))
            rule_at = text.find(RULE_LINE, rule_at + 1)
        cuts.discard(0)
        if not cuts:
            return [text]
        points = [0, *sorted(cuts), len(text)]
        out = []
        for a, b in zip(points, points[1:]):
            piece = text[a:b].strip()
            if piece and piece != RULE_LINE:
                out.append(piece)
        return out or [text]

    def _segment(self, text: str, line_no: int, seg_index: int, context: tuple[str, ...]) -> None:
        run = self.run
        if run is not None and run.script_running is not None:
            self._script_output(text, line_no)
            if not self.rules.model.lines.script_end.search(text):
                return
        if run is not None and not run.finished and run.installp is not None and run.installp.mode:
            if run.installp.on_line(text):
                self._fail_phase(line_no)
            self._flush_installp(line_no)
        items = self.scanners.for_phase(self._scanner_key()).items_for(text)
        if not items:
            return
        signature_matched = False
        for item in items:
            kind = item.kind
            if kind == "code":
                if signature_matched:
                    continue
                m = item.pattern.search(text)
                if m:
                    self._finding(UNKNOWN_CODE, m.group("code"), text, line_no, context)
                continue
            m = item.pattern.search(text)
            if m is None:
                continue
            if kind == "banner":
                self._banner(int(m.group("phase")), line_no)
                return
            if kind == "run_start":
                self._run_start(line_no, seg_index)
            elif kind == "cleanup_master":
                self._cleanup_master(text, line_no, context)
            elif kind == "cleanup_client":
                self._cleanup_client(m.group("client"), line_no)
            elif kind == "no_script":
                self._ensure_run(line_no, structure=True)
                self._fact(f"script_phase{self._phase()}", "none", line_no)
                self._end_of_wakeup(line_no)
            elif kind == "script_start":
                self._ensure_run(line_no, structure=True)
                assert self.run is not None
                self.run.script_running = m.group("name")
                self.run.script_lines = 0
                self._fact(f"script_phase{self._phase()}", m.group("name"), line_no)
            elif kind == "script_end":
                self._script_end(m.group("name"), int(m.group("rc")), text, line_no, context)
            elif kind == "review":
                self._ensure_run(line_no, structure=True)
            elif kind == "installp":
                self._installp_line(item.payload, m, text, line_no)
            elif kind == "fact":
                self._ensure_run(line_no)
                self._fact(item.payload.name, m.group("value"), line_no, item.payload.first_wins)
            elif kind == "variant":
                self._ensure_run(line_no, structure=True)
                self._variant(item.payload, line_no)
            elif kind == "marker":
                self._marker(item.payload, line_no)
            elif kind == "signature":
                if signature_matched:
                    continue
                sig: Signature = item.payload
                if not sig.applies_in(self._phase()):
                    continue
                signature_matched = True
                code = sig.code
                if code is None:
                    cm = self.rules.model.lines.message_code.search(text)
                    code = cm.group("code") if cm else None
                fills = tuple((k, v) for k, v in m.groupdict().items() if v)
                self._finding(sig, code, text, line_no, context, fills, m)

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
        if run is None or tracker is None:
            return
        if tracker.dirty and (tracker.flush or force):
            self._emit(tracker.snapshot(run.index, run.phase, line_no))

    def _end_installp(self, line_no: int) -> None:
        """The phase or the run ended: installp's open table is over."""
        run = self.run
        if run is not None and run.installp is not None:
            run.installp.end()
            self._flush_installp(line_no, force=True)

    # ------------------------------------------------------------------ structure

    def _phase(self) -> int:
        return self.run.phase if self.run is not None else 0

    def _emit(self, event: Event) -> None:
        self._events.append(event)

    def _start_run(self, line_no: int, mid_run: bool = False) -> _Run:
        if self.run is not None and not self.run.finished:
            self._finish_at_end(line_no, "a new run started in the same log")
        self.runs_started += 1
        run = _Run(index=self.runs_started, client=self.client)
        self.run = run
        self._emit(RunStarted(run.index, line_no, self.client, mid_run))
        for mention in self._mentions:
            self._emit(replace(mention, run=run.index))
        self._mentions = []
        return run

    def _ensure_run(self, line_no: int, structure: bool = False) -> _Run:
        """The current run (one starts here when there is none); ``structure``: the line is nimadm's own."""
        run = self.run if self.run is not None else self._start_run(line_no)
        if structure:
            run.structured = True
        return run

    def _run_start(self, line_no: int, seg_index: int) -> None:
        run = self.run
        if run is None:
            run = self._start_run(line_no)
        elif run.finished or run.phase > 0:
            # A pasted page may repeat the preamble mid-line after a run (seed 003):
            # only a preamble that begins a physical line starts a re-run.
            if seg_index > 0:
                return
            run = self._start_run(line_no)
        run.saw_preamble = True
        run.structured = True

    def _banner(self, number: int, line_no: int) -> None:
        if not 1 <= number <= 12:
            self._emit(BadLine(line_no, f"phase banner with phase {number}, outside 1-12"))
            return
        run = self.run
        if run is None or run.finished or number < run.phase:
            run = self._start_run(line_no, mid_run=number > 1)
        elif number == run.phase:
            return
        self._enter_phase(number, line_no)

    def _enter_phase(self, number: int, line_no: int) -> None:
        run = self.run
        assert run is not None
        self._end_installp(line_no)
        run.structured = True
        run.recent.clear()
        self._end_phase(line_no)
        if run.phase == 0 and number > 1 and run.saw_preamble and "partial" not in run.variants:
            run.variants.add("partial")
            self._emit(Fact(run.index, "variant", "partial", line_no))
        run.phase = number
        run.script_running = None
        run.phase_status[number] = PhaseStatus.RUNNING
        self._emit(PhaseStarted(run.index, number, line_no))

    def _marker(self, phase: int, line_no: int) -> None:
        """A line only phase N prints: places a run whose banner we never saw."""
        run = self.run
        if run is None:
            run = self._start_run(line_no, mid_run=True)
        if run.finished or run.phase != 0:
            return
        run.structured = True
        if run.variants & {"cleanup", "wakeup", "sleep"}:
            return
        self._enter_phase(phase, line_no)

    def _fail_phase(self, line_no: int) -> None:
        """Something failed in the current phase: the run has failed; the phase ends failed when nimadm leaves it."""
        run = self.run
        assert run is not None
        run.failed = True
        if run.failed_phase is None:
            run.failed_phase = run.phase or None
        if run.phase:
            run.failing_phases.add(run.phase)

    def _end_phase(self, line_no: int) -> None:
        """nimadm left the current phase (next banner, end of the run): done, or failed if something failed in it."""
        run = self.run
        assert run is not None
        if run.phase and run.phase_status.get(run.phase) is PhaseStatus.RUNNING:
            status = PhaseStatus.FAILED if run.phase in run.failing_phases else PhaseStatus.DONE
            run.phase_status[run.phase] = status
            self._emit(PhaseFinished(run.index, run.phase, line_no, status))

    def _cleanup_master(self, text: str, line_no: int, context: tuple[str, ...]) -> None:
        run = self._ensure_run(line_no, structure=True)
        if run.finished:
            return
        if run.phase == 0:
            if "cleanup" not in run.variants:
                run.variants.add("cleanup")
                self._emit(Fact(run.index, "variant", "cleanup", line_no))
            return
        if run.phase >= 12:
            if "mksysb_output" in run.variants:
                # A migrated mksysb (-O) has no client: the master's clean-up is the last line.
                self._finish(line_no, "nimadm cleaned up on the master (mksysb output, no client)")
            return
        if not run.failed:
            self._finding(ABORTED, None, text, line_no, context)
        self._fail_phase(line_no)
        self._end_installp(line_no)
        self._end_phase(line_no)
        run.finished = True
        self._emit(RunFinished(run.index, line_no, Outcome.FAILED, run.failed_phase, "nimadm aborted and cleaned up"))

    def _cleanup_client(self, client: str, line_no: int) -> None:
        run = self._ensure_run(line_no, structure=True)
        if not self.client and client:
            self._fact("client", client, line_no, first_wins=True)
        if run.finished:
            return
        if run.phase == 12 or (run.phase == 0 and "cleanup" in run.variants):
            self._finish(line_no, "nimadm cleaned up on the client")

    def _finish(self, line_no: int, reason: str) -> None:
        run = self.run
        assert run is not None
        self._end_installp(line_no)
        self._end_phase(line_no)
        run.finished = run.sealed = True
        outcome = Outcome.FAILED if run.failed else Outcome.SUCCEEDED
        self._emit(RunFinished(run.index, line_no, outcome, run.failed_phase if run.failed else None, reason))

    def _finish_at_end(self, line_no: int, reason: str, open_end: bool = False) -> None:
        """The log (or this run) ended without nimadm's final lines; ``open_end``: the log just stops here."""
        run = self.run
        assert run is not None
        if run.failed:
            self._finish(line_no, reason)
            return
        done = (
            run.phase == 12
            or ("partial" in run.variants and run.phase > 0)
            or (run.phase == 0 and bool(run.variants & {"cleanup", "wakeup", "sleep"}))
        )
        if done:
            self._finish(line_no, reason)
            return
        self._end_installp(line_no)
        run.finished = run.sealed = True
        self._emit(RunFinished(run.index, line_no, Outcome.INCOMPLETE, None, reason, open_end=open_end))

    # ------------------------------------------------------------------ content

    def _fact(self, name: str, value: str, line_no: int, first_wins: bool = False) -> None:
        run = self.run
        assert run is not None
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
        run = self.run
        assert run is not None
        if variant_id in run.variants:
            return
        run.variants.add(variant_id)
        self._emit(Fact(run.index, "variant", variant_id, line_no))

    def _count_progress(
        self, run: Optional[_Run], phase: int, block: str, start: int, end: int, lines_before: int
    ) -> None:
        """Count phase ``phase``'s progress lines in ``block[start:end]`` (one Progress per counter).

        Progress events are coalesced per stretch of block, like LinesRead: how
        many there are depends on chunking, the values they leave do not.
        """
        if run is None or phase < 1 or start >= end:
            return
        found: list[tuple[int, Progress]] = []
        for counter, pattern, literal in self.scanners.counters(phase):
            hits = 0
            last: Optional[re.Match[str]] = None
            if counter.kind == "count":
                matches = pattern.findall(block, start, end)
                hits = len(matches)
                if hits:
                    last = _last_match(pattern, block, start, end, literal)
            else:
                last = _last_match(pattern, block, start, end, literal)
                if last is not None:
                    last = _largest_total(pattern, block, start, end, last, run.best_totals.get(phase, 0))
                    if last is not None:
                        run.best_totals[phase] = int(last.group("total"))
            if last is None:
                continue
            line_no = lines_before + block.count("\n", start, last.start()) + 1
            groups = last.groupdict()
            total: Optional[int]
            if counter.kind == "ratio":
                done, total = int(groups["done"]), int(groups["total"])
                run.counts[counter.name] = done
            elif counter.kind == "total":
                total = int(groups["total"])
                run.counts[counter.name] = total
                done = 0
            else:
                done = run.counts.get(counter.name, 0) + hits
                run.counts[counter.name] = done
                total = counter.total
                for name in counter.total_from:
                    if run.counts.get(name):
                        total = run.counts[name]
                        break
                if total is not None and done > total:
                    total = None
            found.append((last.start(), Progress(run.index, phase, done, total, counter.unit, line_no)))
        # In the order the log has them, not the counters': the last one sets the phase's progress,
        # and a stretch cut in two must leave the same one last.
        for _, progress in sorted(found, key=lambda item: item[0]):
            self._emit(progress)

    def _finding(
        self,
        sig: Signature,
        code: Optional[str],
        text: str,
        line_no: int,
        context: tuple[str, ...],
        fills: tuple[tuple[str, str], ...] = (),
        match: Optional[re.Match[str]] = None,
    ) -> None:
        """``context``: the pasted segments before this one on the same physical line, if any."""
        context = (*self._context_before(), *context)[-CONTEXT_LINES:]
        run = self.run
        outside = run is None or run.sealed or not run.structured
        quoted = self._quoted_code(text, code, match)
        if quoted or (outside and not (sig.benign or sig.severity is Severity.INFO)):
            self._mention(sig, quoted or code, text, line_no, context)
            return
        run = self._ensure_run(line_no)
        severity = sig.severity
        softened = False
        tracker = run.installp
        spec = self.rules.model.installp
        if sig.soften_in_installp and severity is not Severity.INFO and tracker is not None and tracker.active:
            assert spec is not None
            if not any(spec.failure_words.search(t) for t in (text, *context)):
                severity, softened = Severity.INFO, True
        advice = sig.advice
        for cause in sig.causes:
            earlier = next((r for r in reversed(run.recent) if r[0] in cause.rules), None)
            if earlier is not None:
                advice = f"The line {earlier[1]} before it is the cause: {earlier[2][:160]}\n{cause.advice}\n{advice}"
                break
        run.recent.append((sig.id, line_no, text))
        self._emit(
            Finding(
                run=run.index,
                phase=run.phase,
                line=line_no,
                rule=sig.id,
                code=code,
                severity=severity,
                fails_run=sig.fails_run and not softened,
                text=text[:MAX_TEXT],
                title=sig.title,
                explanation=sig.explanation,
                advice=advice,
                context=context,
                benign=sig.benign,
                fills=fills,
            )
        )
        pending = _Pending(run.index, line_no, sig.id, text[:MAX_TEXT], sig.severity, softened, self._indent)
        self._pending.append(pending)
        if sig.fails_run and not softened and not run.finished:
            self._fail_phase(line_no)

    def _quoted_code(self, text: str, code: Optional[str], match: Optional[re.Match[str]]) -> Optional[str]:
        """The message number of a line that quotes it inside a sentence (prose, not a line AIX printed)."""
        start, end = (match.start(), match.end()) if match is not None else (0, len(text))
        at = text.find(code, start, end) if code is not None else -1
        if at < 0 and code is not None:
            at = text.find(code)
        if at < 0:
            found = _ANY_CODE.search(text, start, end)
            if found is None:
                return None
            at = found.start()
        if _COMMAND_PREFIX.match(text[:at]):
            return None
        return text[at : at + 8]

    def _mention(self, sig: Signature, code: Optional[str], text: str, line_no: int, context: tuple[str, ...]) -> None:
        """A line of the text around the log: one info finding, never part of the run's verdict."""
        run = self.run
        finding = Finding(
            run=run.index if run is not None else 0,
            phase=run.phase if run is not None else 0,
            line=line_no,
            rule=MENTIONED.id,
            code=code,
            severity=Severity.INFO,
            fails_run=False,
            text=text[:MAX_TEXT],
            title=MENTIONED.title,
            explanation=f"{MENTIONED.explanation} In a log it would read as: {sig.title}.",
            advice=MENTIONED.advice,
            context=context,
            benign=True,
        )
        if run is None:
            if len(self._mentions) < MAX_MENTIONS:
                self._mentions.append(finding)
            return
        self._emit(finding)

    # ------------------------------------------------------------------ the lines after a finding

    def _read_after(self, text: str, indent: int) -> None:
        """Give one line (or pasted segment) to the findings still reading the lines after them.

        A line indented deeper than the finding's own continues its message
        (AIX wraps long messages with an indent); the others are its context after.
        """
        done: list[_Pending] = []
        for pending in self._pending:
            if (
                pending.continuing
                and indent > pending.indent
                and indent >= pending.cont_indent
                and pending.joined < MAX_CONTINUATION
                and text != RULE_LINE
                and not _ANY_CODE.search(text)
            ):
                pending.cont_indent = pending.cont_indent or indent
                pending.joined += 1
                pending.text = f"{pending.text} {text}"[:MAX_TEXT]
                continue
            pending.continuing = False
            if text != RULE_LINE:
                pending.after.append(text[:300])
            if len(pending.after) >= CONTEXT_LINES:
                done.append(pending)
        for pending in done:
            self._pending.remove(pending)
            self._emit_detail(pending)

    def _emit_detail(self, pending: _Pending) -> None:
        if not pending.after and not pending.joined:
            return
        severity: Optional[Severity] = None
        spec = self.rules.model.installp
        texts = (pending.text, *pending.after)
        if pending.softened and spec is not None and any(spec.failure_words.search(t) for t in texts):
            severity = pending.severity
        self._emit(FindingDetail(pending.run, pending.line, pending.rule, pending.text, tuple(pending.after), severity))

    def _script_output(self, text: str, line_no: int) -> None:
        run = self.run
        assert run is not None
        if run.script_lines < MAX_SCRIPT_LINES and not self.rules.model.lines.script_end.search(text):
            run.script_lines += 1
            self._emit(Fact(run.index, f"script_output_phase{run.phase}", text[:300], line_no))

    def _script_end(self, name: str, rc: int, text: str, line_no: int, context: tuple[str, ...]) -> None:
        run = self._ensure_run(line_no)
        run.script_running = None
        # A non-zero return code is judged by the catalog (customization-script-nonzero-rc).
        self._fact(f"script_rc_phase{run.phase}", str(rc), line_no)
        self._end_of_wakeup(line_no)

    def _end_of_wakeup(self, line_no: int) -> None:
        """nimadm -W ends with its -z script step (or the "no script" line): the wake-up is done."""
        run = self.run
        if run is not None and not run.finished and run.phase == 0 and "wakeup" in run.variants:
            self._finish(line_no, "wake-up done: altinst_rootvg is mounted on the master")


MIN_WINDOW = 4 * 1024
MAX_WINDOW = 256 * 1024
"""Characters of a block scanned for candidates at a time (the window doubles up to this)."""


def _window_end(block: str, pos: int, size: int) -> int:
    """The end of the scan window starting at ``pos``: the end of the line ``size`` characters on."""
    if pos + size >= len(block):
        return len(block)
    nl = block.find("\n", pos + size)
    return len(block) if nl < 0 else nl + 1


def _last(matches: Iterator[re.Match[str]]) -> Optional[re.Match[str]]:
    """The last of ``matches`` (None when there is none), consumed in C."""
    tail = deque(matches, maxlen=1)
    return tail[0] if tail else None


def _largest_total(
    pattern: re.Pattern[str], block: str, start: int, end: int, last: re.Match[str], best: int
) -> Optional[re.Match[str]]:
    """The last match of ``block[start:end]`` with the largest total, unless an earlier stretch saw a larger one.

    installp runs several times in phase 6 (install utilities, the migration,
    updates): progress follows the largest run, not the last one.
    """
    found = pattern.findall(block, start, end)
    texts = set(map(itemgetter(pattern.groupindex["total"] - 1), found)) if pattern.groups > 1 else set(found)
    largest = max(map(int, texts))  # (in C: thousands of progress lines per block)
    if largest < best:
        return None
    if int(last.group("total")) == largest:
        return last
    return [m for m in pattern.finditer(block, start, end) if int(m.group("total")) == largest][-1]


def _last_match(
    pattern: re.Pattern[str], block: str, start: int, end: int, literal: Optional[str]
) -> Optional[re.Match[str]]:
    """The last match of ``pattern`` in ``block[start:end]``, searched from the end when a literal allows."""
    if literal is None:
        return _last(pattern.finditer(block, start, end))
    pos = end
    while True:
        at = block.rfind(literal, start, pos)
        if at < 0:
            return None
        line_start = block.rfind("\n", start, at) + 1
        line_end = block.find("\n", at, end)
        if line_end < 0:
            line_end = end
        found = _last(pattern.finditer(block, max(line_start, start), line_end))
        if found is not None:
            return found
        pos = at


class LogReader:
    """Bytes of one log in, events out: the decoder and the parser together.

    Sources (tail, replay, report) feed whatever bytes they read; cut over-long
    lines come out as :class:`BadLine` events.
    """

    def __init__(
        self,
        rules: RuleSet,
        client: str = "",
        scanner: Optional[ScannerSet] = None,
        max_line: int = MAX_LINE_BYTES,
        first_run: int = 1,
    ) -> None:
        self.decoder = LineDecoder(max_line)
        self.parser = LogParser(rules, client, scanner, first_run)

    def feed(self, chunk: bytes) -> list[Event]:
        return self._parse(self.decoder.feed(chunk))

    def close(self) -> list[Event]:
        events = self._parse(self.decoder.flush())
        events.extend(self.parser.close())
        return events

    def reset(self) -> None:
        """The file was truncated or replaced: drop any held partial line."""
        self.decoder.reset()

    def _parse(self, block: DecodedBlock) -> list[Event]:
        if not block.count:
            return []
        base = self.parser.line_no
        events: list[Event] = [
            BadLine(base + index + 1, f"line of {length} bytes cut to {self.decoder.max_line}")
            for index, length in block.cut_lines
        ]
        events.extend(self.parser.feed(block.text))
        return events
