"""The stall monitor's verdicts are core events: the reducer alone writes what they mean into the state."""

from __future__ import annotations

from nimwatch.core.events import (
    LinesRead,
    Outcome,
    PhaseStarted,
    PhaseStatus,
    RunFinished,
    RunSilent,
    RunStarted,
    StallCleared,
    Stalled,
)
from nimwatch.core.state import LogState


def running(at: float = 100.0) -> LogState:
    state = LogState("/logs/lpar1_alt_mig.log", "lpar1")
    state.apply(RunStarted(1, 1, "lpar1"), at)
    state.apply(PhaseStarted(1, 3, 10), at)
    state.apply(LinesRead(1, 12, "Copying."), at)
    return state


def test_a_stall_is_state_until_it_is_cleared() -> None:
    state = running()
    run = state.run(1)
    assert not run.stalled and run.quiet_since is None
    state.apply(Stalled(1, 3, silent_minutes=90.0, threshold_minutes=60.0), 5500.0)
    assert run.stalled and run.quiet_since == 100.0  # the last line's arrival, not the verdict's time
    assert run.outcome is Outcome.RUNNING and run.phase(3).status is PhaseStatus.RUNNING
    state.apply(LinesRead(1, 13, "Still copying."), 5600.0)
    assert run.stalled  # lines alone do not clear it: the monitor's StallCleared does
    state.apply(StallCleared(1, stalled_minutes=91.7), 5600.0)
    assert not run.stalled and run.quiet_since is None


def test_a_silent_run_ends_incomplete_and_runs_on_when_lines_come() -> None:
    state = running()
    run = state.run(1)
    state.apply(RunSilent(1, silent_minutes=721.0, reason="no new line for 721 minutes"), 43360.0)
    assert run.outcome is Outcome.INCOMPLETE and run.silenced and not run.stalled
    assert (run.finish_reason, run.finished_at, run.end_line) == ("no new line for 721 minutes", 43360.0, None)
    state.apply(StallCleared(1, stalled_minutes=722.0), 43400.0)
    assert run.outcome is Outcome.RUNNING and not run.silenced
    assert (run.finish_reason, run.finished_at) == ("", None)


def test_a_run_the_log_ended_stays_ended() -> None:
    state = running()
    run = state.run(1)
    state.apply(Stalled(1, 3, silent_minutes=90.0, threshold_minutes=60.0), 5500.0)
    state.apply(RunFinished(1, 40, Outcome.FAILED, failed_phase=3), 5600.0)
    assert not run.stalled  # a finished run is not stalled, whatever was said before
    state.apply(StallCleared(1, stalled_minutes=1.0), 5600.0)
    assert run.outcome is Outcome.FAILED and run.end_line == 40
