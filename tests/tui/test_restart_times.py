"""Times from the state journal: elapsed, phase durations and the ETA survive a restart of the TUI.

The journal is the one ``nimwatch watch`` keeps: per log, its identity and
arrival checkpoints (line N had arrived by time T). A TUI started later reads
the logs from their start; :class:`JournalArrivals` feeds what the journal
knows with the recorded times, so the rows and the phase timeline are as they
were, and only lines written after the start count as news.
"""

from __future__ import annotations

import os
from pathlib import Path

from nimwatch.engine import Engine
from nimwatch.journal import Journal
from nimwatch.rulefiles import load_rules
from nimwatch.sources.arrivals import JournalArrivals
from nimwatch.sources.tail import Chunk, FileIdentity, Tailer
from nimwatch.tui.app import make_app

from .tuikit import EPOCH, RUNNING_LOG, wait_for, widget_text

LINES = 400
CHECKPOINTS = {60: EPOCH + 600.0, 200: EPOCH + 2000.0, 400: EPOCH + 3000.0}
"""What ``nimwatch watch`` recorded: line 60 had arrived 10 minutes in, line 400 after 50."""


def journal_for(path: Path, log: Path) -> Journal:
    """A state journal as ``nimwatch watch`` leaves it after reading ``log`` (its first 400 lines)."""
    journal = Journal.open(path)
    st = os.stat(log)
    data = log.read_bytes()
    for line, at in CHECKPOINTS.items():
        offset = sum(len(x) for x in data.splitlines(keepends=True)[:line])
        journal.record_file(str(log), FileIdentity(st.st_dev, st.st_ino, 1, offset), line, at, checkpoint=True)
    journal.close()
    return Journal.open(path, readonly=True)


def first_lines(directory: Path, count: int = LINES) -> tuple[Path, list[bytes]]:
    lines = RUNNING_LOG.read_bytes().splitlines(keepends=True)
    log = directory / "lpar-hq-oracle-db-07_alt_mig.log"
    log.write_bytes(b"".join(lines[:count]))
    return log, lines


def test_lines_read_at_start_get_the_journal_s_times(tmp_path: Path) -> None:
    log, lines = first_lines(tmp_path)
    journal = journal_for(tmp_path / "state.db", log)
    engine = Engine(load_rules())
    arrivals = JournalArrivals(engine, journal, {str(log): LINES})
    st = os.stat(log)
    data = log.read_bytes()
    # the tailer reads the file in pieces that do not end where the checkpoints are
    now = EPOCH + 9999.0
    for start in range(0, len(data), 7000):
        arrivals.feed(str(log), data[start : start + 7000], now, Chunk(start, FileIdentity(st.st_dev, st.st_ino)))
    run = engine.logs[str(log)].current
    assert run is not None and run.start_line < 60
    assert run.started_at == EPOCH + 600.0  # the run began by the first checkpoint
    phase2 = run.phase(2)
    assert phase2.started_at is not None and phase2.started_at in CHECKPOINTS.values()
    assert arrivals.timed(str(log)) and arrivals.time_known(str(log), 350) and not arrivals.fresh(str(log), 400)
    # a line written after the start is news, with its own time
    arrivals.feed(str(log), lines[LINES], now + 1, Chunk(len(data), FileIdentity(st.st_dev, st.st_ino)))
    assert arrivals.fresh(str(log), LINES + 1) and run.last_line_at == now + 1


def test_another_file_under_the_name_gets_no_recorded_times(tmp_path: Path) -> None:
    log, _ = first_lines(tmp_path)
    journal = journal_for(tmp_path / "state.db", log)
    engine = Engine(load_rules())
    arrivals = JournalArrivals(engine, journal, {str(log): LINES})
    data = log.read_bytes()
    other = FileIdentity(os.stat(log).st_dev, os.stat(log).st_ino + 1)  # a new inode: not what the journal read
    arrivals.feed(str(log), data, EPOCH + 9999.0, Chunk(0, other))
    run = engine.logs[str(log)].current
    assert run is not None and run.started_at == EPOCH + 9999.0
    assert not arrivals.timed(str(log)) and not arrivals.time_known(str(log), 10)


async def test_a_restarted_tui_shows_elapsed_phase_times_and_an_eta(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log, _ = first_lines(logs)
    journal = journal_for(tmp_path / "state.db", log)
    engine = Engine(load_rules())
    arrivals = JournalArrivals(engine, journal, {str(log): LINES})
    tailer = Tailer(engine, [logs], poll=0.05, sink=arrivals)
    now = EPOCH + 3600.0
    app = make_app(engine, tailer=tailer, clock=lambda: now, timed=arrivals.timed, fresh=arrivals.fresh)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: engine.logs.get(str(log)) is not None and engine.logs[str(log)].lines == LINES)
        await wait_for(pilot, lambda: app.ctx.row(str(log)) is not None)
        row = app.ctx.row(str(log))
        assert row is not None and row.status == "running"
        assert row.elapsed == 3000.0  # from the run's first checkpoint to "now"
        assert row.eta is not None and row.eta > 0 and row.eta_text != "-"  # the estimator (no history: rough)
        await wait_for(pilot, lambda: "Elapsed" in widget_text(app.screen.query_one("#clients")))
        assert "50:00" in widget_text(app.screen.query_one("#clients"))
        app.open_client(str(log))
        await wait_for(pilot, lambda: getattr(app.screen, "ready", False) and app.screen.id == "detail")
        await wait_for(pilot, lambda: "phase 6/12" in widget_text(app.screen.query_one("#detail-title")))
        timeline = widget_text(app.screen.query_one("#timeline"))
        assert "23:20" in timeline  # phase 1 to 5's times: 600 s to 2000 s, phase 6 from 2000 s to now
        assert app.announcer.announced == []  # nothing in these lines is news
