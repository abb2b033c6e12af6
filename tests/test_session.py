"""The composition root (nimwatch.session): tui, replay, status and watch are one pipeline, built in one place."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import SAMPLE_LOGS

from nimwatch import session as sessions
from nimwatch.config import Config, StallConfig
from nimwatch.engine import Engine, Notice
from nimwatch.feed import EngineSink
from nimwatch.journal import Journal
from nimwatch.launcher.exits import LaunchFollower
from nimwatch.launcher.records import runs_dir
from nimwatch.rulefiles import load_rules
from nimwatch.sources.arrivals import JournalArrivals
from nimwatch.sources.plain import PlainFollower
from nimwatch.sources.replay import ReplaySource
from nimwatch.sources.tail import Tailer
from nimwatch.stall import StallMonitor

RUNNING = SAMPLE_LOGS / "running01_alt_mig.log"
FAILED = SAMPLE_LOGS / "fail6inst_alt_mig.log"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(state=tmp_path / "state.db")


def test_live_tui_and_watch_share_the_tailer_the_stall_monitor_and_the_outside_sources(
    config: Config, tmp_path: Path
) -> None:
    rules = load_rules()
    tui = sessions.live(config, rules, [tmp_path])
    assert isinstance(tui.tailer, Tailer) and isinstance(tui.arrivals, JournalArrivals)
    assert tui.tailer.sink is tui.arrivals and isinstance(tui.stall, StallMonitor)
    assert isinstance(tui.launches, LaunchFollower) and tui.outside == [tui.launches] and tui.nim is None
    assert tui.replay is None and tui.eta is not None
    journal = Journal.open(tmp_path / "watch.db")
    try:
        made: list[EngineSink] = []

        def sink(engine: Engine) -> EngineSink:  # the watcher's recorder, over the session's new engine
            made.append(EngineSink(engine))
            return made[-1]

        watch = sessions.live(config, rules, [tmp_path], sink=sink, journal=journal)
        assert [m.engine for m in made] == [watch.engine] and watch.tailer.sink is made[0] and watch.arrivals is None
        assert watch.journal is journal and watch.runs == runs_dir(tmp_path / "watch.db")
        assert isinstance(watch.stall, StallMonitor) and isinstance(watch.launches, LaunchFollower)
    finally:
        journal.close()


def test_a_replay_session_runs_on_log_time(config: Config) -> None:
    session = sessions.replay(config, load_rules(), [FAILED], speed=None)
    assert isinstance(session.replay, ReplaySource) and session.tailer is None
    session.replay.run()
    assert session.engine.clock() == session.replay.now
    assert isinstance(session.stall, StallMonitor)
    state = session.engine.logs[os.path.abspath(FAILED)]
    assert state.current is not None and state.current.outcome.value == "failed"
    quiet = sessions.replay(config, load_rules(), [FAILED], speed=None, stalls=False)
    assert quiet.stall is None


def test_status_follows_with_the_tailer_truncation_and_a_finished_log_that_grows(
    config: Config, tmp_path: Path
) -> None:
    """The plain follower is the tailer: what a file gains is read at the next look; a truncated
    file is read anew; a log closed as finished (silent too long) that grows again is read anew."""
    log = tmp_path / "lpar1_alt_mig.log"
    lines = RUNNING.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:50]))
    old = time.time() - 6 * 3600
    os.utime(log, (old, old))
    config.stall = StallConfig(incomplete_after_minutes=240.0)
    said: list[str] = []
    session = sessions.plain(config, load_rules(), [tmp_path], once=False)
    follower = PlainFollower(session, [str(tmp_path)], said.append)
    notices: list[Notice] = []
    session.engine.subscribe(notices.append)
    assert isinstance(session.tailer, Tailer)
    follower.look()
    name = str(log)
    assert follower.read == {name} and follower.closed == {name}  # silent for 6 hours: finished
    state = session.engine.logs[name]
    assert state.current is not None and state.current.outcome.value == "incomplete"
    with log.open("ab") as handle:
        handle.write(b"".join(lines[50:400]))
    follower.look()
    restarted = [n for n in notices if n.event == "log_restarted"]
    assert [n.fields["reason"] for n in restarted] == ["resumed"]
    assert follower.closed == set() and session.tailer.offset(name) == log.stat().st_size
    state = session.engine.logs[name]
    assert state.current is not None and state.current.current_phase == 6
    log.write_bytes(b"".join(lines[:10]))  # truncated: a new content
    follower.look()
    assert [n.fields["reason"] for n in notices if n.event == "log_restarted"] == ["resumed", "truncated"]
    assert session.tailer.offset(name) == log.stat().st_size
    assert said == []


def test_status_says_each_problem_once_and_shows_no_row_for_a_log_never_read(
    config: Config, tmp_path: Path
) -> None:
    (tmp_path / "good_alt_mig.log").write_bytes(FAILED.read_bytes())
    said: list[str] = []
    session = sessions.plain(config, load_rules(), [tmp_path], once=True)
    follower = PlainFollower(session, [str(tmp_path), str(tmp_path / "nope_alt_mig.log")], said.append)
    follower.look()
    follower.look()
    assert said == [f"{tmp_path / 'nope_alt_mig.log'}: no such file or directory"]
    assert follower.read == {str(tmp_path / "good_alt_mig.log")} and follower.problems
