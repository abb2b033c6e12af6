"""Headless nimwatch never imports Textual: the plain fallback must work where Textual cannot draw.

Each module outside ``nimwatch.tui`` is imported in a fresh interpreter, and
the headless commands are run in one, and ``textual`` must not be in
``sys.modules`` afterwards (a deferred import inside a function is invisible
to static import contracts, so this runs the code).
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, SAMPLE_LOGS

import nimwatch

HEADLESS = sorted(
    m.name
    for m in pkgutil.walk_packages(nimwatch.__path__, "nimwatch.")
    if not m.name.startswith("nimwatch.tui") and m.name != "nimwatch.__main__"
)


def run_python(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


CHECK = "\nimport sys\nleaked = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n" \
        "assert not leaked, leaked[:5]\nprint('clean')\n"


def test_every_headless_module_is_listed() -> None:
    for name in ("nimwatch.cli", "nimwatch.engine", "nimwatch.config", "nimwatch.commands.status",
                 "nimwatch.commands.report", "nimwatch.sources.replay", "nimwatch.views.status_table",
                 "nimwatch.core.parser", "nimwatch.commands.tui", "nimwatch.commands.replay"):
        assert name in HEADLESS


@pytest.mark.parametrize("module", HEADLESS)
def test_module_does_not_import_textual(module: str) -> None:
    result = run_python(f"import {module}" + CHECK)
    assert result.returncode == 0 and "clean" in result.stdout, result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["status", str(SAMPLE_LOGS)],
        ["status", "--ascii", str(SAMPLE_LOGS / "running01_alt_mig.log")],
        ["replay", "--headless", "--max", str(SAMPLE_LOGS / "fail1lvm_alt_mig.log")],
        ["report", str(SAMPLE_LOGS / "web73_alt_mig.log")],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_headless_commands_run_without_textual(argv: list[str]) -> None:
    code = (
        "import io, contextlib\nfrom nimwatch.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    code = main({argv!r})\n"
        "assert code in (0, 1, 3), code\n" + CHECK
    )
    result = run_python(code)
    assert result.returncode == 0 and "clean" in result.stdout, result.stderr


def test_the_tui_does_import_textual() -> None:
    """The check above can fail: the TUI package itself does pull Textual in."""
    result = run_python("import nimwatch.tui.app" + CHECK)
    assert result.returncode != 0 and "textual" in result.stderr


def test_the_fleet_screen_imports_neither_the_sources_nor_the_http_client() -> None:
    """Views do not reach into sources: the fleet screen and its feed get their views from a function the
    command wires (``commands.tui.fleet_fetch``), and the view's types come without ``prometheus_api``."""
    code = (
        "import sys\nimport nimwatch.tui.fleet, nimwatch.tui.fleet_feed\n"
        "bad = sorted(m for m in sys.modules if m.startswith('nimwatch.sources') or m in "
        "('nimwatch.prometheus_api', 'nimwatch.tui.context', 'urllib.request'))\n"
        "assert not bad, bad\nprint('clean')\n"
    )
    result = run_python(code)
    assert result.returncode == 0 and "clean" in result.stdout, result.stderr
