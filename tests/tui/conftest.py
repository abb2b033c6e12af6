"""Fixtures of the TUI tests (the helpers are in tuikit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nimwatch.tui.app import NimwatchApp

from .tuikit import DATA, AppFactory, build_app


@pytest.fixture(autouse=True)
def _in_data_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Paths show relative to the current directory: bare file names, the same on every machine."""
    monkeypatch.chdir(DATA)
    yield


@pytest.fixture
def make_tui(tmp_path: Path) -> AppFactory:
    """``make_tui(paths=..., preload=..., close=..., theme=...)``; reports go to ``tmp_path``."""

    def factory(*args: object, **kwargs: object) -> NimwatchApp:
        kwargs.setdefault("report_dir", tmp_path)
        return build_app(*args, **kwargs)  # type: ignore[arg-type]

    return factory
