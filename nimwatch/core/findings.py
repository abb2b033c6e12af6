"""Findings: a catalog signature (or the engine's own finding) raised on a line, and the lines after it.

Owns :class:`FindingTracker`, the layer of the parser between run structure
(:class:`~nimwatch.core.runtrack.RunTracker`) and line reading
(:class:`~nimwatch.core.parser.LogParser`). It decides what a matched line is:
a finding of the run (its severity softened inside installp's output unless the
lines around it say something failed, its advice led by an earlier cause), or
a mention in the text around a log (a message number quoted in prose, a failure
line outside the log's runs). A finding is given when its line is read; the
lines after it are read with a bounded look-ahead (:class:`PendingFinding`) and
added by a later :class:`~nimwatch.core.events.FindingDetail`: continuation
lines of a long message, then its context after.

Past :data:`~nimwatch.core.limits.MAX_FINDINGS` findings in a run, a finding
is still given and judged the same way but carries no context and gets no
look-ahead (unless the lines after it may change its severity): a log of a
million message numbers costs no memory and little time per line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from nimwatch.core.events import Finding, FindingDetail, Severity
from nimwatch.core.limits import CONTEXT_CHARS, CONTEXT_LINES, MAX_CONTINUATION, MAX_FINDINGS, MAX_MENTIONS, MAX_TEXT
from nimwatch.core.pasted import RULE_LINE
from nimwatch.core.rules import MENTIONED, RuleSet, Signature
from nimwatch.core.runtrack import RunTracker

_ANY_CODE = re.compile(r"(?<![\w-])\d{4}-\d{3}(?!\d)")
_COMMAND_PREFIX = re.compile(r"^(?:[\w./-]+:\s*){0,2}$")
"""What may come before a message number in a line AIX printed: nothing, or ``cmd: `` (twice at most)."""


@dataclass
class PendingFinding:
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


class FindingTracker(RunTracker):
    """Findings and mentions, and the bounded look-ahead that completes them."""

    def __init__(self, rules: RuleSet, client: str = "", first_run: int = 1) -> None:
        super().__init__(rules, client, first_run)
        self._pending: list[PendingFinding] = []
        self._indent = 0
        """Indentation of the physical line being read (0 inside a pasted line)."""

    def _context_before(self) -> tuple[str, ...]:
        """The non-empty lines before the line being read (the parser knows them)."""
        return ()

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
        run = self.run
        capped = run is not None and run.findings >= MAX_FINDINGS
        if not capped:
            context = (*self._context_before(), *context)[-CONTEXT_LINES:]
        outside = run is None or run.sealed or not run.structured
        quoted = self._quoted_code(text, code, match)
        if quoted or (outside and not (sig.benign or sig.severity is Severity.INFO)):
            self._mention(sig, quoted or code, text, line_no, () if capped else context)
            return
        run = self._ensure_run(line_no)
        severity = sig.severity
        softened = False
        tracker = run.installp
        spec = self.rules.model.installp
        if sig.soften_in_installp and severity is not Severity.INFO and tracker is not None and tracker.active:
            assert spec is not None
            if capped:
                context = (*self._context_before(), *context)[-CONTEXT_LINES:]
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
                context=() if capped else context,
                benign=sig.benign,
                fills=fills,
            )
        )
        if not capped or softened:
            self._pending.append(
                PendingFinding(run.index, line_no, sig.id, text[:MAX_TEXT], sig.severity, softened, self._indent)
            )
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
        mentioned = self.rules.model.finding(MENTIONED)
        finding = Finding(
            run=run.index if run is not None else 0,
            phase=run.phase if run is not None else 0,
            line=line_no,
            rule=mentioned.id,
            code=code,
            severity=Severity.INFO,
            fails_run=False,
            text=text[:MAX_TEXT],
            title=mentioned.title,
            explanation=f"{mentioned.explanation} In a log it would read as: {sig.title}.",
            advice=mentioned.advice,
            context=context,
            benign=True,
        )
        if run is not None:
            self._emit(finding)
        elif len(self._mentions) < MAX_MENTIONS:
            self._mentions.append(finding)

    # ------------------------------------------------------------------ the lines after a finding

    def _read_after(self, text: str, indent: int) -> None:
        """Give one line (or pasted segment) to the findings still reading the lines after them.

        A line indented deeper than the finding's own continues its message
        (AIX wraps long messages with an indent); the others are its context after.
        """
        done: list[PendingFinding] = []
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
                pending.after.append(text[:CONTEXT_CHARS])
            if len(pending.after) >= CONTEXT_LINES:
                done.append(pending)
        for pending in done:
            self._pending.remove(pending)
            self._emit_detail(pending)

    def _message_ended(self) -> None:
        """An empty line ends the message of every finding still reading continuation lines."""
        for pending in self._pending:
            pending.continuing = False

    def _close_pending(self) -> None:
        """The end of the log: every finding still reading gets what it has."""
        for pending in self._pending:
            self._emit_detail(pending)
        self._pending = []

    def _emit_detail(self, pending: PendingFinding) -> None:
        if not pending.after and not pending.joined:
            return
        spec = self.rules.model.installp
        texts = (pending.text, *pending.after)
        failed = pending.softened and spec is not None and any(spec.failure_words.search(t) for t in texts)
        severity = pending.severity if failed else None  # (the lines after it say a softened one failed)
        self._emit(FindingDetail(pending.run, pending.line, pending.rule, pending.text, tuple(pending.after), severity))
