"""The dashboard: one correct row per client, sort, filter, open, mouse."""

from __future__ import annotations

from pathlib import Path

from nimwatch.tui.client_table import ClientTable
from nimwatch.tui.dashboard import DashboardScreen
from nimwatch.tui.detail import DetailScreen

from .tuikit import FAILED_LOG, OK_LOG, RUNNING_LOG, AppFactory, wait_for, widget_text


def rows_by_client(app: object) -> dict[str, object]:
    ctx = app.ctx  # type: ignore[attr-defined]
    return {row.client: row for row in ctx.rows()}


async def test_three_clients_three_correct_rows(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        # sorted by status: what needs a person first
        assert screen.shown == [str(FAILED_LOG), str(RUNNING_LOG), str(OK_LOG)]
        rows = rows_by_client(app)
        failed, running, ok = rows["fail6inst"], rows["running01"], rows["aixlpar53"]
        assert (failed.status, failed.phase) == ("failed", 6)  # type: ignore[attr-defined]
        assert (running.status, running.phase) == ("running", 6)  # type: ignore[attr-defined]
        assert (ok.status, ok.phase, ok.fraction) == ("succeeded", 12, 1.0)  # type: ignore[attr-defined]
        table = app.screen.query_one(ClientTable)
        assert table.row_count == 3
        first = [cell.plain for cell in table.get_row_at(0)]
        assert first[0] == "✖ failed" and first[1] == "fail6inst" and first[2].startswith("6/12 Install")
        summary = widget_text(app.screen.query_one("#summary"))
        assert "1 running" in summary and "1 failed" in summary and "1 succeeded" in summary


async def test_sort_and_status_filter_cycle(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await pilot.press("s")  # by client name
        assert screen.sort == "client" and not screen.descending
        assert screen.shown == [str(OK_LOG), str(FAILED_LOG), str(RUNNING_LOG)]
        await pilot.press("S")  # the other way
        assert screen.descending and screen.shown == [str(RUNNING_LOG), str(FAILED_LOG), str(OK_LOG)]
        assert screen.query_one(ClientTable).columns["client"] == "Client ▼"
        await pilot.press("f")  # problems
        assert screen.status_filter == "problems"
        assert screen.shown == [str(FAILED_LOG)]
        await pilot.press("f")  # ready to reboot
        assert screen.shown == [str(OK_LOG)]
        await pilot.press("f")  # running
        assert screen.shown == [str(RUNNING_LOG)]
        await pilot.press("escape")
        assert screen.status_filter == "all" and len(screen.shown) == 3


async def test_name_filter_through_the_prompt(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("slash")
        await pilot.press(*"AIX", "enter")
        await pilot.pause()
        assert screen.shown == [str(OK_LOG)]  # type: ignore[attr-defined]
        assert screen.query_one(ClientTable).row_count == 1


async def test_enter_opens_the_detail_of_the_row_under_the_cursor(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.log_path == str(RUNNING_LOG)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_a_click_on_a_row_opens_it(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        # row 3 (succeeded) is the fourth line of the table (after the header): one click opens it
        await pilot.click(ClientTable, offset=(20, 3))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.log_path == str(OK_LOG)


async def test_narrow_terminal_keeps_the_essential_columns(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ClientTable)
        keys = list(table.columns)
        assert keys == ["status", "client", "phase", "reboot", "cause"]
        assert table.virtual_size.width <= 80
        # the client names are whole at 80 columns
        assert [cell.plain for cell in (table.get_row_at(i)[1] for i in range(3))] == [
            "fail6inst", "running01", "aixlpar53"
        ]


async def test_quit_key(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)
    assert app.ctx.replay is not None and app.ctx.replay._stop.is_set()


async def test_the_mouse_highlights_the_row_under_it_until_a_key_is_pressed(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ClientTable)
        plain = widget_text(table)
        await pilot.hover(ClientTable, offset=(20, 2))  # the second row
        await pilot.pause()
        assert table.hover_row == 1 and table.cursor_row == 0
        assert widget_text(table) == plain  # same text, another background
        await pilot.hover(ClientTable, offset=(20, 0))  # the header is not a row
        assert table.hover_row == -1
        await pilot.hover(ClientTable, offset=(20, 3))
        assert table.hover_row == 2
        await pilot.press("down")
        assert table.hover_row == -1 and table.cursor_row == 1


async def test_a_click_on_a_header_sorts_and_a_second_click_reverses(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(ClientTable)
        assert table.columns["status"] == "Status ▲"

        def header_x(key: str) -> int:
            x = 0
            for column, _, width in table.column_layout:
                if column == key:
                    return x + 2
                x += width + 2
            raise AssertionError(key)

        await pilot.click(ClientTable, offset=(header_x("progress"), 0))
        await pilot.pause()
        assert (screen.sort, screen.descending) == ("progress", True)  # the most advanced first
        assert table.columns["progress"] == "Progress ▼" and table.columns["status"] == "Status"
        assert screen.shown[0] == str(OK_LOG)
        await pilot.click(ClientTable, offset=(header_x("progress"), 0))
        await pilot.pause()
        assert (screen.sort, screen.descending) == ("progress", False)
        assert table.columns["progress"] == "Progress ▲" and screen.shown[-1] == str(OK_LOG)


async def test_ready_to_reboot_filter_and_filter_as_you_type(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await pilot.press("r")
        assert screen.status_filter == "ready" and screen.shown == [str(OK_LOG)]
        await pilot.press("r")
        assert screen.status_filter == "all" and len(screen.shown) == 3
        await pilot.press("slash", "f", "a")  # no Enter yet: the table follows each key
        await wait_for(pilot, lambda: screen.shown == [str(FAILED_LOG)])
        await pilot.press("backspace", "backspace", "r", "u")
        await wait_for(pilot, lambda: screen.shown == [str(RUNNING_LOG)])
        await pilot.press("escape")  # cancel: the filter as it was before
        await wait_for(pilot, lambda: len(screen.shown) == 3 and screen.name_filter == "")


async def test_the_cursor_stays_on_the_most_urgent_row_until_moved(make_tui: AppFactory) -> None:
    app = make_tui(preload=False)
    replay = app.ctx.replay
    assert replay is not None
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(ClientTable)
        for fraction in (0.2, 0.6, 1.0):  # rows arrive and change order, as when nimwatch starts on a directory
            replay.seek_fraction(fraction)
            await wait_for(pilot, lambda: len(screen.shown) == 3)
            await pilot.pause()
            assert table.cursor_row == 0 and table.selected_log == screen.shown[0]
        assert screen.shown[0] == str(FAILED_LOG)
        await pilot.press("down")  # the user moved it: from now on it stays on its client
        chosen = table.selected_log
        await pilot.press("s")
        assert table.selected_log == chosen


async def test_full_client_names_and_the_cause_at_every_width(make_tui: AppFactory, tmp_path: Path) -> None:
    paths = []
    for name, source in (("lpar-hq-oracle-db-07", FAILED_LOG), ("lpar-hq-oracle-db-08", RUNNING_LOG)):
        path = tmp_path / f"{name}_alt_mig.log"
        path.write_bytes(source.read_bytes())
        paths.append(path)
    for size in ((220, 60), (140, 40), (80, 24)):
        app = make_tui(paths=paths)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            table = app.screen.query_one(ClientTable)
            text = widget_text(table)
            assert "lpar-hq-oracle-db-07" in text and "lpar-hq-oracle-db-08" in text, size
            cells = {key: cell.plain for (key, _, _), cell in zip(table.column_layout, table.get_row_at(0))}
            assert cells["cause"].startswith("installp: requisite"), size
            reboot = list(table.columns).index("reboot")
            assert cells["reboot"] == "do not" and table.get_row_at(1)[reboot].plain == "wait"
            if size[0] >= 140:
                assert cells["cause"] == "installp: requisite failures"
                assert cells["phase"] == "6/12 Install and migrate software (installp)"
            if size[0] >= 220:
                assert "last" in table.columns


async def test_the_columns_follow_a_resized_terminal(make_tui: AppFactory) -> None:
    app = make_tui()
    async with app.run_test(size=(220, 60)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: "last" in table.columns)
        for size in ((80, 24), (140, 40), (220, 60)):
            await pilot.resize_terminal(*size)
            # every column fits the new width: nothing to scroll to, the cause always shown
            await wait_for(pilot, lambda width=size[0]: table.size.width == width and table.fitted)
            assert table.virtual_size.width <= table.size.width, size
            assert "cause" in table.columns, size
            assert ("last" in table.columns) == (size[0] >= 220), size
            text = widget_text(table)
            assert "installp: requisite" in text, (size, text)
