"""The base classes of the followers outside the logs (nimwatch.ticker): what a subclass must say, and when an
item reaches the engine (only once its log is read to its end, once per version)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, Optional

import pytest

from nimwatch.ticker import LogFollower, Ticked


class FakeEngine:
    """The three things a follower uses of the engine: ``logs``, ``locked`` and ``report``."""

    def __init__(self, logs: list[str]) -> None:
        self.logs = dict.fromkeys(logs)
        self.reported: list[tuple[Any, Optional[float], str]] = []
        self._lock = threading.RLock()

    def locked(self) -> threading.RLock:
        return self._lock

    def report(self, event: Any, at: Optional[float] = None, log: str = "") -> list[Any]:
        self.reported.append((event, at, log))
        return []


class Items(LogFollower):
    def __init__(self, engine: FakeEngine, held: list[tuple[str, object, str, Any]], caught: set[str]) -> None:
        super().__init__(engine, held, lambda name: name in caught)

    def items(self) -> Iterator[tuple[str, object, str, Any]]:
        yield from self.source

    def event(self, item: Any, log: str) -> tuple[Any, Optional[float]]:
        return f"event:{item}", 1.0


def test_a_subclass_that_does_not_say_what_it_reads_cannot_be_built() -> None:
    class NoTick(Ticked):
        pass

    class NoEvent(LogFollower):
        def items(self) -> Iterator[tuple[str, object, str, Any]]:
            return iter(())

    with pytest.raises(TypeError, match="tick"):
        NoTick(FakeEngine([]))  # type: ignore[abstract]
    with pytest.raises(TypeError, match="event"):
        NoEvent(FakeEngine([]), None, lambda name: True)  # type: ignore[abstract]


def test_items_reach_the_engine_once_their_log_is_caught_up_and_again_when_they_change(tmp_path: Any) -> None:
    a, b = str(tmp_path / "a_alt_mig.log"), str(tmp_path / "b_alt_mig.log")
    engine = FakeEngine([a, b])
    held = [("a1", 1, a, "a1"), ("a2", 1, a, "a2"), ("b1", 1, b, "b1"), ("x1", 1, str(tmp_path / "x"), "x1")]
    caught = {a}
    follower = Items(engine, held, caught)

    assert follower.tick() == 2  # b's item waits for b; x is not followed
    assert [(e, log) for e, _, log in engine.reported] == [("event:a1", a), ("event:a2", a)]
    assert follower.tick() == 0  # given once

    caught.add(b)
    held[0] = ("a1", 2, a, "a1 again")  # a new version of an item given before
    assert follower.tick() == 2
    assert [e for e, _, _ in engine.reported[2:]] == ["event:a1 again", "event:b1"]
