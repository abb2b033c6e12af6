"""Fixtures of the TUI tests (the helpers are in tuikit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nimwatch.tui.app import NimwatchApp

from .tuikit import DATA, AppFactory, build_app


@pytest.fixture(autouse=True)
def _in_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Paths show relative to the current directory: bare file names, the same on every machine.

    The state journal is the test's own (as root, the default would be /var/lib/nimwatch/state.db).
    """
    monkeypatch.chdir(DATA)
    monkeypatch.setenv("NIMWATCH_STATE", str(tmp_path / "state" / "state.db"))
    yield


@pytest.fixture
def make_tui(tmp_path: Path) -> AppFactory:
    """``make_tui(paths=..., preload=..., close=..., theme=...)``; reports go to ``tmp_path``."""

    def factory(*args: object, **kwargs: object) -> NimwatchApp:
        kwargs.setdefault("report_dir", tmp_path)
        return build_app(*args, **kwargs)  # type: ignore[arg-type]

    return factory
