"""Any terminal, any locale: text from logs and file names is shown escaped, symbols fall back to ASCII."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.cells import cell_len

from nimwatch.config import TuiOptions, load_config
from nimwatch.errors import ConfigError
from nimwatch.rulefiles import load_rules
from nimwatch.sources.files import read_log
from nimwatch.terminal import escape_controls
from nimwatch.tui.ascii_driver import to_charset
from nimwatch.views.report_data import report_records
from nimwatch.views.report_text import render_markdown, render_text

EVIL = (
    b"Initializing the NIM master.\n"
    b"Executing nimadm phase 1.\n"
    b"0505-187 nimadm: Error cloning altinst_rootvg on client \x1b]2;PWNED\x07\x1b[31m \xe2\x80\xae.\n"
    b"0505-111 alt_disk_install: There is not enough disk \x9b2J space.\n"  # not UTF-8: read as ISO-8859-1
)


def test_escape_controls() -> None:
    assert escape_controls("plain\ttext\n") == "plain\ttext\n"
    assert escape_controls("a\x1b]2;t\x07b\rc\x08\x00\x7f\x9b\u202e") == "a\\x1b]2;t\\x07b\\rc\\b\\0\\x7f\\x9b\\u202e"
    assert escape_controls("name\udcff") == "name\\xff"  # a byte a file name could not decode


def test_reports_never_print_a_log_s_control_characters(tmp_path: Path) -> None:
    log = tmp_path / "evil\x1b[1m_alt_mig.log"
    log.write_bytes(EVIL)
    rules = load_rules()
    records = report_records([read_log(log, rules)], rules)
    for text in (render_text(records), render_markdown(records)):
        assert not any(ch in text for ch in "\x1b\x07\x9b\u202e"), repr(text)
        assert "\\x1b]2;PWNED\\x07" in text and "\\u202e" in text and "\\x9b2J" in text


def test_the_ascii_driver_keeps_every_width() -> None:
    cache: dict[str, str] = {}
    drawn = "▶ running ✔ ✖ ‖ · █░ ━━╸ ┃ ┌─┐ ▁▂ ▲▼ … é 漢"
    latin1 = to_charset(drawn, "iso8859-1", cache)
    assert latin1 == "> running + X ! · #- --- | +-+    ^v . é ??"
    assert cell_len(latin1) == cell_len(drawn)
    latin1.encode("iso8859-1")
    plain = to_charset(drawn, "ascii", {})
    assert plain.isascii() and cell_len(plain) == cell_len(drawn)
    assert to_charset("\x1b[31mred\x1b[0m", "ascii", {}) == "\x1b[31mred\x1b[0m"  # the driver's own sequences pass
    assert to_charset(drawn, "utf-8", {}) == drawn


def test_the_tui_section_of_the_config(tmp_path: Path) -> None:
    config = tmp_path / "nimwatch.yaml"
    config.write_text("tui:\n  bell: false\n")
    assert load_config(config).tui == TuiOptions(bell=False, title=True)
    config.write_text("tui:\n  bel: false\n")
    with pytest.raises(ConfigError, match=r"nimwatch.yaml:2.*tui.bel.*bell"):
        load_config(config)
    config.write_text("tui:\n  title: maybe\n")
    with pytest.raises(ConfigError, match=r"tui\.title: must be true or false"):
        load_config(config)
    assert load_config(None).tui is None
