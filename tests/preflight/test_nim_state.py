"""The NIM state reader and poller: changes, "info unchanged for N minutes", errors; time injected, no sleeps."""

from __future__ import annotations

import stat
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from hooks.hookkit import wait_for

from nimwatch.aix.nim_state import NimStatePoller, NimStateReport, lsnim_state_argv, read_state
from nimwatch.aix.parse_nim import NimState
from nimwatch.aix.runner import CommandResult, SubprocessRunner

HEADER = "#name:Cstate:info:Cstate_result:\n"
READY = "ready for a NIM operation"
BUSY = "alt_disk_install operation is being performed"


def record(client: str, cstate: str, info: str = "", result: str = "success") -> tuple[int, str, str]:
    """One ``lsnim -Z`` answer in the documented format (composed: nim_commands.md section 3 [V: NIMZ])."""
    return 0, f"{HEADER}{client}:{cstate}:{info}:{result}:\n", ""


class ScriptedRunner:
    """Answers ``lsnim -Z`` for each client from a script of answers (the last one repeats)."""

    def __init__(self, answers: dict[str, list[tuple[int, str, str]]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        args = tuple(argv)
        self.calls.append(args)
        client = args[-1]
        assert list(args) == lsnim_state_argv(client)
        script = self.answers[client]
        rc, out, err = script.pop(0) if len(script) > 1 else script[0]
        return CommandResult(args, rc, out, err)


def test_read_state_formats_and_errors() -> None:
    runner = ScriptedRunner(
        {
            "a": [record("a", READY)],
            "b": [record("b", BUSY, "0042-001 m_alt: step 3: copying", "failure")],
            "c": [(1, "", '0042-053 lsnim: there is no NIM object named "c"\n')],
            "d": [(0, HEADER, "")],
            "e": [(0, f"{HEADER}e:{READY}:esc\x1b[2J:success:\r\n", "")],
        }
    )
    assert read_state(runner, "a").state == NimState("a", READY, "", "success")
    state_b = read_state(runner, "b").state
    assert state_b is not None and state_b.info == "0042-001 m_alt: step 3: copying" and state_b.result == "failure"
    missing = read_state(runner, "c")
    assert missing.state is None and "not a NIM object" in missing.error and "0042-053" in missing.error
    assert "no record" in read_state(runner, "d").error
    state_e = read_state(runner, "e").state
    assert state_e is not None and state_e.info == "esc\\x1b[2J"


def test_changes_are_reported_once_and_interval_is_kept() -> None:
    runner = ScriptedRunner(
        {
            "lpar1": [
                record("lpar1", READY),
                record("lpar1", READY),
                record("lpar1", BUSY, "step 1"),
                record("lpar1", BUSY, "step 2"),
            ],
        }
    )
    seen: list[NimStateReport] = []
    poller = NimStatePoller(runner, ["lpar1"], interval=60, clock=lambda: 0.0, on_report=seen.append)
    first = poller.tick(1000.0)
    assert [(r.kind, r.previous) for r in first] == [("state", None)]
    assert first[0].state == NimState("lpar1", READY, "", "success")
    assert poller.tick(1030.0) == []  # not due yet: nothing run
    assert len(runner.calls) == 1
    assert poller.tick(1060.0) == []  # due, unchanged
    assert len(runner.calls) == 2
    changed = poller.tick(1120.0)
    assert [r.kind for r in changed] == ["state"]
    assert changed[0].previous is not None and changed[0].previous.cstate == READY
    assert "info step 1" in changed[0].message and f"(was {READY})" in changed[0].message
    step2 = poller.tick(1180.0)
    assert [r.kind for r in step2] == ["state"] and step2[0].info_unchanged_for == 0
    assert seen == [*first, *changed, *step2]
    snap = poller.snapshot()["lpar1"]
    assert snap.changed_at == 1180.0 and snap.info_since == 1180.0 and snap.read_at == 1180.0


def test_info_unchanged_for_30_minutes_counts_once() -> None:
    runner = ScriptedRunner(
        {
            "lpar1": [record("lpar1", BUSY, "copying")] * 4
            + [record("lpar1", BUSY, "copying", "failure")]
            + [record("lpar1", BUSY, "restoring")],
        }
    )
    poller = NimStatePoller(runner, ["lpar1"], interval=600, stale_after=1800)
    assert [r.kind for r in poller.tick(0.0)] == ["state"]
    assert not poller.info_stalled("lpar1", 1799.0)
    assert poller.tick(600.0) == [] and poller.tick(1200.0) == []
    stalled = poller.tick(1800.0)
    assert [r.kind for r in stalled] == ["info_stalled"]
    assert stalled[0].info_unchanged_for == 1800.0
    assert "unchanged for 30 minutes: copying" in stalled[0].message
    assert poller.info_stalled("lpar1", 1800.0)
    # Cstate_result changes, info does not: a state report, no second stall report
    result_change = poller.tick(2400.0)
    assert [r.kind for r in result_change] == ["state"] and result_change[0].info_unchanged_for == 2400.0
    assert poller.info_stalled("lpar1", 2400.0)
    # info moves: the stall is over, and a later stall is reported again
    moved = poller.tick(3000.0)
    assert [r.kind for r in moved] == ["state"] and not poller.info_stalled("lpar1", 3000.0)
    assert poller.tick(3600.0) == [] and poller.tick(4200.0) == []
    assert [r.kind for r in poller.tick(4800.0)] == ["info_stalled"]


def test_stall_is_noticed_between_readings() -> None:
    runner = ScriptedRunner({"lpar1": [record("lpar1", BUSY, "copying")]})
    poller = NimStatePoller(runner, ["lpar1"], interval=3600, stale_after=1800)
    poller.tick(0.0)
    assert [r.kind for r in poller.tick(1800.0)] == ["info_stalled"]
    assert len(runner.calls) == 1


def test_errors_are_reported_once_then_recovery() -> None:
    runner = ScriptedRunner(
        {
            "lpar1": [(1, "", "0042-001 nim: processing error\n")] * 2
            + [(1, "", "timeout\n")]
            + [record("lpar1", READY)],
        }
    )
    poller = NimStatePoller(runner, ["lpar1"], interval=10)
    assert [r.kind for r in poller.tick(0.0)] == ["error"]
    assert poller.tick(10.0) == []  # the same error again: quiet
    assert [r.kind for r in poller.tick(20.0)] == ["error"]
    recovered = poller.tick(30.0)
    assert [r.kind for r in recovered] == ["recovered", "state"]
    assert poller.snapshot()["lpar1"].error == ""


def test_add_and_remove_clients() -> None:
    runner = ScriptedRunner({"a": [record("a", READY)], "b": [record("b", READY)]})
    poller = NimStatePoller(runner, ["a"], interval=60)
    poller.tick(0.0)
    poller.add("b")
    assert [r.client for r in poller.tick(1.0)] == ["b"]
    poller.remove("a")
    poller.tick(120.0)
    assert set(poller.snapshot()) == {"b"} and runner.calls[-1][-1] == "b"
    with pytest.raises(ValueError):
        NimStatePoller(runner, interval=0)


def test_own_thread_with_a_real_lsnim_stand_in(tmp_path: Path) -> None:
    """A real process answers; the poller's thread reports the first reading and stops cleanly."""
    lsnim = tmp_path / "lsnim"
    lsnim.write_text(
        "#!/bin/sh\n"
        "for last; do :; done\n"
        'echo "#name:Cstate:info:Cstate_result:"\n'
        'echo "$last:$LC_ALL ready:info with: colon:success:"\n',
        encoding="utf-8",
    )
    lsnim.chmod(lsnim.stat().st_mode | stat.S_IXUSR)
    got: list[NimStateReport] = []
    lock = threading.Lock()

    def keep(report: NimStateReport) -> None:
        with lock:
            got.append(report)

    poller = NimStatePoller(SubprocessRunner(), ["lpar1"], interval=3600, on_report=keep, lsnim=str(lsnim))
    poller.start()
    try:
        wait_for(lambda: bool(got), 30, "the first NIM state report")
    finally:
        poller.stop()
    assert got[0].state == NimState("lpar1", "C ready", "info with: colon", "success")
