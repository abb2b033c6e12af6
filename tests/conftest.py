"""Shared fixtures: isolation from the developer's own config and terminal, and the compiled rules."""

from __future__ import annotations

import os

import pytest

from nimwatch.core.rules import RuleSet
from nimwatch.rulefiles import load_rules


def pytest_configure(config: pytest.Config) -> None:
    """No terminal size in the environment: what the tests start sizes itself as it would outside pytest.

    pytest imports readline early (``_pytest.capture._readline_workaround``), and GNU readline
    puts the size it finds (the terminal's; without one, terminfo's for $TERM: 80x24 for xterm)
    into the environment as COLUMNS and LINES, behind ``os.environ``'s back. Processes started
    without an env of their own inherited them; under pytest-xdist the workers, started from
    that environment, have them in ``os.environ`` too, so every helper that copies it passed
    them on: ``nimwatch status`` drew 80 columns (its ETA column gives way) and the TUI drew
    80x24 in a pseudo-terminal a test made 160x40 (the detail's exit status below the fold).
    """
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)  # an xdist worker: inherited from the main process
        os.unsetenv(name)  # this process: set by readline, unknown to os.environ


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A developer's own nimwatch config or state can never change a test's result."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("NIMWATCH_CONFIG", raising=False)
    monkeypatch.delenv("NIMWATCH_STATE", raising=False)
    monkeypatch.delenv("NIMWATCH_RULES_DIR", raising=False)
    os.environ.setdefault("TZ", "UTC")


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_rules()
