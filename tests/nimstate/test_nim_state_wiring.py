"""The NIM state cross-check wired in: config, the feed into the engine, the stall rule, watch and status.

A stand-in ``lsnim`` on PATH (a real process, run through the command
runner) prints recorded ``-Z`` answers. In-process tests drive time with a
fake clock; the CLI tests run real ``nimwatch`` processes and wait on what
they print.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SAMPLE_LOGS
from watch.proc import WatchProcess, watch_env
from watch.watchkit import Collector, wait_for

from nimwatch.aix.nim_state import NimStateConfig
from nimwatch.config import StallConfig, check_config, load_config
from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.sources.nim_feed import NimStateFeed
from nimwatch.stall import StallMonitor

from .lsnimkit import StandInLsnim

MIN = 60.0
DEADLINE = 120.0


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def lsnim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandInLsnim:
    stand_in = StandInLsnim(tmp_path, "busy-copy")
    for key, value in stand_in.env({"PATH": os.environ.get("PATH", "")}).items():
        monkeypatch.setenv(key, value)
    return stand_in


def following(rules: RuleSet, clock: Clock, sample: str = "running01") -> tuple[Engine, str]:
    """An engine that has read a sample log that stops in phase 6 (threshold 60 minutes), at time 0."""
    engine = Engine(rules, clock=clock)
    log = f"/logs/{sample}_alt_mig.log"
    engine.add_log(log)
    engine.feed(log, (SAMPLE_LOGS / f"{sample}_alt_mig.log").read_bytes(), at=0.0)
    return engine, log


def test_config_section_errors_name_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "nimwatch.yaml"
    path.write_text(
        "poll: 5\nnim_state:\n  enabled: yes please\n  intervall: 30\n  stall_minutes: 0\n  lsnim: lsnim\n",
        encoding="utf-8",
    )
    problems = check_config(path)
    assert f"{path}:3: nim_state.enabled: must be true or false, not 'yes please'" in problems
    assert f"{path}:4: nim_state.intervall: unknown key (did you mean 'interval'?)" in problems
    assert f"{path}:5: nim_state.stall_minutes: must be a number of minutes, at least 1" in problems
    assert f"{path}:6: nim_state.lsnim: must be an absolute path (e.g. /usr/sbin/lsnim)" in problems
    path.write_text("nim_stat:\n  interval: 30\n", encoding="utf-8")
    assert check_config(path) == [f"{path}:1: nim_stat: unknown key (did you mean 'nim_state'?)"]
    path.write_text("nim_state:\n  interval: 30\n  timeout: 20\n", encoding="utf-8")
    assert load_config(path).nim_state == NimStateConfig(interval=30.0, stall_minutes=30.0, timeout=20.0)
    path.write_text("nim_state: {enabled: false, interval: 30}\n", encoding="utf-8")
    assert load_config(path).nim_state is None
    path.write_text("nim_state: true\n", encoding="utf-8")
    assert load_config(path).nim_state == NimStateConfig()


def test_changes_reach_the_engine_and_info_unchanged_counts_toward_the_stall_rule(
    rules: RuleSet, lsnim: StandInLsnim
) -> None:
    clock = Clock()
    engine, log = following(rules, clock)
    seen = Collector(engine)
    feed = NimStateFeed(engine, NimStateConfig(interval=60, stall_minutes=30), clock=clock)
    stall = StallMonitor(engine, StallConfig(), rules, clock, nim_stall_minutes=30)
    feed.tick(0.0)
    first = seen.events("nim_state")
    assert len(first) == 1 and first[0].phase == 6 and first[0].client == "running01"
    assert first[0].get("cstate") == "alt_disk_install operation is being performed"
    assert first[0].get("info") == "copying rootvg data to the alternate disk" and first[0].get("busy") is True
    assert engine.logs[log].nim is not None and engine.logs[log].nim.info_since == 0.0
    assert all(call.startswith("LC_ALL=C -Z -a Cstate -a info -a Cstate_result running01") for call in lsnim.calls())
    for minute in (10, 20, 29):
        clock.t = minute * MIN
        feed.tick()
        assert stall.check() == []
    assert len(seen.events("nim_state")) == 1  # unchanged readings say nothing
    clock.t = 31 * MIN  # the log silent for 31 minutes (its phase's own threshold is 60) and info unchanged
    feed.tick()
    stalled = stall.check()
    assert [n.event for n in stalled] == ["stalled"]
    assert stalled[0].get("evidence") == "nim_info" and stalled[0].get("threshold_minutes") == 30
    assert stalled[0].get("nim_info") == "copying rootvg data to the alternate disk"
    assert stalled[0].get("info_unchanged_minutes") == 31.0 and stalled[0].get("silent_minutes") == 31.0
    assert stall.check(32 * MIN) == []  # reported once
    lsnim.answer("busy-restore")
    clock.t = 33 * MIN
    feed.tick()
    changed = seen.events("nim_state")[-1]
    assert changed.get("info") == "restoring BOS image: 42% done"  # a colon inside info is kept
    assert changed.get("previous_info") == "copying rootvg data to the alternate disk"
    cleared = seen.events("stall_cleared")
    assert len(cleared) == 1 and cleared[0].get("evidence") == "nim_info"
    assert stall.stalled == set()


def test_a_nim_object_with_no_operation_never_stalls_a_healthy_run(rules: RuleSet, lsnim: StandInLsnim) -> None:
    lsnim.answer("ready")
    clock = Clock()
    engine, _ = following(rules, clock)
    feed = NimStateFeed(engine, NimStateConfig(interval=60, stall_minutes=30), clock=clock)
    stall = StallMonitor(engine, StallConfig(), rules, clock, nim_stall_minutes=30)
    for minute in range(0, 60, 5):
        clock.t = minute * MIN
        feed.tick()
        assert stall.check() == [], minute
    clock.t = 61 * MIN  # the log's own rule still holds: phase 6 silent past its 60 minutes
    feed.tick()
    stalled = stall.check()
    assert [n.get("evidence") for n in stalled] == ["log"]


def test_a_log_that_moves_is_not_stalled_by_nim(rules: RuleSet, lsnim: StandInLsnim) -> None:
    clock = Clock()
    engine, log = following(rules, clock)
    feed = NimStateFeed(engine, NimStateConfig(interval=60, stall_minutes=30), clock=clock)
    stall = StallMonitor(engine, StallConfig(), rules, clock, nim_stall_minutes=30)
    feed.tick(0.0)
    engine.feed(log, b"installp:  APPLYING software for:\n", at=35 * MIN)
    clock.t = 45 * MIN  # info unchanged for 45 minutes, but the log wrote 10 minutes ago
    feed.tick()
    assert stall.check() == []


def test_an_unreadable_state_is_said_once_and_shown(rules: RuleSet, lsnim: StandInLsnim) -> None:
    lsnim.answer("not-a-nim-object")
    clock = Clock()
    engine, log = following(rules, clock)
    seen = Collector(engine)
    errors: list[str] = []
    feed = NimStateFeed(engine, NimStateConfig(interval=60), on_error=errors.append, clock=clock)
    for minute in (0, 1, 2):
        clock.t = minute * MIN
        feed.tick()
    assert len(errors) == 1 and "not a NIM object" in errors[0] and "0042-053" in errors[0]
    nim = engine.logs[log].nim
    assert nim is not None and nim.error and nim.label().startswith("unreadable: running01 is not a NIM object")
    assert [n.get("severity") for n in seen.events("nim_state")] == ["warning"]
    lsnim.answer("ready")
    clock.t = 3 * MIN
    feed.tick()
    assert engine.logs[log].nim is not None and not engine.logs[log].nim.error
    assert len(seen.events("nim_state")) == 2


def write_config(tmp_path: Path, lsnim: StandInLsnim, interval: int = 5) -> Path:
    config = tmp_path / "nimwatch.yaml"
    config.write_text(f"nim_state:\n  interval: {interval}\n  lsnim: {lsnim.bin / 'lsnim'}\n", encoding="utf-8")
    return config


def test_watch_prints_a_nim_state_event_when_the_state_changes(tmp_path: Path, lsnim: StandInLsnim) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(SAMPLE_LOGS / "running01_alt_mig.log", logs)
    config = write_config(tmp_path, lsnim)
    watch = WatchProcess(["--poll", "0.2", str(logs)], config, tmp_path / "state.db", tmp_path)
    try:
        watch.ready()
        wait_for(lambda: [e for e in watch.events() if e["event"] == "nim_state"], DEADLINE, "the first nim_state")
        lsnim.answer("busy-restore")
        wait_for(lambda: len([e for e in watch.events() if e["event"] == "nim_state"]) == 2, DEADLINE, "the change")
    finally:
        assert watch.stop() == 0, watch.stderr()
    states = [e for e in watch.events() if e["event"] == "nim_state"]
    assert states[0]["client"] == "running01" and states[0]["phase"] == 6 and states[0]["schema"] == 1
    assert states[0]["info"] == "copying rootvg data to the alternate disk" and states[0]["previous_info"] is None
    assert states[1]["info"] == "restoring BOS image: 42% done"
    assert states[1]["previous_info"] == "copying rootvg data to the alternate disk"
    assert not [e for e in watch.events() if e["event"] == "stalled"]
    # a restart with the NIM state unchanged says nothing new (the journal knows it was printed)
    again = subprocess.run(
        [sys.executable, "-m", "nimwatch", "watch", "--once", str(logs)],
        capture_output=True,
        text=True,
        env=lsnim.env(watch_env(config, tmp_path / "state.db")),
        cwd=str(tmp_path),
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert '"nim_state"' not in again.stdout


def test_status_shows_the_nim_state_beside_the_phase(tmp_path: Path, lsnim: StandInLsnim) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for sample in ("running01", "web73"):
        shutil.copy(SAMPLE_LOGS / f"{sample}_alt_mig.log", logs)
    config = write_config(tmp_path, lsnim)
    result = subprocess.run(
        [sys.executable, "-m", "nimwatch", "status", "--ascii", "--config", str(config), str(logs)],
        capture_output=True,
        text=True,
        env={**lsnim.env(watch_env(None, tmp_path / "state.db")), "COLUMNS": "200"},
        cwd=str(tmp_path),
        timeout=300,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.index("NIM STATE") > header.index("PHASE")
    running = next(r for r in rows if r.split()[2] == "running01")
    assert "6/12" in running and "copying rootvg data to the alternate disk" in running

    assert {line.split()[-1] for line in lsnim.calls()} == {"running01", "web73"}
    # without the section nothing runs lsnim and the column is not there
    calls = len(lsnim.calls())
    plain = subprocess.run(
        [sys.executable, "-m", "nimwatch", "status", "--ascii", str(logs)],
        capture_output=True,
        text=True,
        env={**lsnim.env(watch_env(None, tmp_path / "state.db")), "COLUMNS": "200"},
        cwd=str(tmp_path),
        timeout=300,
        check=False,
    )
    assert "NIM STATE" not in plain.stdout and len(lsnim.calls()) == calls


def test_as_root_an_lsnim_others_can_change_is_never_run(
    rules: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nimwatch.trust

    monkeypatch.setattr(nimwatch.trust, "running_as_root", lambda: True)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # anyone may replace what is in it
    stand_in = StandInLsnim(shared)
    lsnim = stand_in.bin / "lsnim"
    stand_in.bin.chmod(0o777)
    config = tmp_path / "nimwatch.yaml"
    config.write_text(f"nim_state:\n  lsnim: {lsnim}\n", encoding="utf-8")
    problems = check_config(config)
    assert len(problems) == 1 and problems[0].startswith(f"{config}:2: nim_state.lsnim: ")
    assert "the lsnim command" in problems[0]
    clock = Clock()
    engine, log = following(rules, clock)
    errors: list[str] = []
    feed = NimStateFeed(engine, NimStateConfig(lsnim=str(lsnim)), on_error=errors.append, clock=clock)
    feed.tick(0.0)
    assert len(errors) == 1 and errors[0].startswith("NIM state cross-check off: ")
    assert stand_in.calls() == [] and engine.logs[log].nim is None
