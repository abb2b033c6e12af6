"""The client detail screen: phases, facts, findings and the log of one client.

Owns :class:`DetailScreen`. The fleet's summary line at the top (a failure
elsewhere shows here too), then three tabs: Phases (the phase timeline, the
run's facts and the reboot verdict, scrollable), Findings (every run's, each
with explanation and advice) and Log (highlighted, with filter as you type,
search, jump to the next or previous finding from the cursor, and follow
mode). Each tab takes the keys as soon as it is shown. ``w`` writes the
client's Markdown report (the same as ``nimwatch report --format markdown``)
to a file.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static, TabbedContent, TabPane

from nimwatch.core.advice import advice_values, fill_advice
from nimwatch.core.verdict import run_label
from nimwatch.terminal import escape_controls
from nimwatch.tui.app_screen import AppScreen
from nimwatch.tui.context import TuiContext
from nimwatch.tui.facts import FactsPanel
from nimwatch.tui.findings import FindingsPanel
from nimwatch.tui.log_view import LogView
from nimwatch.tui.messages import JumpToLine
from nimwatch.tui.prompt import PromptScreen
from nimwatch.tui.replay_bar import ReplayBar
from nimwatch.tui.summary import SummaryBar
from nimwatch.tui.table_cells import REBOOT_STYLE, STATUS_STYLE
from nimwatch.tui.timeline import PhaseTimeline
from nimwatch.views.status_table import fmt_duration

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class DetailScreen(AppScreen):
    """Everything about one client."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("1", "tab('overview')", "Phases", show=False),
        Binding("2", "tab('findings')", "Findings", show=False),
        Binding("3", "tab('log')", "Log", show=False),
        Binding("slash", "search", "Search"),
        Binding("n", "match(1)", "Next match", show=False),
        Binding("N", "match(-1)", "Prev match", show=False),
        Binding("f", "filter", "Filter"),
        Binding("right_square_bracket", "finding(1)", "Next finding"),
        Binding("left_square_bracket", "finding(-1)", "Prev finding", show=False),
        Binding("F", "follow", "Follow", show=False),
        Binding("w", "write_report", "Report", show=False),
    ]

    def __init__(self, ctx: TuiContext, log: str, line: Optional[int] = None) -> None:
        super().__init__("detail")
        self.ctx = ctx
        self.log_path = log
        self._start_line = line
        self._start_tab = "overview"
        self.report_path: Optional[Path] = None
        """The last report written (tests read it)."""

    def compose(self) -> ComposeResult:
        yield SummaryBar()
        yield Static(id="detail-title")
        if self.ctx.replay is not None:
            yield ReplayBar(self.ctx.replay)
        with TabbedContent(initial="overview", id="tabs"):
            with TabPane("Phases", id="overview"), VerticalScroll(id="overview-scroll"):
                yield PhaseTimeline(id="timeline")
                yield FactsPanel(id="facts")
            with TabPane("Findings", id="findings"):
                yield FindingsPanel(id="findings-panel")
            with TabPane("Log", id="log"):
                yield LogView(self.log_path, id="log-view")
                yield Static(id="log-status")
        yield Footer()

    def on_mount(self) -> None:
        # The tab panes mount their children after this screen's Mount: draw once they are there.
        self.call_after_refresh(self._first_draw)

    def _first_draw(self) -> None:
        self.ready = True
        self.refresh_state({self.log_path}, full=True)
        if self._start_line is not None:
            self.show_line(self._start_line)
        else:
            self.action_tab(self._start_tab)

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    # ------------------------------------------------------------------ refresh

    def refresh_state(self, dirty: set[str], full: bool = False) -> None:
        ctx = self.ctx
        self.query_one(SummaryBar).show(ctx.fleet or ctx.rows(), ctx.alerts.unacknowledged)
        if not full and self.log_path not in dirty:
            if ctx.replay is not None:
                self.query_one(ReplayBar).update_from_replay()
            return
        with ctx.engine.locked():
            state = ctx.engine.logs.get(self.log_path)
            if state is None:
                return
            run = state.current
            row = ctx.row(self.log_path)
            self.query_one(PhaseTimeline).show_run(run, ctx.rules, ctx.now(), ctx.timed(self.log_path))
            self.query_one(FactsPanel).show_run(state, run, ctx.display_path(self.log_path))
            runs = []
            for each in reversed(state.runs):
                values = advice_values(each, state.client)
                filled = [replace(f, advice=fill_advice(f.advice, {**values, **dict(f.fills)})) for f in each.findings]
                runs.append((each.index, run_label(each), filled))
            lines = state.lines
        panel = self.query_one(FindingsPanel)
        panel.show_findings(runs, row.cause_line if row is not None else None)
        # a line's colour: its last finding's severity, "error" if any of them is one
        severities = {f.line: f.severity.value for f in panel.findings}
        severities.update({f.line: "error" for f in panel.findings if f.severity.value == "error"})
        view = self.log_view
        view.set_findings(severities)
        view.set_limit(lines)
        if row is not None:
            title = Text.assemble(
                (row.label, "bold"),
                "  ",
                (f"{row.symbol} {row.status}", STATUS_STYLE[row.status]),
                "  reboot: ",
                (row.reboot_word, REBOOT_STYLE[row.reboot]),
                f"  phase {row.phase_label}  elapsed {fmt_duration(row.elapsed)}  findings {row.findings}",
            )
            self.query_one("#detail-title", Static).update(title)
        self.query_one(TabbedContent).get_tab("findings").label = f"Findings ({len(panel.findings)})"
        self._log_status()
        if ctx.replay is not None:
            self.query_one(ReplayBar).update_from_replay()

    def _log_status(self) -> None:
        view = self.log_view
        bits = [f"line {view.cursor_line}/{view.limit}", f"follow {'on' if view.follow else 'off'}"]
        if view.filter_text:
            bits.append(f"filter '{view.filter_text}': {view.count} lines")
        if view.search_text:
            bits.append(f"search '{view.search_text}'")
        if view.source.error:
            bits.append(escape_controls(view.source.error))
        self.query_one("#log-status", Static).update(Text("  ".join(bits)))

    def on_log_view_moved(self, message: LogView.Moved) -> None:
        message.stop()
        if self.ready:
            self._log_status()

    # ------------------------------------------------------------------ actions

    def action_tab(self, tab: str) -> None:
        if not self.ready:  # a key pressed while the screen opens: its first draw shows that tab
            self._start_tab = tab
            return
        self.query_one(TabbedContent).active = tab
        self._focus_tab(tab)

    def _focus_tab(self, tab: str) -> None:
        """The tab shown takes the keys at once (no Tab key needed)."""
        target = {"overview": "#overview-scroll", "findings": "#finding-list", "log": "#log-view"}[tab]
        self.query_one(target).focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id
        if self.ready and pane in ("overview", "findings", "log"):
            self._focus_tab(pane)

    def show_line(self, line: int) -> None:
        """Open the log tab on ``line`` (follow mode off)."""
        self.action_tab("log")
        view = self.log_view
        view.follow = False
        view.jump_to_line(line)
        self.query_one(FindingsPanel).select_line(line)
        self._log_status()

    def on_jump_to_line(self, message: JumpToLine) -> None:
        message.stop()
        self.show_line(message.line)

    def action_search(self) -> None:
        def done(value: Optional[str]) -> None:
            if value is None:
                return
            self.action_tab("log")
            self.log_view.follow = False
            if not self.log_view.set_search(value) and value:
                self.notify(f"'{value}' is not in the log shown", severity="warning", markup=False)
            self._log_status()

        self.app.push_screen(PromptScreen("Search:", self.log_view.search_text), done)

    def action_match(self, direction: int) -> None:
        view = self.log_view
        if not view.search_text:
            self.action_search()
            return
        self.action_tab("log")
        view.follow = False
        if not view.next_match(direction):
            self.notify(f"'{view.search_text}' is not in the log shown", severity="warning", markup=False)
        self._log_status()

    def action_filter(self) -> None:
        def typed(value: str) -> None:
            self.log_view.set_filter(value.strip())
            self._log_status()

        def done(value: Optional[str]) -> None:
            if value is not None:
                typed(value)
                self.action_tab("log")

        self.query_one(TabbedContent).active = "log"
        prompt = PromptScreen("Show only lines containing:", self.log_view.filter_text, on_change=typed)
        self.app.push_screen(prompt, done)

    def action_finding(self, direction: int) -> None:
        lines = sorted({f.line for f in self.query_one(FindingsPanel).findings})
        if not lines:
            self.notify("This log has no findings.", severity="information")
            return
        view = self.log_view
        # from the cursor, unless follow mode still holds it on the last line: then from the top (or the end)
        current = (0 if direction > 0 else view.limit + 1) if view.follow else view.cursor_line
        # the nearest finding that way: the first after the cursor, or the last before it
        target = next((line for line in lines[::direction] if (line - current) * direction > 0), None)
        if target is None:
            self.notify("No more findings that way.", severity="information")
            return
        self.show_line(target)

    def action_follow(self) -> None:
        self.action_tab("log")
        view = self.log_view
        view.follow = not view.follow
        self._log_status()
        self.notify(f"Follow {'on' if view.follow else 'off'}")

    def action_write_report(self) -> None:
        from nimwatch.views.report_data import report_records
        from nimwatch.views.report_text import render_markdown

        with self.ctx.engine.locked():
            state = self.ctx.engine.logs.get(self.log_path)
            if state is None:
                return
            text = render_markdown(report_records([state], self.ctx.rules))
            client = state.client or Path(self.log_path).stem
        path = self.ctx.report_dir / f"{_UNSAFE.sub('_', client)}_nimwatch_report.md"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.notify(f"Cannot write {path}: {exc.strerror or exc}", severity="error", title="Report")
            return
        self.report_path = path
        self.notify(f"Report written to {path}", title="Report")
