"""The findings of one run: a list, and the explanation and advice of the one highlighted.

Owns :class:`FindingsPanel`. Enter on a finding posts :class:`JumpToLine`, and
the detail screen shows that line in the log.
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
from nimwatch.tui.messages import JumpToLine
from nimwatch.views.report_text import SEVERITY_MARK

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def finding_label(finding: Finding) -> Text:
    severity = finding.severity.value
    code = f" {finding.code}" if finding.code else ""
    return Text.assemble(
        (f"{SEVERITY_MARK[severity]} {severity.upper():7}", SEVERITY_STYLE[severity]),
        f"{code} p{finding.phase} l{finding.line}: ",
        finding.title,
    )


def finding_detail(finding: Finding) -> Group:
    parts: list[Text] = [finding_label(finding), Text("")]
    for context in finding.context:
        parts.append(Text("      " + context, style="dim"))
    parts.append(Text.assemble(("Line: ", "bold"), finding.text))
    for context in finding.context_after:
        parts.append(Text("      " + context, style="dim"))
    if finding.explanation:
        parts.extend([Text(""), Text.assemble(("Why: ", "bold"), finding.explanation)])
    if finding.advice:
        parts.append(Text(""))
        parts.append(Text("Fix:", style="bold"))
        parts.extend(Text("  " + line) for line in finding.advice.splitlines())
    return Group(*parts)


class FindingsPanel(Vertical):
    """Findings with explanation and advice."""

    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.findings: list[Finding] = []

    def compose(self) -> ComposeResult:
        yield OptionList(id="finding-list")
        with VerticalScroll(id="finding-detail-box"):
            yield Static("No findings.", id="finding-detail")

    def show_findings(self, findings: Sequence[Finding]) -> None:
        if list(findings) == self.findings:
            return
        self.findings = list(findings)
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(Option(finding_label(f), id=str(i)) for i, f in enumerate(self.findings))
        if self.findings:
            options.highlighted = min(highlighted or 0, len(self.findings) - 1)
        self._show_detail(options.highlighted)

    def select_line(self, line: int) -> None:
        """Highlight the finding on ``line`` (when there is one)."""
        for index, finding in enumerate(self.findings):
            if finding.line == line:
                self.query_one(OptionList).highlighted = index
                self._show_detail(index)
                return

    def _show_detail(self, index: Optional[int]) -> None:
        detail = self.query_one("#finding-detail", Static)
        if index is None or not self.findings:
            detail.update("No findings." if not self.findings else "")
            return
        detail.update(finding_detail(self.findings[index]))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_detail(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(JumpToLine(self.findings[event.option_index].line))
