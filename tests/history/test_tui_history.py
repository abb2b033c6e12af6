"""The TUI's side of the history: it records the runs it saw finish, unless a watcher does; its rows show the ETA."""

from __future__ import annotations

from pathlib import Path

from watch.proc import WatchProcess
from watch.watchkit import running_run, success_run

from nimwatch.core.history import HistoryRecord
from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.eta_live import EtaSource, HistoryCache
from nimwatch.history_store import records
from nimwatch.journal import Journal
from nimwatch.journaldb import watcher_holds
from nimwatch.run_history import tui_recorder
from nimwatch.tui.context import TuiContext

LOG = "/l/lpar3_alt_mig.log"


def finish_timed_run(engine: Engine) -> None:
    """lpar3's whole run, each phase 60 s after the previous one."""
    text = success_run("lpar3")
    previous = ""
    for phase in range(1, 12):
        part = running_run("lpar3", phase)
        engine.feed(LOG, part[len(previous) :].encode(), at=1000.0 + 60 * phase)
        previous = part
    engine.feed(LOG, text[len(previous) :].encode(), at=1000.0 + 60 * 13)


def stored(state: Path) -> list[HistoryRecord]:
    if not state.exists():
        return []
    journal = Journal.open(state, readonly=True)
    try:
        return records(journal)
    finally:
        journal.close()


def test_the_tui_records_a_run_it_saw_finish(rules: RuleSet, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    engine = Engine(rules)
    engine.subscribe(tui_recorder(engine, state, rules, timed=lambda log: True))
    finish_timed_run(engine)
    (record,) = stored(state)
    assert record.client == "lpar3" and record.outcome == "succeeded" and record.usable_for_eta
    assert record.phases[2] == 60.0


def test_not_when_its_times_are_made_up(rules: RuleSet, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    engine = Engine(rules)
    engine.subscribe(tui_recorder(engine, state, rules, timed=lambda log: False))
    finish_timed_run(engine)
    assert stored(state) == []


def test_not_while_a_watcher_holds_the_journal(rules: RuleSet, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    (tmp_path / "logs").mkdir()
    watcher = WatchProcess([str(tmp_path / "logs")], None, state, tmp_path).ready()
    try:
        assert watcher_holds(state)
        engine = Engine(rules)
        engine.subscribe(tui_recorder(engine, state, rules, timed=lambda log: True))
        finish_timed_run(engine)
        assert stored(state) == [], "the watcher records its own runs"
    finally:
        assert watcher.stop() == 0
    assert not watcher_holds(state)


def test_the_tui_rows_show_the_eta_from_history(rules: RuleSet) -> None:
    engine = Engine(rules)
    previous = ""
    for phase in range(1, 4):
        part = running_run("lpar3", phase)
        engine.feed(LOG, part[len(previous) :].encode(), at=1000.0 + 60 * phase)
        previous = part
    history = [
        HistoryRecord(
            client="lpar3", outcome="succeeded", started_at=float(i), phases=dict.fromkeys(range(1, 13), 60.0)
        )
        for i in range(3)
    ]
    ctx = TuiContext(engine=engine, now=lambda: 1000.0 + 60 * 3 + 30)
    assert ctx.rows()[0].eta_text != "0:30", "without history: the elapsed time scaled by progress"
    ctx.estimate = EtaSource(rules, HistoryCache(history)).eta_for
    (row,) = ctx.rows()
    assert row.eta == 30 + 9 * 60 and row.eta_text == "9:30"
    late = TuiContext(engine=engine, now=lambda: 1000.0 + 60 * 3 + 600, estimate=ctx.estimate)
    assert late.rows()[0].eta_text == "overdue by 8:00", "10 minutes in: past p90 (60 s + the 60 s floor) by 8"


async def test_the_dashboard_shows_the_eta_from_history() -> None:
    """The TUI's ETA column, on screen: from the recorded runs of the client, not from the phase weights."""
    from tui.tuikit import RUNNING_LOG, build_app

    from nimwatch.tui.client_table import ClientTable

    app = build_app([RUNNING_LOG])
    (row,) = app.ctx.rows()
    history = [
        HistoryRecord(
            client="running01", outcome="succeeded", started_at=float(i), phases=dict.fromkeys(range(1, 13), 600.0)
        )
        for i in range(5)
    ]
    app.ctx.estimate = EtaSource(app.ctx.rules, HistoryCache(history)).eta_for
    (with_history,) = app.ctx.rows()
    assert with_history.eta != row.eta and not with_history.eta_rough
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ClientTable)
        eta_column = list(table.columns).index("eta")
        assert table.get_row_at(0)[eta_column].plain == with_history.eta_text
