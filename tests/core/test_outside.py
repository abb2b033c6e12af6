"""The reducer settling a run with nimadm's exit status, and keeping the client's NIM state (pure core)."""

from __future__ import annotations

from typing import Optional

import pytest
from helpers import SAMPLE_LOGS

from nimwatch.core.events import LaunchExited, NimStateRead, Outcome, PhaseStatus
from nimwatch.core.reader import LogReader
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState
from nimwatch.core.verdict import client_verdict, reboot_verdict, run_label


def live(rules: RuleSet, sample: str, *, upto: Optional[str] = None, close: bool = False, at: float = 1000.0) -> LogState:
    """The state of a sample log as a watcher has it: read (up to and including the line ``upto``), not closed."""
    data = (SAMPLE_LOGS / f"{sample}_alt_mig.log").read_bytes()
    if upto is not None:
        cut = data.index(upto.encode())
        data = data[: data.index(b"\n", cut) + 1]
    reader = LogReader(rules, sample)
    state = LogState(f"{sample}_alt_mig.log", sample)
    for event in reader.feed(data):
        state.apply(event, at)
    if close:
        for event in reader.close():
            state.apply(event, at)
    return state


def exited(code: Optional[int] = 0, sig: Optional[int] = None, first_line: Optional[int] = 1, **kw: object) -> LaunchExited:
    return LaunchExited(first_line, code, sig, pid=4242, record="/r/x.json", output="/r/x.out", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("close", [False, True], ids=["live", "read-whole"])
def test_non_zero_exit_fails_a_run_the_log_leaves_open(rules: RuleSet, close: bool) -> None:
    state = live(rules, "running01", close=close)
    run = state.runs[-1]
    assert run.outcome is (Outcome.INCOMPLETE if close else Outcome.RUNNING)
    state.apply(exited(1), 2000.0)
    assert run.outcome is Outcome.FAILED and run.exit_settled and not run.open_end
    assert run.failed_phase == 6 and run.finished_at == 2000.0
    assert run.phase(6).status is PhaseStatus.FAILED
    assert run_label(run) == "failed in phase 6: nimadm exited with status 1, the log stops there"
    assert reboot_verdict(run).verdict != "safe"
    assert client_verdict(state.runs).status == "failed"


def test_a_signal_fails_it_and_is_named(rules: RuleSet) -> None:
    state = live(rules, "running01")
    state.apply(exited(None, 15))
    run = state.runs[-1]
    assert run.outcome is Outcome.FAILED
    assert run_label(run) == "failed in phase 6: nimadm was killed by signal 15 (SIGTERM), the log stops there"


def test_exit_0_with_a_log_that_stops_early_is_not_a_success(rules: RuleSet) -> None:
    state = live(rules, "running01")
    state.apply(exited(0), 3000.0)
    run = state.runs[-1]
    assert run.outcome is Outcome.INCOMPLETE and run.exit_settled and not run.open_end
    assert run_label(run) == "incomplete: nimadm exited 0 but the log stops at phase 6"
    verdict = reboot_verdict(run)
    assert verdict.verdict == "do_not_reboot" and "safe" not in verdict.summary.lower()
    assert client_verdict(state.runs).status == "incomplete"


def test_exit_0_after_the_last_phase_settles_success(rules: RuleSet) -> None:
    state = live(rules, "web73", upto="Executing nimadm phase 12.")
    run = state.runs[-1]
    assert run.outcome is Outcome.RUNNING and run.current_phase == 12
    state.apply(exited(0))
    assert run.outcome is Outcome.SUCCEEDED and run.phase(12).status is PhaseStatus.DONE
    assert run_label(run) == "succeeded"
    assert reboot_verdict(run).verdict == "safe"


def test_exit_0_does_not_hide_a_failure_the_log_shows(rules: RuleSet) -> None:
    # live, cut at the line that fails the run: nimadm's own end lines never came
    state = live(rules, "fail6inst", upto="0503-008")
    run = state.runs[-1]
    assert run.outcome is Outcome.RUNNING and any(f.fails_run for f in run.findings)
    state.apply(exited(0))
    assert run.outcome is Outcome.FAILED and run.exit_settled and run.failed_phase == 6
    assert run_label(run) == "failed in phase 6 (nimadm exited 0)"
    # a log that says it failed keeps saying so; the exit status is kept beside it
    whole = live(rules, "fail6inst")
    finished = whole.runs[-1]
    assert finished.outcome is Outcome.FAILED
    whole.apply(exited(0))
    assert finished.outcome is Outcome.FAILED and not finished.exit_settled
    assert run_label(finished) == "failed in phase 6 (nimadm exited 0)"


def test_a_run_the_log_finished_keeps_its_outcome(rules: RuleSet) -> None:
    state = live(rules, "web73", close=True)
    run = state.runs[-1]
    state.apply(exited(0))
    assert run.outcome is Outcome.SUCCEEDED and not run.exit_settled and run.nimadm_exit is not None
    assert run_label(run) == "succeeded" and reboot_verdict(run).verdict == "safe"


def test_success_in_the_log_with_a_failed_exit_is_not_safe_to_reboot(rules: RuleSet) -> None:
    state = live(rules, "web73", close=True)
    run = state.runs[-1]
    state.apply(exited(2))
    assert run.outcome is Outcome.SUCCEEDED
    assert run_label(run) == "succeeded by the log, but nimadm exited with status 2"
    verdict = reboot_verdict(run)
    assert verdict.verdict == "check_bootlist" and "/r/x.out" in verdict.detail


def test_nimadm_that_wrote_no_run(rules: RuleSet) -> None:
    state = live(rules, "web73", close=True)
    after_all = state.lines + 1
    state.apply(exited(1, first_line=after_all))
    assert state.launch_exit is not None and state.runs[-1].nimadm_exit is None
    verdict = client_verdict(state.runs, launch=state.launch_exit)
    assert verdict.status == "failed"
    assert verdict.summary == "nimadm exited with status 1 before writing to its log"
    assert verdict.reboot.verdict == "do_not_reboot" and "/r/x.out" in verdict.reboot.detail
    ok = live(rules, "web73", close=True)
    ok.apply(exited(0, first_line=after_all))
    assert client_verdict(ok.runs, launch=ok.launch_exit).status == "succeeded"


def test_the_run_is_the_first_one_that_began_after_nimadm_started(rules: RuleSet) -> None:
    state = live(rules, "killclean", close=True)
    assert len(state.runs) == 2
    first, cleanup = state.runs
    state.apply(exited(1, first_line=first.start_line))
    assert first.nimadm_exit is not None and cleanup.nimadm_exit is None
    # a run that arrived before nimadm started is not its own, even when its line numbers say so
    other = live(rules, "running01", at=100.0)
    other.apply(exited(1, first_line=1, started=500.0))
    assert other.runs[-1].nimadm_exit is None and other.launch_exit is not None
    assert other.runs[-1].outcome is Outcome.RUNNING


def test_an_older_record_settles_the_latest_run(rules: RuleSet) -> None:
    state = live(rules, "running01")
    state.apply(exited(None, 9, first_line=None))
    assert state.runs[-1].outcome is Outcome.FAILED
    assert "signal 9 (SIGKILL)" in run_label(state.runs[-1])


def test_nim_state_readings(rules: RuleSet) -> None:
    state = LogState("x.log", "lpar1")
    assert state.nim is None
    state.apply(NimStateRead("ready for a NIM operation", "", ""), 10.0)
    nim = state.nim
    assert nim is not None and not nim.busy and nim.label() == "ready for a NIM operation"
    assert nim.changed_at == nim.info_since == 10.0
    state.apply(NimStateRead("alt_disk_mig operation is being performed", "phase 3", ""), 20.0)
    assert state.nim is not None and state.nim.busy and state.nim.info_since == 20.0
    state.apply(NimStateRead("alt_disk_mig operation is being performed", "phase 3", ""), 30.0)
    assert state.nim.read_at == 30.0 and state.nim.changed_at == 20.0
    state.apply(NimStateRead("something else", "phase 3", "success"), 40.0)
    assert state.nim.changed_at == 40.0 and state.nim.info_since == 20.0  # info kept its value
    assert state.nim.info_unchanged(50.0) == 30.0
    state.apply(NimStateRead("", "", "", error="lsnim: no answer"), 60.0)
    assert state.nim.error and state.nim.info == "phase 3" and not state.nim.busy
    assert state.nim.label() == "unreadable: lsnim: no answer"
    state.apply(NimStateRead("something else", "phase 3", "success"), 70.0)
    assert not state.nim.error and state.nim.info_since == 20.0


def test_the_end_of_the_log_read_after_the_exit_keeps_it_settled(rules: RuleSet) -> None:
    data = (SAMPLE_LOGS / "running01_alt_mig.log").read_bytes()
    reader = LogReader(rules, "running01")
    state = LogState("running01_alt_mig.log", "running01")
    for event in reader.feed(data):
        state.apply(event, 10.0)
    state.apply(exited(None, 15), 20.0)
    for event in reader.close():  # `status` closes a log silent for long: the log just ends
        state.apply(event, 30.0)
    run = state.runs[-1]
    assert run.outcome is Outcome.FAILED and run.exit_settled and "SIGTERM" in run_label(run)


def test_nimadm_last_lines_read_after_the_exit_win(rules: RuleSet) -> None:
    data = (SAMPLE_LOGS / "web73_alt_mig.log").read_bytes()
    cut = data.index(b"\n", data.index(b"Executing nimadm phase 11.")) + 1
    reader = LogReader(rules, "web73")
    state = LogState("web73_alt_mig.log", "web73")
    for event in reader.feed(data[:cut]):
        state.apply(event)
    state.apply(exited(0))
    run = state.runs[-1]
    assert run.outcome is Outcome.INCOMPLETE and run.exit_settled
    for event in reader.feed(data[cut:]) + reader.close():
        state.apply(event)
    assert run.outcome is Outcome.SUCCEEDED and not run.exit_settled and run_label(run) == "succeeded"
