"""The import contracts in .importlinter cover every module of nimwatch, and hold.

``lint-imports`` (CI runs it after mypy) checks the contracts; a module the
contracts do not name is not checked, so this test fails when a new top-level
module or package of nimwatch is missing from the lists of the core's and the
headless contracts.
"""

from __future__ import annotations

import configparser
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

import nimwatch

CONFIG = ROOT / ".importlinter"


def _contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    assert parser.read(CONFIG), f"{CONFIG} is missing"
    return parser


def _names(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def top_level() -> set[str]:
    return {f"nimwatch.{m.name}" for m in pkgutil.iter_modules(nimwatch.__path__) if m.name != "__main__"}


def test_the_core_contract_forbids_every_other_module_but_errors() -> None:
    forbidden = _names(_contracts()["importlinter:contract:core-is-pure"]["forbidden_modules"])
    expected = top_level() - {"nimwatch.core", "nimwatch.errors"}
    assert expected - forbidden == set(), "add these to core-is-pure's forbidden_modules"
    assert {m for m in forbidden if m.startswith("nimwatch.")} - expected == set(), "no such modules"
    assert {"textual", "threading", "time", "os", "sqlite3", "watchdog"} <= forbidden


def test_the_headless_contract_covers_every_module_but_the_tui() -> None:
    contract = _contracts()["importlinter:contract:headless-no-textual"]
    sources = _names(contract["source_modules"])
    assert top_level() - {"nimwatch.tui"} == sources, "source_modules must list every module but nimwatch.tui"
    assert _names(contract["forbidden_modules"]) == {"textual"}


def _lint_imports() -> str | None:
    beside = Path(sys.executable).parent / "lint-imports"
    return str(beside) if beside.exists() else shutil.which("lint-imports")


@pytest.mark.skipif(_lint_imports() is None, reason="import-linter is not installed (it needs Python 3.11)")
def test_the_contracts_hold() -> None:
    done = subprocess.run(
        [str(_lint_imports()), "--config", str(CONFIG), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
