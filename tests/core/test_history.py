"""History records: the JSON and SQLite row shapes round-trip, bad input is named, records come from real runs."""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any

import pytest
from helpers import SAMPLE_LOGS
from hypothesis import given
from hypothesis import strategies as st

from nimwatch.core.events import Event
from nimwatch.core.history import (
    MODES,
    OUTCOMES,
    ROW_COLUMNS,
    TABLE_SQL,
    HistoryRecord,
    RecordError,
    record_from_run,
    run_mode,
)
from nimwatch.core.reader import LogReader
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState


def record(**changes: Any) -> HistoryRecord:
    fields: dict[str, Any] = {
        "client": "lpar1",
        "master": "nim01",
        "log": "/var/adm/ras/alt_mig/lpar1_alt_mig.log",
        "run": 2,
        "source_level": "7.2",
        "target_level": "7.3",
        "mode": "cache",
        "variants": ("cache",),
        "outcome": "succeeded",
        "started_at": 1_700_000_000.0,
        "finished_at": 1_700_004_000.5,
        "phases": {1: 180.0, 2: 60.25, 6: 1800.0},
        "sizes": {"filesets": 912},
    }
    fields.update(changes)
    return HistoryRecord(**fields)


def test_json_shape_is_the_documented_one() -> None:
    doc = record().to_json()
    assert doc == {
        "version": 1,
        "client": "lpar1",
        "master": "nim01",
        "log": "/var/adm/ras/alt_mig/lpar1_alt_mig.log",
        "run": 2,
        "source_level": "7.2",
        "target_level": "7.3",
        "mode": "cache",
        "partial": False,
        "variants": ["cache"],
        "outcome": "succeeded",
        "failed_phase": None,
        "started_at": 1_700_000_000.0,
        "finished_at": 1_700_004_000.5,
        "phases": {"1": 180.0, "2": 60.25, "6": 1800.0},
        "sizes": {"filesets": 912},
    }
    assert HistoryRecord.from_json(json.loads(json.dumps(doc))) == record()


def test_row_round_trips_through_a_real_sqlite_table() -> None:
    db = sqlite3.connect(":memory:")
    db.executescript(TABLE_SQL)
    rows = [record(), record(run=3, outcome="failed", failed_phase=6, partial=True, phases={})]
    marks = ", ".join("?" for _ in ROW_COLUMNS)
    db.executemany(f"INSERT OR REPLACE INTO history VALUES ({marks})", [r.to_row() for r in rows])
    db.execute(f"INSERT OR REPLACE INTO history VALUES ({marks})", rows[0].to_row())  # the same run again
    assert db.execute("SELECT count(*) FROM history").fetchone()[0] == 2
    db.row_factory = sqlite3.Row
    back = [HistoryRecord.from_row(r) for r in db.execute("SELECT * FROM history ORDER BY run")]
    assert back == rows
    plain = sqlite3.connect(":memory:")
    plain.executescript(TABLE_SQL)
    plain.execute(f"INSERT INTO history VALUES ({marks})", rows[1].to_row())
    assert HistoryRecord.from_row(plain.execute("SELECT * FROM history").fetchone()) == rows[1]


def test_key_identifies_a_run() -> None:
    assert record().key == record(phases={}).key
    assert record().key != record(run=3).key
    assert record().key != record(started_at=1.0).key
    assert record(started_at=None).key.endswith("|2|")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"outcome": "running"}, "outcome must be one of"),
        ({"mode": "tape"}, "mode must be one of"),
        ({"client": ""}, "client must be"),
        ({"phases": {13: 1.0}}, "13 is not a phase number"),
        ({"phases": {0: 1.0}}, "0 is not a phase number"),
        ({"phases": {3: -1.0}}, "phases.3"),
        ({"phases": {3: math.nan}}, "phases.3"),
        ({"phases": {3: math.inf}}, "phases.3"),
        ({"phases": {3: True}}, "phases.3"),
    ],
)
def test_bad_records_are_refused_naming_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        record(**changes)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"version": 2}, "version 2 is not supported"),
        ({"client": None}, "client must be a non-empty string"),
        ({"phases": {"x": 1.0}}, "'x' is not a phase number"),
        ({"phases": [1, 2]}, "phases must be an object"),
        ({"sizes": {"filesets": "912"}}, "sizes.filesets"),
        ({"variants": "cache"}, "variants must be a list"),
        ({"partial": "no"}, "partial must be true or false"),
        ({"run": 1.5}, "run must be an integer"),
        ({"started_at": "yesterday"}, "started_at must be a number"),
        ({"outcome": "crashed"}, "outcome must be one of"),
    ],
)
def test_bad_json_is_refused_naming_the_field(patch: dict[str, Any], message: str) -> None:
    doc = record().to_json()
    doc.update(patch)
    with pytest.raises(RecordError, match=message):
        HistoryRecord.from_json(doc)


def test_bad_rows_are_refused() -> None:
    with pytest.raises(RecordError, match="columns"):
        HistoryRecord.from_row(("lpar1",))
    row = list(record().to_row())
    row[[n for n, _ in ROW_COLUMNS].index("phases")] = "{not json"
    with pytest.raises(RecordError, match="phases: not JSON"):
        HistoryRecord.from_row(tuple(row))


