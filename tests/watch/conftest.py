"""Fixtures of the watch tests: observers to run every file case with, and a quiet proxy environment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import pytest

from nimwatch.sources.observers import native_observer_available

POLL_INTERVAL = 0.05


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Alerts to 127.0.0.1 must never go through a proxy the CI machine may have configured."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(params=["native", "polling"])
def poll(request: pytest.FixtureRequest) -> Iterator[Optional[float]]:
    """None: the native observer (inotify); a small interval: watchdog's polling observer."""
    if request.param == "native":
        if not native_observer_available():
            pytest.skip("no native file-event observer on this platform")
        yield None
    else:
        yield POLL_INTERVAL
