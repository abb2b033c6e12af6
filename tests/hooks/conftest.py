"""Fixtures for the hook tests (helpers live in ``hookkit``): a recording kit, thread hygiene, root or not."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine

from .hookkit import RECORDER, Kit, write_script


@pytest.fixture
def kit(tmp_path: Path, rules: RuleSet) -> Iterator[Kit]:
    records = tmp_path / "records"
    records.mkdir()
    recorder = write_script(tmp_path / "record.py", RECORDER.format(python=sys.executable, default=str(records)))
    k = Kit(tmp_path, recorder, records, Engine(rules))
    yield k
    for m in k.managers:
        m.stop(timeout=30)


@pytest.fixture(autouse=True)
def _no_hook_thread_leaks() -> Iterator[None]:
    """Every hook worker thread a test started has ended when it is over."""
    yield
    leaked = [t.name for t in threading.enumerate() if t.name.startswith("nimwatch-hook:")]
    assert not leaked, f"hook threads still running: {leaked}"


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make nimwatch believe it runs as root (the permission checks apply)."""
    import nimwatch.trust

    monkeypatch.setattr(nimwatch.trust, "running_as_root", lambda: True)


@pytest.fixture
def not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    import nimwatch.trust

    monkeypatch.setattr(nimwatch.trust, "running_as_root", lambda: False)
