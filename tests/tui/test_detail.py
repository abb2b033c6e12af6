"""The client detail: tabs, log search and filter, jumps to findings, follow mode, the report key."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import OptionList, TabbedContent

from nimwatch.tui.app import NimwatchApp
from nimwatch.tui.detail import DetailScreen
from nimwatch.tui.facts import FactsPanel
from nimwatch.tui.findings import FindingsPanel
from nimwatch.tui.log_view import LogView
from nimwatch.views.report_data import report_records
from nimwatch.views.report_text import render_markdown

from .tuikit import FAILED_LOG, OK_LOG, RUNNING_LOG, AppFactory, wait_for, widget_text

SAMPLES = FAILED_LOG.parent.parent.parent.parent / "sample_logs"


def finding_lines(app: NimwatchApp, log: Path) -> list[int]:
    state = app.ctx.engine.logs[str(log)]
    assert state.current is not None
    return sorted({f.line for f in state.current.findings})


async def open_detail(pilot: Pilot[None], log: Path) -> DetailScreen:
    app = pilot.app
    assert isinstance(app, NimwatchApp)
    app.open_client(str(log))
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    return screen


async def test_tabs_by_key_and_the_overview_content(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, FAILED_LOG)
        await pilot.pause()
        tabs = screen.query_one(TabbedContent)
        assert tabs.active == "overview"
        timeline = widget_text(screen.query_one("#timeline"))
        assert "✖ failed" in timeline and "Install and migrate software" in timeline
        facts = widget_text(screen.query_one("#facts"))
        assert "hdisk1" in facts and "nimvg" in facts and "Reboot:" in facts
        await pilot.press("2")
        assert tabs.active == "findings"
        assert screen.query_one(OptionList).option_count == len(app.ctx.engine.logs[str(FAILED_LOG)].current.findings)  # type: ignore[union-attr]
        await pilot.press("3")
        assert tabs.active == "log"
        await pilot.press("1")
        assert tabs.active == "overview"


async def test_search_highlights_and_moves_between_matches(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, FAILED_LOG)
        await pilot.press("slash", *"APPLY", "enter")
        await pilot.pause()
        view = screen.query_one(LogView)
        lines = view.source.lines
        matches = [i + 1 for i, text in enumerate(lines[: view.limit]) if "apply" in text.lower()]
        assert view.search_text == "APPLY" and view.follow is False
        first = view.cursor_line
        assert first in matches
        await pilot.press("n")
        assert view.cursor_line == matches[matches.index(first) + 1]
        await pilot.press("N")
        assert view.cursor_line == first
        # the match is drawn in the match style on screen
        strip = view.render_line(view.cursor - int(view.scroll_y))
        match_style = view.get_component_rich_style("logview--match")
        assert any(seg.style is not None and seg.style.bgcolor == match_style.bgcolor for seg in strip)


async def test_filter_keeps_only_matching_lines(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, FAILED_LOG)
        await pilot.press("f", *"FAILED", "enter")
        await pilot.pause()
        view = screen.query_one(LogView)
        shown = view.visible_lines()
        assert shown and all("failed" in view.source.lines[n - 1].lower() for n in shown)
        assert len(shown) == sum(1 for t in view.source.lines[: view.limit] if "failed" in t.lower())
        await pilot.press("f", "ctrl+a", "ctrl+k", "enter")  # an empty filter shows everything again
        await pilot.pause()
        assert view.count == view.limit


async def test_jump_to_next_and_previous_finding(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, FAILED_LOG)
        lines = finding_lines(app, FAILED_LOG)
        view = screen.query_one(LogView)
        await pilot.press("right_square_bracket")
        assert screen.query_one(TabbedContent).active == "log"
        assert view.cursor_line == lines[0]
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert view.cursor_line == lines[2]
        await pilot.press("left_square_bracket")
        assert view.cursor_line == lines[1]
        # the cursor line is on screen
        assert int(view.scroll_y) <= view.cursor < int(view.scroll_y) + view.scrollable_content_region.height
        # the findings tab follows the jump
        panel = screen.query_one(FindingsPanel)
        assert panel.findings[panel.query_one(OptionList).highlighted or 0].line == lines[1]


async def test_enter_on_a_finding_shows_its_line(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, FAILED_LOG)
        await pilot.press("2")
        await pilot.pause()
        screen.query_one(OptionList).focus()
        panel = screen.query_one(FindingsPanel)
        start = panel.highlighted_finding  # the run's cause
        await pilot.press("down")
        await pilot.pause()
        chosen = panel.highlighted_finding
        assert chosen is not None and start is not None and chosen is panel.findings[panel.findings.index(start) + 1]
        detail = widget_text(screen.query_one("#finding-detail"))
        assert chosen.title in detail and "Fix:" in detail and "Why:" in detail
        await pilot.press("enter")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "log"
        assert screen.query_one(LogView).cursor_line == chosen.line


async def test_follow_mode_tracks_new_lines_until_switched_off(make_tui: AppFactory) -> None:
    # the running client, fed half-way: more lines arrive while the detail is open
    app = make_tui(paths=[RUNNING_LOG], preload=False)
    replay = app.ctx.replay
    assert replay is not None
    replay.seek_line(400)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, RUNNING_LOG)
        await pilot.press("3")
        view = screen.query_one(LogView)
        assert view.follow and view.cursor_line == 400
        replay.seek_line(500)
        await wait_for(pilot, lambda: view.limit == 500)
        assert view.cursor_line == 500
        await pilot.press("F")
        assert view.follow is False
        replay.seek_line(600)
        await wait_for(pilot, lambda: view.limit == 600)
        assert view.cursor_line == 500
        await pilot.press("F")
        assert view.follow is True and view.cursor_line == 600
        assert "follow on" in widget_text(screen.query_one("#log-status"))


async def test_report_key_writes_the_markdown_report(make_tui: AppFactory, tmp_path: Path) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, FAILED_LOG)
        await pilot.press("w")
        await pilot.pause()
        assert screen.report_path == tmp_path / "fail6inst_nimwatch_report.md"
        state = app.ctx.engine.logs[str(FAILED_LOG)]
        expected = render_markdown(report_records([state], app.ctx.rules))
        assert screen.report_path.read_text(encoding="utf-8") == expected
        assert "**FAILED**" in expected


async def test_detail_at_80x24(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, RUNNING_LOG)
        await pilot.press("3", "up", "up")
        view = screen.query_one(LogView)
        assert view.follow is False and view.cursor_line == view.limit - 2
        assert view.scrollable_content_region.height >= 10


async def test_the_log_status_line_follows_the_cursor_after_follow_mode(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, FAILED_LOG)
        await pilot.press("3")
        view = screen.query_one(LogView)
        status = screen.query_one("#log-status")
        await wait_for(pilot, lambda: f"line {view.limit}/{view.limit}  follow on" in widget_text(status))
        await pilot.press("F", "k", "k", "k")
        assert view.follow is False and view.cursor_line == view.limit - 3
        await wait_for(pilot, lambda: f"line {view.limit - 3}/{view.limit}  follow off" in widget_text(status))


async def test_next_finding_goes_on_from_the_cursor_after_another_tab(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, FAILED_LOG)
        lines = finding_lines(app, FAILED_LOG)
        view = screen.query_one(LogView)
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert view.cursor_line == lines[1]
        await pilot.press("1", "right_square_bracket")  # from the phases tab: the next one, not the first
        assert screen.query_one(TabbedContent).active == "log" and view.cursor_line == lines[2]
        await pilot.press("2", "left_square_bracket")
        assert view.cursor_line == lines[1]


async def test_each_tab_takes_the_keys_at_once(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_detail(pilot, FAILED_LOG)
        # Phases: the page scrolls down to the reboot verdict, off screen at 80x24
        scroll = screen.query_one("#overview-scroll")
        assert scroll.has_focus and scroll.max_scroll_y > 0
        facts = screen.query_one("#facts")
        await pilot.press("end")
        await wait_for(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y)
        assert facts.region.y + facts.region.height <= scroll.region.y + scroll.region.height + scroll.scroll_y + 1
        assert "Reboot:" in widget_text(facts)
        # Findings: the list takes up and down without Tab, and starts on the run's cause
        await pilot.press("2")
        options = screen.query_one(OptionList)
        assert options.has_focus
        row = app.ctx.row(str(FAILED_LOG))
        highlighted = screen.query_one(FindingsPanel).highlighted_finding
        assert row is not None and highlighted is not None and row.cause_line is not None
        assert highlighted.line == row.cause_line and row.cause_line != finding_lines(app, FAILED_LOG)[0]
        before = options.highlighted
        await pilot.press("down")
        assert options.highlighted == (before or 0) + 1
        # Log: the view
        await pilot.press("3")
        assert screen.query_one(LogView).has_focus


async def test_findings_of_an_earlier_run_can_be_opened(make_tui: AppFactory) -> None:
    rerun = SAMPLES / "rerun02_alt_mig.log"
    app = make_tui(paths=[rerun])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(pilot, rerun)
        await pilot.press("2")
        panel = screen.query_one(FindingsPanel)
        options = screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert labels[0].startswith("Run 2 of 2: succeeded")
        run1 = next(i for i, label in enumerate(labels) if label.startswith("Run 1 of 2: failed in phase 1"))
        rshd = next(i for i, label in enumerate(labels) if "0826-813" in label)
        assert rshd > run1  # run 1's findings under its header
        options.highlighted = rshd
        await pilot.press("enter")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "log"
        assert screen.query_one(LogView).cursor_line == 38
        assert panel.highlighted_finding is not None and panel.highlighted_finding.code == "0826-813"


async def test_verdict_colours_say_what_they_mean(make_tui: AppFactory) -> None:
    broken = SAMPLES / "bbverify12_alt_mig.log"
    app = make_tui(paths=[OK_LOG, FAILED_LOG, RUNNING_LOG, broken])
    async with app.run_test(size=(120, 40)) as pilot:
        for log, words, colour in (
            # failed, and the bootlist names the original disk: no reboot is needed, one would be harmless
            (FAILED_LOG, "the bootlist names hdisk0, the original rootvg", "yellow"),
            (RUNNING_LOG, "Do not reboot yet", "yellow"),
            (OK_LOG, "Safe to reboot", "bold green"),
            # failed in phase 6 with the bootlist on the new disk: a reboot now boots a broken system
            (broken, "Do NOT reboot: the bootlist names hdisk4, the migrated disk", "bold red"),
        ):
            screen = await open_detail(pilot, log)
            group = screen.query_one(FactsPanel).content
            assert isinstance(group, Group)
            line = next(r for r in group.renderables if isinstance(r, Text) and r.plain.startswith("Reboot: "))
            assert words in line.plain
            verdict = next(span for span in line.spans if span.start >= len("Reboot: "))
            assert str(verdict.style) == colour, (words, verdict.style)
            await pilot.press("escape")
