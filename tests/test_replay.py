"""ReplaySource: pacing (journal or even), speed, pause, step, seek, and the replay command."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest
from helpers import SAMPLE_LOGS

from nimwatch.cli import main
from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine, Notice
from nimwatch.errors import LogSourceError, UsageError
from nimwatch.sources.files import read_log
from nimwatch.sources.replay import ReplaySource, line_offsets, pace
from nimwatch.views.report_data import report_records

EPOCH = 1_790_000_000.0
FAILED = SAMPLE_LOGS / "fail6inst_alt_mig.log"
OK = SAMPLE_LOGS / "aixlpar53_alt_mig.log"


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


class FakeJournal:
    """``arrival_times`` as the state journal gives it: checkpoints line -> time."""

    def __init__(self, times: Mapping[str, Mapping[int, float]]) -> None:
        self.times = times

    def arrival_times(self, log: str) -> Mapping[int, float]:
        return self.times.get(log, {})


def make(rules: RuleSet, paths: list[Path], **kwargs: object) -> tuple[Engine, ReplaySource, FakeClock, list[Notice]]:
    clock = FakeClock()
    engine = Engine(rules, clock=lambda: EPOCH)
    seen: list[Notice] = []
    engine.subscribe(seen.append)
    kwargs.setdefault("epoch", EPOCH)
    replay = ReplaySource(engine, paths, clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]
    return engine, replay, clock, seen


# --------------------------------------------------------------------------- pacing


def test_even_pace_without_a_journal() -> None:
    assert pace(4, {}, 100.0, 0.5) == [100.0, 100.5, 101.0, 101.5]


def test_journal_checkpoints_set_the_arrival_of_the_lines_up_to_them() -> None:
    # lines 1-3 arrived by t=10, 4-5 by t=20, line 6 is after the last checkpoint
    assert pace(6, {3: 10.0, 5: 20.0}, 0.0, 1.0) == [10.0, 10.0, 10.0, 20.0, 20.0, 21.0]


def test_pace_never_goes_backwards() -> None:
    assert pace(3, {1: 10.0, 2: 5.0, 3: 12.0}, 0.0, 1.0) == [10.0, 10.0, 12.0]


def test_line_offsets_with_and_without_a_final_newline() -> None:
    assert line_offsets(b"a\nbb\n") == [0, 2, 5]
    assert line_offsets(b"a\nbb") == [0, 2, 4]
    assert line_offsets(b"") == [0]


# --------------------------------------------------------------------------- feeding


@pytest.mark.parametrize("path", sorted(SAMPLE_LOGS.glob("*_alt_mig.log")), ids=lambda p: p.name)
def test_replay_to_the_end_gives_the_same_state_as_a_report(rules: RuleSet, path: Path) -> None:
    engine, replay, _, _ = make(rules, [path], speed=None)
    replay.run_to_end()
    assert replay.done and replay.fraction == 1.0
    replayed = report_records([engine.logs[str(path.resolve())]], rules)
    reported = report_records([read_log(path, rules)], rules)
    for record in (*replayed, *reported):
        record.pop("log")
        # the replay knows when each line came: "last line at ..." of a log that simply ends
        record["summary"] = record["summary"].split(" — last line at ")[0]
        for phase in record["phases"]:
            phase.pop("seconds", None)
    assert replayed == reported


def test_recorded_pace_gives_the_recorded_phase_durations(rules: RuleSet) -> None:
    lines = FAILED.read_bytes().count(b"\n")
    state = read_log(FAILED, rules)
    run = state.runs[0]
    p1, p2 = run.phase(1), run.phase(2)
    assert p1.start_line and p2.start_line
    checkpoints = {p1.start_line: EPOCH + 60.0, p2.start_line: EPOCH + 60.0 + 1800.0, lines: EPOCH + 7200.0}
    journal = FakeJournal({str(FAILED.resolve()): checkpoints})
    engine, replay, _, _ = make(rules, [FAILED], speed=None, journal=journal)
    assert replay.timed(str(FAILED))
    replay.run_to_end()
    replayed = engine.logs[str(FAILED.resolve())].runs[0]
    assert replayed.phase(1).duration == pytest.approx(1800.0)
    assert replayed.started_at == EPOCH + 60.0


def test_speed_decides_how_much_is_fed_by_the_clock(rules: RuleSet) -> None:
    engine, replay, clock, _ = make(rules, [FAILED], speed=2.0, interval=0.1)
    clock.t = 1.0  # 1 s of wall time at speed 2: 2 s of log time, lines at 0.0 .. 2.0
    replay.advance()
    assert replay.fed_lines == 21
    assert engine.logs[str(FAILED.resolve())].lines == 21
    replay.set_speed(10.0)
    clock.t = 2.0  # re-anchored at 1.0: 10 s more of log time
    replay.advance()
    assert replay.fed_lines == 121


def test_pause_feeds_nothing_and_resume_does_not_burst(rules: RuleSet) -> None:
    _, replay, clock, _ = make(rules, [FAILED], speed=1.0, interval=0.1)
    clock.t = 0.5
    replay.advance()
    assert replay.fed_lines == 6
    replay.pause()
    clock.t = 100.0
    assert replay.advance() == [] and replay.fed_lines == 6
    replay.resume()
    replay.advance()
    assert replay.fed_lines == 6  # the next line is due 0.1 s after the resume, not at once
    clock.t = 100.15
    replay.advance()
    assert replay.fed_lines == 7
    assert replay.toggle_pause() is True and replay.paused


def test_step_stops_at_each_phase_change_or_finding(rules: RuleSet) -> None:
    engine, replay, _, _ = make(rules, [FAILED], speed=1.0)
    kinds = []
    while True:
        notice = replay.step()
        if notice is None:
            break
        kinds.append((notice.event, notice.phase))
        assert replay.paused
    assert kinds[0] == ("run_started", None)
    assert kinds[1] == ("phase_started", 1)
    # phase 6 ends failed on the abort line, the run ends on the same line: one step stops there
    assert ("phase_finished", 5) in kinds and kinds[-1] == ("phase_finished", 6)
    state = engine.logs[str(FAILED.resolve())]
    assert state.runs[0].outcome.value == "failed" and state.runs[0].failed_phase == 6
    findings = [k for k in kinds if k[0] == "finding"]
    assert len(findings) == len(state.runs[0].findings)  # one step per finding
    assert replay.done


def test_seek_forward_and_back_rebuilds_the_state(rules: RuleSet) -> None:
    engine, replay, _, seen = make(rules, [FAILED], speed=None)
    key = str(FAILED.resolve())
    replay.seek_fraction(0.9)
    at_90 = engine.logs[key].lines
    phase_90 = engine.logs[key].runs[0].current_phase
    replay.seek_line(100)
    assert engine.logs[key].lines == 100 and replay.fed_lines == 100
    assert any(n.event == "log_reset" for n in seen)
    assert engine.logs[key].runs[0].current_phase <= phase_90
    replay.seek_fraction(0.9)
    assert engine.logs[key].lines == at_90
    # the state after seeking around equals a straight replay to the same point
    fresh_engine, fresh, _, _ = make(rules, [FAILED], speed=None)
    fresh.seek_fraction(0.9)
    assert report_records([engine.logs[key]], rules) == report_records([fresh_engine.logs[key]], rules)
    replay.seek_fraction(1.0)
    assert replay.done


def test_logs_are_merged_by_log_time(rules: RuleSet) -> None:
    journal = FakeJournal({
        str(OK.resolve()): {1: EPOCH + 10.0},
        str(FAILED.resolve()): {1: EPOCH + 5.0},
    })
    _, replay, _, seen = make(rules, [OK, FAILED], speed=None, journal=journal)
    replay.run_to_end()
    starts = [n.client for n in seen if n.event == "run_started"]
    assert starts == ["fail6inst", "aixlpar53"]


def test_run_is_instant_with_an_injected_clock(rules: RuleSet) -> None:
    engine, replay, clock, seen = make(rules, [FAILED], speed=50.0, interval=0.1)
    replay.run()
    assert replay.done
    lines = engine.logs[str(FAILED.resolve())].lines
    assert clock.t == pytest.approx((lines - 1) * 0.1 / 50.0, rel=0.01)
    assert [n.event for n in seen if n.public][-1] == "run_finished"


def test_stop_ends_a_run_waiting_in_another_thread(rules: RuleSet) -> None:
    engine = Engine(rules)
    replay = ReplaySource(engine, [FAILED], speed=0.001)  # real clock: the second line is due in 100 s
    thread = threading.Thread(target=replay.run)
    thread.start()
    replay.stop()
    thread.join(timeout=5.0)
    assert not thread.is_alive()
    assert replay.fed_lines < 5


def test_on_advance_is_told_the_log_time(rules: RuleSet) -> None:
    times: list[float] = []
    _, replay, _, _ = make(rules, [FAILED], speed=None, on_advance=times.append)
    replay.run_to_end()
    assert times and times[-1] == replay.now == replay.end_time


def test_bad_arguments(rules: RuleSet, tmp_path: Path) -> None:
    engine = Engine(rules)
    with pytest.raises(UsageError):
        ReplaySource(engine, [])
    with pytest.raises(UsageError):
        ReplaySource(engine, [FAILED], speed=0)
    with pytest.raises(LogSourceError):
        ReplaySource(engine, [tmp_path / "missing_alt_mig.log"])
    replay = ReplaySource(engine, [FAILED])
    with pytest.raises(UsageError):
        replay.seek_line(10, log=str(tmp_path / "other.log"))


# --------------------------------------------------------------------------- the command


def test_headless_replay_prints_the_json_lines_of_watch(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["replay", "--headless", "--max", str(FAILED)])
    assert code == 1  # the run failed
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    assert events[0]["event"] == "run_started" and events[-1]["event"] == "run_finished"
    assert events[-1]["outcome"] == "failed" and events[-1]["failed_phase"] == 6
    assert {e["event"] for e in events} <= {"run_started", "phase_started", "phase_finished", "finding", "run_finished"}
    assert all(e["client"] == "fail6inst" and e["log"] == str(FAILED.resolve()) for e in events)
    # the same lines as `nimwatch watch --once` prints for the same log (but the arrival times)
    capsys.readouterr()
    shutil.copy(FAILED, tmp_path / FAILED.name)
    assert main(["watch", "--once", "--state", str(tmp_path / "state.db"), str(tmp_path)]) == 1
    watched = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["replay", "--headless", "--max", str(tmp_path / FAILED.name)]) == 1
    replayed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(replayed) == len(events)
    # the times, and the ETA made from them: replay knows the arrival times only as finely as the journal's
    # checkpoints (a read of many blocks is one checkpoint); the id is watch's journal key
    timeless = ("ts", "eta", "eta_finish", "eta_rough", "overdue")
    assert all(("eta" in e) == (e["event"] in ("run_started", "phase_started", "phase_finished")) for e in replayed)
    assert all(e["id"] for e in watched) and not any("id" in e for e in replayed)
    assert [{k: v for k, v in e.items() if k not in timeless} for e in replayed] == [
        {k: v for k, v in e.items() if k not in (*timeless, "id")} for e in watched
    ]


def test_headless_replay_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--headless", "--max", str(OK)]) == 0
    assert main(["replay", "--headless", "--max", str(SAMPLE_LOGS / "running01_alt_mig.log")]) == 3
    assert main(["replay", "--headless", "--speed", "0", str(OK)]) == 2
    assert "positive" in capsys.readouterr().err
