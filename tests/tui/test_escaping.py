"""Nothing from a log or a file name reaches the terminal raw: the TUI shows control characters escaped."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from nimwatch.tui.client_table import ClientTable
from nimwatch.tui.detail import DetailScreen
from nimwatch.tui.findings import FindingsPanel
from nimwatch.tui.log_view import LogView

from .tuikit import AppFactory, wait_for, widget_text

EVIL = (
    b"Initializing the NIM master.\n"
    b"Executing nimadm phase 1.\n"
    b"0505-187 nimadm: Error cloning altinst_rootvg on client \x1b]2;PWNED\x07 \x1b[31mred\x1b[0m.\n"
)
RAW = ("\x1b", "\x07", "\x9b")


async def test_a_log_and_its_name_are_shown_escaped_everywhere(make_tui: AppFactory, tmp_path: Path) -> None:
    log = tmp_path / "evil\x1b[5m_alt_mig.log"
    log.write_bytes(EVIL)
    app = make_tui(paths=[log], close=True)
    async with app.run_test(size=(200, 40)) as pilot:
        await pilot.pause()
        table = widget_text(app.screen.query_one(ClientTable))
        assert "evil\\x1b[5m" in table and not any(ch in table for ch in RAW)
        app.open_client(str(log))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.ready)
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        for part in ("#detail-title", "#facts"):
            text = widget_text(screen.query_one(part))
            assert not any(ch in text for ch in RAW), part
        await pilot.press("2")
        panel = screen.query_one(FindingsPanel)
        options = screen.query_one(OptionList)
        options.highlighted = next(i for i, f in enumerate(panel.findings) if f.code == "0505-187")
        await pilot.pause()
        detail = widget_text(screen.query_one("#finding-detail"))
        assert "\\x1b]2;PWNED\\x07 \\x1b[31mred\\x1b[0m" in detail and not any(ch in detail for ch in RAW)
        await pilot.press("3")
        view = screen.query_one(LogView)
        shown = widget_text(view)
        assert "\\x1b]2;PWNED\\x07 \\x1b[31mred\\x1b[0m." in shown and not any(ch in shown for ch in RAW)
        await pilot.press("slash", *"PWNED", "enter")  # search works on the text as shown
        await wait_for(pilot, lambda: view.cursor_line == 3)
