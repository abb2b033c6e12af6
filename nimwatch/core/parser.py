"""The nimadm log parser: lines in, events out.

Owns :class:`LogParser`: it reads blocks of complete lines, finds the few
lines that can matter (the scanners of :mod:`nimwatch.core.scanset`), and
gives each one to the state machine of its bases:
:class:`~nimwatch.core.runtrack.RunTracker` (runs, phases, installp tables,
outcomes) and :class:`~nimwatch.core.findings.FindingTracker` (findings,
mentions, the lines after them). It is pure: no files, clock or threads. Feed
it clean bytes (``feed_bytes``, what :class:`~nimwatch.core.reader.LogReader`
does: only candidate lines are decoded); the events are the same however the
input is chunked.

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
:class:`~nimwatch.core.installp.InstallpTracker`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from typing import Optional

from nimwatch.core.blocks import MAX_WINDOW, MIN_WINDOW, ByteLines
from nimwatch.core.events import Event, LinesRead
from nimwatch.core.findings import FindingTracker
from nimwatch.core.limits import CONTEXT_CHARS, CONTEXT_LINES
from nimwatch.core.pasted import PASTED_MIN_LENGTH, RULE_LINE, is_pasted, split_pasted
from nimwatch.core.rules import ABORTED, UNKNOWN_CODE, RuleSet, Signature
from nimwatch.core.runtrack import ParsedRun
from nimwatch.core.scanset import SPLITTER, ScannerSet, build_scanner

__all__ = [
    "MAX_WINDOW",
    "PASTED_MIN_LENGTH",
    "RULE_LINE",
    "LogParser",
    "ScannerSet",
    "build_scanner",
]


class LogParser(FindingTracker):
    """Cuts one nimadm log into runs, phases, facts, progress and findings.

    Args:
        rules: the compiled phase model and failure catalog.
        client: the client name from the file name (``<client>_alt_mig.log``);
            when empty it is taken from the log's own lines.
        scanner: the scanners, shared by every log of a process (built when not given).
        first_run: numbers the first run (a truncated log parsed anew continues the numbering).
    """

    def __init__(
        self, rules: RuleSet, client: str = "", scanner: Optional[ScannerSet] = None, first_run: int = 1
    ) -> None:
        super().__init__(rules, client, first_run)
        self.scanners = scanner or build_scanner(rules)
        self.line_no = 0
        self.last_text = ""
        self._lines: Optional[ByteLines] = None
        self._line_start = 0
        self._window = MIN_WINDOW
        self._context: deque[str] = deque(maxlen=CONTEXT_LINES)
        """The last non-empty lines of the blocks before this one."""

    # ------------------------------------------------------------------ feeding

    def feed_bytes(self, data: bytes) -> list[Event]:
        """Feed complete lines as clean bytes (:meth:`~nimwatch.core.decoder.LineDecoder.feed_bytes`):
        only the lines that can matter are decoded."""
        if not data:
            return []
        if not data.endswith(b"\n"):
            data += b"\n"
        return self._feed(ByteLines(data, self.scanners))

    def _feed(self, lines: ByteLines) -> list[Event]:
        events = self._events = []
        self._lines = lines
        count = lines.count_lines
        find = lines.line_end
        pos = 0
        n = len(lines.data)
        line_no = self.line_no  # lines before `counted_to`
        counted_to = 0
        key = self._scanner_key()
        seg_start, seg_run, seg_phase = 0, self.run, key
        # Candidates are found a window at a time, small after a phase change (phases change
        # often early in a run) and doubling while none comes: a change rescans little. The
        # size carries over from the block before (results never depend on it).
        window = self._window
        window_end = lines.window_end(0, window)
        starts = lines.candidates(key, 0, window_end)
        si = 0
        while pos < n:
            if self._every_line():
                start = pos  # a script's output, an installp table or the lines after a finding: read them all
                if self._table_only():
                    if pos >= window_end:
                        window_end = lines.window_end(pos, window)
                        starts = lines.candidates(key, pos, window_end)
                        si = 0
                    si = bisect_left(starts, pos, si)
                    if si >= len(starts) or starts[si] != pos:
                        # a row of an installp table that no rule can match: only the table reads it
                        stop = self._success_rows(lines, pos, starts[si] if si < len(starts) else window_end)
                        if stop > pos:
                            pos = stop
                            continue
                        line_no += count(counted_to, start)
                        counted_to = start
                        end = find(start)
                        self._line_start = start
                        self._table_line(lines.text(start, end), line_no + 1)
                        pos = end + 1
                        continue
            else:
                si = bisect_left(starts, pos, si)
                if si >= len(starts):
                    if window_end >= n:
                        break
                    pos = max(pos, window_end)
                    window = min(window * 2, MAX_WINDOW)
                    window_end = lines.window_end(pos, window)
                    starts = lines.candidates(key, pos, window_end)
                    si = 0
                    continue
                start = starts[si]
                si += 1
            line_no += count(counted_to, start)
            counted_to = start
            end = find(start)
            self._line_start = start
            mark = len(events)
            self._physical_line(lines.text(start, end), line_no + 1)
            pos = end + 1
            new_key = self._scanner_key()
            if new_key != key or self.run is not seg_run:
                # The stretch before this line is over: its progress goes before this line's events.
                line_events = events[mark:]
                del events[mark:]
                self._count_progress(seg_run, seg_phase, lines, seg_start, start, line_no)
                events.extend(line_events)
                seg_start, seg_run, seg_phase = start, self.run, new_key
                key = new_key
                window = MIN_WINDOW
                window_end = lines.window_end(pos, window)
                starts = lines.candidates(key, pos, window_end)
                si = 0
        lines_read = line_no + count(counted_to, n)
        self._count_progress(seg_run, seg_phase, lines, seg_start, n, lines_read)
        self._window = window
        self.line_no = lines_read
        self._remember_tail(lines)
        self._lines = None
        events.append(LinesRead(self.run.index if self.run else None, self.line_no, self.last_text))
        self._events = []
        return events

    def _every_line(self) -> bool:
        """Whether the next line must be read whatever it holds (not only candidate lines)."""
        run = self.run
        return bool(self._pending) or (run is not None and run.script_running is not None) or self._table_only()

    def _table_only(self) -> bool:
        """Whether every line is read only because an installp table is open (no finding, no script output)."""
        run = self.run
        return (
            not self._pending
            and run is not None
            and run.script_running is None
            and run.installp is not None
            and bool(run.installp.mode)
        )

    def _success_rows(self, lines: ByteLines, pos: int, limit: int) -> int:
        """Read the Installation Summary rows from ``pos`` that only say SUCCESS, up to ``limit`` (no rule
        can match a line before it): where the first other line starts (``pos`` when there is none).

        What :meth:`_table_line` does with such a row, for thousands of rows at once: the names join
        the table's good filesets, nothing else changes and no event comes (blank lines and headings
        are read the same way). Any other line stops it: the line-by-line path reads that one.
        """
        run = self.run
        if run is None or run.finished or run.installp is None:
            return pos
        tracker = run.installp
        if tracker.mode != "summary" or (tracker.dirty and tracker.flush):
            return pos
        text = lines.ascii_text(pos, limit)  # offsets in the text are offsets in the block
        if text is None:
            return pos
        header = tracker.spec.table_header.search
        at = pos
        short = len(RULE_LINE)  # a line no longer than this is never a pasted one
        for raw in text.split("\n")[:-1]:
            line = raw.strip()
            if line and ((len(line) > short and is_pasted(line)) or not (header(line) or tracker.success_row(line))):
                break
            at += len(raw) + 1
        return at

    def _table_line(self, raw: str, line_no: int) -> None:
        """A line read for an open installp table only (what :meth:`_physical_line` does with such a line)."""
        text = raw.strip()
        if not text:
            return
        run = self.run
        if is_pasted(text) or run is None or run.finished or run.installp is None:
            self._physical_line(raw, line_no)
            return
        if run.installp.on_line(text):
            self._fail_phase(line_no)
        self._flush_installp(line_no)

    def close(self) -> list[Event]:
        """End of the log: what is still being read is given out, a run that did not finish gets its outcome."""
        events = self._events = []
        self._close_pending()
        if self.run is not None and not self.run.finished:
            self._finish_at_end(self.line_no, "end of log", open_end=True)
        self._mentions = []
        self._events = []
        return events

    def _count_progress(
        self, run: Optional[ParsedRun], phase: int, lines: ByteLines, start: int, end: int, lines_to_end: int
    ) -> None:
        """Count phase ``phase``'s progress lines in ``lines[start:end]`` (one Progress per counter);
        ``lines_to_end`` is the number of lines of the log before ``end``."""
        if run is None or phase < 1 or start >= end:
            return
        counters = self.scanners.counters(phase)
        found = [p for c in counters if (p := lines.progress(run, phase, c, start, end, lines_to_end)) is not None]
        # In the order the log has them, not the counters': the last one sets the phase's progress,
        # and a stretch cut in two must leave the same one last.
        for _, progress_event in sorted(found, key=lambda item: item[0]):
            self._emit(progress_event)

    # ------------------------------------------------------------------ context

    def _context_before(self) -> tuple[str, ...]:
        """The non-empty lines before the current physical line (this block first, then earlier blocks)."""
        ctx: list[str] = []
        end = self._line_start - 1
        if self._lines is not None:
            ctx, end = _lines_before(self._lines, end)
        if len(ctx) < CONTEXT_LINES and end <= 0:
            ctx.extend(reversed(list(self._context)[-(CONTEXT_LINES - len(ctx)) :]))
        return tuple(reversed(ctx[:CONTEXT_LINES]))

    def _remember_tail(self, lines: ByteLines) -> None:
        found, _ = _lines_before(lines, len(lines.data) - 1)
        self._context.extend(reversed(found))
        if found:
            self.last_text = found[0]

    # ------------------------------------------------------------------ one line

    def _physical_line(self, raw: str, line_no: int) -> None:
        text = raw.strip()
        if not text:
            self._message_ended()
            return
        pasted = is_pasted(text)
        segments = self._segments(text) if pasted else [text]
        self._indent = 0 if pasted else len(raw) - len(raw.lstrip(" \t"))
        for index, seg in enumerate(segments):
            if self._pending:
                self._read_after(seg, self._indent if index == 0 else 0)
            before = tuple(s[:CONTEXT_CHARS] for s in segments[max(0, index - CONTEXT_LINES) : index])
            self._segment(seg, line_no, index, before)

    def _segments(self, text: str) -> list[str]:
        """Split a pasted line back into log lines (:func:`~nimwatch.core.pasted.split_pasted`)."""
        return split_pasted(text, self.scanners.for_phase(SPLITTER))

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
                    self._finding(self.rules.model.finding(UNKNOWN_CODE), m.group("code"), text, line_no, context)
                continue
            m = item.pattern.search(text)
            if m is None:
                continue
            if kind == "banner":
                self._banner(int(m.group("phase")), line_no)
                return
            if kind in ("no_script", "script_start", "review", "variant"):
                self._ensure_run(line_no, structure=True)  # (a review line does nothing else)
            if kind == "run_start":
                self._run_start(line_no, seg_index)
            elif kind == "cleanup_master":
                self._cleanup_master(text, line_no, context)
            elif kind == "cleanup_client":
                self._cleanup_client(m.group("client"), line_no)
            elif kind == "no_script":
                self._fact(f"script_phase{self._phase()}", "none", line_no)
                self._end_of_wakeup(line_no)
            elif kind == "script_start":
                assert self.run is not None
                self.run.script_running = m.group("name")
                self.run.script_lines = 0
                self._fact(f"script_phase{self._phase()}", m.group("name"), line_no)
            elif kind == "script_end":
                self._script_end(int(m.group("rc")), line_no)
            elif kind == "installp":
                self._installp_line(item.payload, m, text, line_no)
            elif kind == "fact":
                self._ensure_run(line_no)
                self._fact(item.payload.name, m.group("value"), line_no, item.payload.first_wins)
            elif kind == "variant":
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

    def _cleanup_master(self, text: str, line_no: int, context: tuple[str, ...]) -> None:
        """nimadm's clean-up on the master: the end of ``nimadm -C``, phase 12's routine, or an abort."""
        run = self._ensure_run(line_no, structure=True)
        if run.finished:
            return
        if run.phase == 0:
            self._variant("cleanup", line_no)
            return
        if run.phase >= 12:
            if "mksysb_output" in run.variants:
                # A migrated mksysb (-O) has no client: the master's clean-up is the last line.
                self._finish(line_no, "nimadm cleaned up on the master (mksysb output, no client)")
            return
        if not run.failed:
            self._finding(self.rules.model.finding(ABORTED), None, text, line_no, context)
        self._abort(line_no)


def _lines_before(lines: ByteLines, end: int) -> tuple[list[str], int]:
    """Up to :data:`CONTEXT_LINES` non-empty lines (not the banners' rule), cut to :data:`CONTEXT_CHARS`,
    walking back from the one that ends at ``end`` (nearest first), and where the walk stopped."""
    found: list[str] = []
    while end > 0 and len(found) < CONTEXT_LINES:
        start = lines.line_start(end)
        text = lines.text(start, end).strip()
        if text and text != RULE_LINE:
            found.append(text[:CONTEXT_CHARS])
        end = start - 1
    return found, end