def test_what_feeds_an_eta() -> None:
    assert record().usable_for_eta
    assert not record(outcome="failed").usable_for_eta
    assert not record(outcome="incomplete").usable_for_eta
    assert not record(partial=True).usable_for_eta
    assert not record(variants=("wakeup",)).usable_for_eta
    assert not record(phases={}).usable_for_eta, "an import without timings has outcomes only"
    assert record().duration == pytest.approx(4000.5)
    assert record(finished_at=None).duration is None


@given(
    client=st.text(min_size=1, max_size=20),
    mode=st.sampled_from(("", *MODES)),
    outcome=st.sampled_from(OUTCOMES),
    phases=st.dictionaries(st.integers(1, 12), st.floats(0, 1e6, allow_nan=False), max_size=12),
    sizes=st.dictionaries(st.text(min_size=1, max_size=8), st.integers(0, 10**6), max_size=3),
    started=st.none() | st.floats(0, 2e9, allow_nan=False),
)
def test_any_record_round_trips(
    client: str, mode: str, outcome: str, phases: dict[int, float], sizes: dict[str, int], started: float | None
) -> None:
    rec = HistoryRecord(client=client, mode=mode, outcome=outcome, phases=phases, sizes=sizes, started_at=started)
    assert HistoryRecord.from_json(json.loads(json.dumps(rec.to_json()))) == rec
    assert HistoryRecord.from_row(rec.to_row()) == rec


# --------------------------------------------------------------------------- from real runs


def timed_state(rules: RuleSet, name: str) -> LogState:
    """A sample log parsed with each event arriving at "its line number" seconds."""
    client = name.split("_alt_mig")[0]
    reader = LogReader(rules, client)
    state = LogState(name, client)
    events: list[Event] = [*reader.feed((SAMPLE_LOGS / name).read_bytes()), *reader.close()]
    for event in events:
        state.apply(event, at=float(getattr(event, "line", 0)))
    return state


def test_a_successful_cache_run(rules: RuleSet) -> None:
    state = timed_state(rules, "web73_alt_mig.log")
    run = state.current
    assert run is not None
    rec = record_from_run(run, log=state.log, source_level="7.2")
    assert (rec.client, rec.outcome, rec.mode, rec.target_level, rec.partial) == (
        "web73",
        "succeeded",
        "cache",
        "7.3",
        False,
    )
    assert rec.source_level == "7.2"
    assert sorted(rec.phases) == list(range(1, 13))
    for phase in run.phases:
        assert phase.start_line is not None and phase.end_line is not None
        assert rec.phases[phase.number] == phase.end_line - phase.start_line
    assert rec.sizes.get("filesets") == run.phase(6).progress_total
    assert rec.usable_for_eta


@pytest.mark.parametrize(
    ("name", "outcome", "mode", "usable"),
    [
        ("aixlpar53_alt_mig.log", "succeeded", "nfs", True),
        ("mksysb72_alt_mig.log", "succeeded", "mksysb", True),
        ("fail6inst_alt_mig.log", "failed", "cache", False),
        ("partial04_alt_mig.log", "succeeded", "", False),
        ("wakeup05_alt_mig.log", "succeeded", "", False),
    ],
)
def test_records_of_sample_runs(rules: RuleSet, name: str, outcome: str, mode: str, usable: bool) -> None:
    state = timed_state(rules, name)
    assert state.current is not None
    rec = record_from_run(state.current, log=state.log)
    assert (rec.outcome, rec.usable_for_eta) == (outcome, usable)
    if mode:
        assert rec.mode == mode
    if name.startswith("fail6"):
        assert rec.failed_phase == 6 and 6 in rec.phases
    if name.startswith("partial"):
        assert rec.partial and set(rec.phases) <= {4, 5, 6}


def test_a_run_without_arrival_times_has_no_durations(rules: RuleSet) -> None:
    reader = LogReader(rules, "web73")
    state = LogState("web73_alt_mig.log", "web73")
    for event in [*reader.feed((SAMPLE_LOGS / "web73_alt_mig.log").read_bytes()), *reader.close()]:
        state.apply(event)
    assert state.current is not None
    rec = record_from_run(state.current)
    assert rec.phases == {} and rec.outcome == "succeeded" and not rec.usable_for_eta


def test_a_running_run_is_not_history(rules: RuleSet) -> None:
    reader = LogReader(rules, "running01")
    state = LogState("running01_alt_mig.log", "running01")
    for event in reader.feed((SAMPLE_LOGS / "running01_alt_mig.log").read_bytes()):
        state.apply(event, at=1.0)
    assert state.current is not None
    with pytest.raises(RecordError, match="has not finished"):
        record_from_run(state.current)


def test_run_mode() -> None:
    assert run_mode(["mksysb", "cache"]) == "mksysb"
    assert run_mode(["cache", "update"]) == "cache"
    assert run_mode(["nfs"]) == "nfs"
    assert run_mode(["wakeup"]) == ""
