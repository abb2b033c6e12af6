"""Shared fixtures: isolation from the developer's own config, and the compiled rules."""

from __future__ import annotations

import os

import pytest

from nimwatch.core.rules import RuleSet
from nimwatch.rulefiles import load_rules


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A developer's own nimwatch config or state can never change a test's result."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("NIMWATCH_CONFIG", raising=False)
    monkeypatch.delenv("NIMWATCH_STATE", raising=False)
    monkeypatch.delenv("NIMWATCH_RULES_DIR", raising=False)
    # nor a terminal size this process was given: pytest-xdist's workers get COLUMNS=80 and LINES=24, which ps
    # and Textual honour in the processes a test starts
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    os.environ.setdefault("TZ", "UTC")


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_rules()
