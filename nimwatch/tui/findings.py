"""The findings of a client's log: a list (every run's, under a line per run), and the one highlighted.

Owns :class:`FindingsPanel`. When the log holds more than one run (a re-run,
a clean-up after a failure), each run's findings come under a header line
(``Run 1 of 2: failed in phase 1``), the latest run first; the explanation and
advice of the highlighted finding show below the list, the run's cause first. Enter on a finding
posts :class:`JumpToLine`, and the detail screen shows that line in the log.
Text from the log is shown escaped (no control character reaches the
terminal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from nimwatch.core.events import Finding
from nimwatch.terminal import escape_controls
from nimwatch.tui.messages import JumpToLine
from nimwatch.views.report_text import SEVERITY_MARK

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}

RunFindings = tuple[int, str, Sequence[Finding]]
"""(run number, the run in words, its findings)."""


def finding_label(finding: Finding) -> Text:
    severity = finding.severity.value
    code = f" {finding.code}" if finding.code else ""
    return Text.assemble(
        (f"{SEVERITY_MARK[severity]} {severity.upper():7}", SEVERITY_STYLE[severity]),
        f"{code} p{finding.phase} l{finding.line}: ",
        escape_controls(finding.title),
    )


def finding_detail(finding: Finding) -> Group:
    parts: list[Text] = [finding_label(finding), Text("")]
    parts.extend(Text("      " + escape_controls(context), style="dim") for context in finding.context)
    parts.append(Text.assemble(("Line: ", "bold"), escape_controls(finding.text)))
    parts.extend(Text("      " + escape_controls(context), style="dim") for context in finding.context_after)
    if finding.explanation:
        parts.extend([Text(""), Text.assemble(("Why: ", "bold"), finding.explanation)])
    if finding.advice:
        parts.extend([Text(""), Text("Fix:", style="bold")])
        parts.extend(Text("  " + escape_controls(line)) for line in finding.advice.splitlines())
    return Group(*parts)


class FindingsPanel(Vertical):
    """Findings with explanation and advice."""

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.findings: list[Finding] = []
        """Every finding listed, in list order (the runs' header lines left out)."""
        self._options: list[Optional[Finding]] = []
        """What each line of the list is: a finding, or None for a run's header line."""
        self._runs: list[RunFindings] = []

    def compose(self) -> ComposeResult:
        yield OptionList(id="finding-list")
        with VerticalScroll(id="finding-detail-box"):
            yield Static("No findings.", id="finding-detail")

    def show_findings(self, runs: Sequence[RunFindings], cause_line: Optional[int] = None) -> None:
        """The findings of each run, the latest run first (a header line per run when there are several).

        The first time, the finding on ``cause_line`` (the run's cause, as the
        dashboard names it) is highlighted; after that, the highlight stays.
        """
        runs = [(n, label, list(f)) for n, label, f in runs]
        if runs == self._runs:
            return
        self._runs = runs
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        self._options = []
        items: list[Option] = []
        for number, label, findings in runs:
            if len(runs) > 1:
                header = Text(f"Run {number} of {len(runs)}: {label}", style="bold underline")
                items.append(Option(header, disabled=True))
                self._options.append(None)
            for finding in findings:
                items.append(Option(finding_label(finding)))
                self._options.append(finding)
        options.add_options(items)
        self.findings = [f for f in self._options if f is not None]
        if self.findings:
            first = next(i for i, f in enumerate(self._options) if f is not None)
            if highlighted is None and cause_line is not None:
                first = next((i for i, f in enumerate(self._options) if f is not None and f.line == cause_line), first)
            options.highlighted = max(first, min(highlighted or first, len(self._options) - 1))
        self._show_detail(options.highlighted)

    @property
    def highlighted_finding(self) -> Optional[Finding]:
        index = self.query_one(OptionList).highlighted
        return self._options[index] if index is not None and 0 <= index < len(self._options) else None

    def select_line(self, line: int) -> None:
        """Highlight the finding on ``line`` (when there is one)."""
        for index, finding in enumerate(self._options):
            if finding is not None and finding.line == line:
                self.query_one(OptionList).highlighted = index
                self._show_detail(index)
                return

    def _show_detail(self, index: Optional[int]) -> None:
        detail = self.query_one("#finding-detail", Static)
        finding = self._options[index] if index is not None and 0 <= index < len(self._options) else None
        if finding is None:
            detail.update("No findings." if not self.findings else "")
            return
        detail.update(finding_detail(finding))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_detail(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        finding = self._options[event.option_index]
        if finding is not None:
            self.post_message(JumpToLine(finding.line))
