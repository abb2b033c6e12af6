"""Live following through the tailer, and the tui / replay commands building the app."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from nimwatch import termcheck
from nimwatch.cli import main
from nimwatch.commands.tui import pick_theme
from nimwatch.engine import Engine
from nimwatch.rulefiles import load_rules
from nimwatch.sources.tail import Tailer
from nimwatch.tui.app import NimwatchApp, make_app

from .tuikit import EPOCH, FAILED_LOG, RUNNING_LOG, wait_for


async def test_live_log_lines_reach_the_row(tmp_path: Path) -> None:
    log = tmp_path / "live01_alt_mig.log"
    lines = RUNNING_LOG.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:50]))
    engine = Engine(load_rules())
    app = make_app(engine, tailer=Tailer(engine, [tmp_path], poll=0.05), clock=lambda: EPOCH)
    key = str(log)

    def phase() -> int:
        row = app.ctx.row(key)
        return row.phase if row is not None else -1

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: phase() == 2)
        await wait_for(pilot, lambda: app.screen.shown == [key])  # type: ignore[attr-defined]
        with log.open("ab") as handle:
            handle.write(b"".join(lines[50:400]))
        await wait_for(pilot, lambda: phase() == 6)
        row = app.ctx.row(key)
        assert row is not None and row.status == "running" and row.last_line == lines[399].decode().strip()
        # a log that appears later gets its row
        (tmp_path / "late02_alt_mig.log").write_bytes(FAILED_LOG.read_bytes())
        await wait_for(pilot, lambda: len(app.screen.shown) == 2)  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: getattr(app.ctx.row(str(tmp_path / "late02_alt_mig.log")), "status", "") == "failed")


class Captured:
    app: Any = None


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Captured:
    """``NimwatchApp.run`` records the app instead of taking over the terminal (taken to be one)."""
    box = Captured()

    def fake_run(self: NimwatchApp, *args: object, **kwargs: object) -> None:
        box.app = self

    monkeypatch.setattr(NimwatchApp, "run", fake_run)
    monkeypatch.setattr(termcheck, "tui_problem", lambda: None)
    return box


def test_tui_command_follows_a_directory(captured: Captured, tmp_path: Path) -> None:
    (tmp_path / "one_alt_mig.log").write_bytes(RUNNING_LOG.read_bytes())
    assert main(["tui", str(tmp_path), "--poll", "0.5", "--theme", "ansi-dark", "--report-dir", str(tmp_path)]) == 0
    app = captured.app
    assert isinstance(app, NimwatchApp)
    assert isinstance(app.tailer, Tailer) and app.tailer.poll == 0.5
    assert app.initial_theme == "ansi-dark" and app.ctx.report_dir == tmp_path
    assert app.stall is not None


def test_no_arguments_means_tui_on_the_default_directory(
    captured: Captured, capsys: pytest.CaptureFixture[str]
) -> None:
    if Path("/var/adm/ras/alt_mig").exists():
        pytest.skip("this machine has a real /var/adm/ras/alt_mig")
    assert main([]) == 2
    assert "/var/adm/ras/alt_mig: no such directory" in capsys.readouterr().err
    assert captured.app is None


def test_without_a_terminal_the_tui_refuses_and_points_to_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    started: list[NimwatchApp] = []
    monkeypatch.setattr(NimwatchApp, "run", lambda self, *a, **k: started.append(self))
    (tmp_path / "one_alt_mig.log").write_bytes(RUNNING_LOG.read_bytes())
    # pytest's output is not a terminal: neither a bare `nimwatch` nor `nimwatch tui` opens the TUI
    for argv in ([], ["tui", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "the TUI needs a terminal, and standard input is not one" in err and "nimwatch status" in err
        assert ("usage: nimwatch" in err and "status " in err) == (argv == [])  # a bare `nimwatch`: the help too
    assert started == []


class Tty(io.StringIO):
    def __init__(self, encoding: str = "utf-8") -> None:
        super().__init__()
        self._encoding = encoding

    def isatty(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def test_terminals_that_cannot_show_the_tui() -> None:
    tty = (Tty(), Tty(), Tty())
    assert termcheck.tui_problem({"TERM": "xterm-256color"}, tty) is None
    assert termcheck.tui_problem({"TERM": "aixterm"}, tty) is None
    for term in ("vt100", "vt220", "vt100-am", "dumb", ""):
        problem = termcheck.tui_problem({"TERM": term}, tty)
        assert problem is not None and "nimwatch status" in problem and "TERM=xterm" in problem, term
    redirected = (Tty(), io.StringIO(), Tty())
    assert "standard output is not one" in (termcheck.tui_problem({"TERM": "xterm"}, redirected) or "")
    # the character set is the locale's: ISO8859-1 (AIX's en_US) or ASCII get the ASCII driver, UTF-8 does not
    assert termcheck.needs_ascii(Tty("ISO-8859-1")) and termcheck.needs_ascii(Tty("ascii"))
    assert not termcheck.needs_ascii(Tty("utf-8"))


def test_replay_command_builds_the_app_with_its_controls(captured: Captured) -> None:
    code = main(["replay", str(FAILED_LOG), "--speed", "5"])
    app = captured.app
    assert isinstance(app, NimwatchApp)
    assert app.ctx.replay is not None and app.ctx.replay.speed == 5.0
    assert code == 3  # nothing was replayed: the run is not finished


def test_auto_theme_keeps_to_16_colours_on_plain_terminals() -> None:
    assert pick_theme("auto", {"TERM": "aixterm"}) == "ansi-dark"
    assert pick_theme("auto", {"TERM": "xterm"}) == "ansi-dark"
    assert pick_theme("auto", {"TERM": "xterm-256color"}) == "textual-dark"
    assert pick_theme("auto", {"TERM": "xterm", "COLORTERM": "truecolor"}) == "textual-dark"
    assert pick_theme("textual-light", {}) == "textual-light"
