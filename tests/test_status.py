"""``nimwatch status``: the dashboard rows as data, the plain table, and the command (once and --watch)."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from helpers import SAMPLE_LOGS

from nimwatch.cli import main
from nimwatch.commands import status as status_command
from nimwatch.config import StallConfig
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState
from nimwatch.engine import Engine
from nimwatch.sources.files import read_log
from nimwatch.stall import StallMonitor
from nimwatch.views.columns import Column, fit_columns
from nimwatch.views.status_table import (
    ASCII_SYMBOL,
    ClientRow,
    client_row,
    filter_rows,
    fmt_duration,
    sort_rows,
    summary,
    weighted_fraction,
)
from nimwatch.views.status_text import render_table

OK = SAMPLE_LOGS / "aixlpar53_alt_mig.log"
FAILED = SAMPLE_LOGS / "fail6inst_alt_mig.log"
RUNNING = SAMPLE_LOGS / "running01_alt_mig.log"


def live_state(rules: RuleSet, path: Path, lines: int | None = None, start: float = 1000.0) -> LogState:
    """The state of ``path`` as a live engine sees it (not closed), one second per line."""
    engine = Engine(rules)
    data = path.read_bytes().splitlines(keepends=True)
    for i, line in enumerate(data[:lines]):
        engine.feed(str(path), line, at=start + i)
    return engine.logs[str(path)]


def row(rules: RuleSet, state: LogState, now: float = 5000.0, **kw: bool) -> ClientRow:
    return client_row(state, rules, now, **kw)


# --------------------------------------------------------------------------- rows


def test_rows_of_a_finished_a_failed_and_a_running_client(rules: RuleSet) -> None:
    ok = row(rules, read_log(OK, rules))
    failed = row(rules, read_log(FAILED, rules))
    running = row(rules, live_state(rules, RUNNING))
    assert (ok.status, ok.phase, ok.phase_name, ok.fraction) == ("succeeded", 12, "Clean up", 1.0)
    # FIND counts findings that are not routine lines (fail6inst's alt_lock line is benign)
    assert (failed.status, failed.phase) == ("failed", 6) and failed.findings == 9 and failed.worst == "error"
    assert (running.status, running.phase) == ("running", 6)
    assert running.phase_label == "6/12 Install and migrate software (installp)"
    assert running.last_line and running.client == "running01"


def test_progress_is_weighted_by_phase_and_counts_inside_the_phase(rules: RuleSet) -> None:
    state = live_state(rules, RUNNING)
    run = state.current
    assert run is not None
    weights = {p.number: p.weight for p in rules.model.phases}
    total = sum(weights.values())
    ps6 = run.phase(6)
    assert ps6.progress_total and ps6.progress_done is not None
    expected = (sum(weights[n] for n in range(1, 6)) + weights[6] * ps6.progress_done / ps6.progress_total) / total
    assert weighted_fraction(run, rules) == pytest.approx(expected)


def test_elapsed_and_eta_from_the_weights(rules: RuleSet) -> None:
    state = live_state(rules, RUNNING, start=1000.0)
    r = row(rules, state, now=2000.0)
    assert r.elapsed == pytest.approx(1000.0)
    assert r.eta == pytest.approx(1000.0 * (1 - r.fraction) / r.fraction)
    untimed = row(rules, state, now=2000.0, timed=False)
    assert untimed.elapsed is None and untimed.eta is None
    done = row(rules, live_state(rules, OK, start=1000.0), now=9999.0)
    assert done.eta is None and done.elapsed == pytest.approx(done.elapsed or 0.0)


def test_a_stalled_run_makes_the_row_stalled_until_lines_resume(rules: RuleSet) -> None:
    engine = Engine(rules)
    data = RUNNING.read_bytes()
    engine.feed(str(RUNNING), data, at=1000.0)
    monitor = StallMonitor(engine, StallConfig(default_minutes=10.0), rules)
    assert [n.event for n in monitor.check(1000.0 + 11 * 60)] == ["stalled"]
    state = engine.logs[str(RUNNING)]
    assert row(rules, state, now=1000.0 + 11 * 60).status == "stalled"
    engine.feed(str(RUNNING), b"Still copying.\n", at=1000.0 + 12 * 60)
    assert row(rules, state, now=1000.0 + 12 * 60).status != "stalled"


def test_a_log_without_nimadm_output_is_waiting(rules: RuleSet) -> None:
    r = row(rules, LogState("/x/new_alt_mig.log", "new"))
    assert (r.status, r.phase, r.phase_name) == ("running", 0, "waiting for nimadm output")


def test_sort_filter_and_summary(rules: RuleSet) -> None:
    rows = [
        row(rules, read_log(OK, rules)),
        row(rules, read_log(FAILED, rules)),
        row(rules, live_state(rules, RUNNING)),
    ]
    assert [r.status for r in sort_rows(rows)] == ["failed", "running", "succeeded"]
    assert [r.client for r in sort_rows(rows, "name")] == ["aixlpar53", "fail6inst", "running01"]
    assert [r.client for r in sort_rows(rows, "client", descending=True)] == ["running01", "fail6inst", "aixlpar53"]
    assert sort_rows(rows, "progress")[0].client == "aixlpar53"  # the biggest first
    assert sort_rows(rows, "progress", descending=False)[0].client == "fail6inst"
    assert [r.reboot for r in sort_rows(rows, "reboot")] == ["do_not_reboot", "wait", "safe"]
    assert sort_rows(rows, "cause")[0].client == "fail6inst"  # rows without a cause last
    assert [r.client for r in filter_rows(rows, "ready")] == ["aixlpar53"]
    assert [r.client for r in filter_rows(rows, "problems")] == ["fail6inst"]
    assert [r.client for r in filter_rows(rows, "running")] == ["running01"]
    assert [r.client for r in filter_rows(rows, "all", "LPAR")] == ["aixlpar53"]
    assert summary(rows) == "3 clients: 1 running, 0 stalled, 1 failed, 0 incomplete, 1 succeeded"


def test_durations() -> None:
    assert fmt_duration(None) == "-"
    assert fmt_duration(59.6) == "1:00"
    assert fmt_duration(3725) == "1:02:05"


# --------------------------------------------------------------------------- the plain table


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_table_fits_the_width_and_reads_without_colour(rules: RuleSet, width: int) -> None:
    rows = sort_rows([row(rules, read_log(p, rules)) for p in (OK, FAILED)] + [row(rules, live_state(rules, RUNNING))])
    text = render_table(rows, width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), [len(line) for line in lines]
    assert lines[0].startswith("STATUS") and len(lines) == 5
    assert lines[1].startswith("✖ failed") and lines[2].startswith("▶ running") and lines[3].startswith("✔ succeeded")
    assert "\x1b[" not in text
    assert lines[-1].startswith("3 clients:")


def test_ascii_and_colour_variants(rules: RuleSet) -> None:
    rows = [row(rules, read_log(FAILED, rules))]
    plain = render_table(rows, 100, ascii_only=True)
    assert plain.isascii() and f"{ASCII_SYMBOL['failed']} failed" in plain and "#" in plain
    coloured = render_table(rows, 100, colour=True)
    assert "\x1b[1;31m✖ failed" in coloured


# --------------------------------------------------------------------------- the command


@pytest.fixture
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for path in (OK, FAILED, RUNNING):
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


def test_status_prints_three_rows_once(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(log_dir)]) == 1  # a run failed
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("STATUS")
    assert [line.split()[2] for line in out[1:4]] == ["fail6inst", "running01", "aixlpar53"]
    assert out[-1] == "3 clients: 1 running, 0 stalled, 1 failed, 0 incomplete, 1 succeeded"
    # elapsed and ETA are unknown without the state journal: their columns are left out;
    # running01's 8 findings are routine (benign) lines; each row says whether the client may reboot
    assert "ELAPSED" not in out[0] and "ETA" not in out[0] and "REBOOT" in out[0] and "CAUSE" in out[0]
    assert re.search(r"\d%\s+0 wait", out[2]), out[2]
    assert "do not" in out[1] and "installp: requisite failures" in out[1] and "ready" in out[3]


def test_status_sort_ascii_and_exit_codes(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(log_dir), "--sort", "name", "--ascii"]) == 1
    out = capsys.readouterr().out
    assert out.isascii()
    assert [line.split()[2] for line in out.splitlines()[1:4]] == ["aixlpar53", "fail6inst", "running01"]
    assert main(["status", str(log_dir / OK.name)]) == 0
    assert main(["status", str(log_dir / RUNNING.name)]) == 3
    assert main(["status", str(log_dir / "nope_alt_mig.log")]) == 2


def test_a_log_silent_for_hours_is_read_as_finished(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = time.time() - 5 * 3600
    os.utime(log_dir / RUNNING.name, (old, old))
    assert main(["status", str(log_dir / RUNNING.name)]) == 3
    assert "? incomplete" in capsys.readouterr().out


def test_a_quiet_running_log_shows_as_stalled(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quiet = time.time() - 100 * 60  # phase 6 stalls after 60 minutes; incomplete only after 240
    os.utime(log_dir / RUNNING.name, (quiet, quiet))
    assert main(["status", str(log_dir / RUNNING.name)]) == 3
    assert "‖ stalled" in capsys.readouterr().out


def test_watch_redraws_with_plain_ansi(
    log_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = log_dir / "growing_alt_mig.log"
    lines = RUNNING.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:50]))
    frames: list[float] = []

    def fake_sleep(seconds: float) -> None:
        frames.append(seconds)
        if len(frames) == 1:
            with log.open("ab") as handle:
                handle.write(b"".join(lines[50:400]))
            return
        raise KeyboardInterrupt

    monkeypatch.setattr(status_command, "sleep", fake_sleep)
    assert main(["status", str(log), "--watch", "2"]) == 130
    out = capsys.readouterr().out
    first, second = out.split(status_command.CLEAR)[1:]
    assert frames == [2.0, 2.0]
    assert "2/12 Prepare" in first and "6/12 Install" in second
    assert "every 2 s" in second


def test_status_does_not_accept_a_bad_interval(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(log_dir), "--watch", "0"]) == 2
    assert "positive" in capsys.readouterr().err


def test_rows_are_judged_on_the_last_migration(rules: RuleSet) -> None:
    killed = row(rules, read_log(SAMPLE_LOGS / "killclean_alt_mig.log", rules))
    assert (killed.status, killed.run, killed.phase) == ("incomplete", 1, 6)
    assert killed.verdict == "incomplete (abandoned), cleaned up — not migrated"
    assert killed.phase_label == "6/12 abandoned, cleaned up"
    assert 0.0 < killed.fraction < 1.0
    only = row(rules, read_log(SAMPLE_LOGS / "cleanup03_alt_mig.log", rules))
    assert (only.status, only.fraction, only.phase_name) == ("other", 0.0, "clean-up only")
    text = render_table([killed, only], 120, ascii_only=True)
    assert "? incomplete" in text and ". other" in text and "6/12 abandoned, cleaned up" in text
    assert text.splitlines()[-1] == "2 clients: 0 running, 0 stalled, 0 failed, 1 incomplete, 0 succeeded, 1 other"


def test_columns_give_way_in_order_and_spare_width_goes_to_the_wide_ones() -> None:
    columns = [
        Column("status", "Status", 12),
        Column("client", "Client", 20, least=8, squeeze=1),
        Column("phase", "Phase", 46, least=12, grow=2),
        Column("eta", "ETA", 8, drop=2),
        Column("cause", "Cause", 40, least=18, grow=2),
        Column("last", "Last line", 60, least=30, grow=1, drop=1),
    ]

    def fit(width: int) -> dict[str, int]:
        fitted = fit_columns(columns, width, gap=1)
        assert sum(w for _, w in fitted) + len(fitted) - 1 <= width or width < 70
        return {c.key: w for c, w in fitted}

    assert fit(200) == {"status": 12, "client": 20, "phase": 46, "eta": 8, "cause": 40, "last": 60}
    assert fit(170) == {"status": 12, "client": 20, "phase": 46, "eta": 8, "cause": 40, "last": 39}
    # the last line gives way as soon as the phase or the cause would be cut; they share the rest
    wide = fit(120)
    assert "last" not in wide and wide["eta"] == 8 and wide["phase"] + wide["cause"] == 120 - 4 - 40
    assert wide["cause"] == 40 and wide["phase"] == 36
    narrow = fit(70)
    assert "eta" not in narrow and narrow["client"] == 20 and narrow["phase"] >= 12 and narrow["cause"] >= 18
    squeezed = fit(60)  # nothing left to drop: the client name shrinks, down to its least
    assert squeezed["client"] < 20 and squeezed["phase"] == 12 and squeezed["cause"] == 18


def test_text_from_logs_and_file_names_is_escaped_in_the_plain_table(rules: RuleSet, tmp_path: Path) -> None:
    name = tmp_path / "evil\x1b[31m_alt_mig.log"
    name.write_bytes(b"Initializing the NIM master.\nnimadm: \x1b]2;PWNED\x07 status \x9b31m red\n")
    r = row(rules, read_log(name, rules))
    assert r.client == "evil\\x1b[31m" and "\\x1b]2;PWNED\\x07" in r.last_line and "\\x9b" in r.last_line
    text = render_table([r], 160, colour=True)
    body = text.split("\n", 1)[1]
    assert "\x07" not in text and "\x9b" not in text and "\x1b]" not in text
    # the only escapes are nimwatch's own colours
    assert [m for m in re.findall(r"\x1b\[[0-9;]*m", body)] and "\x1b[31m" not in body.replace("\x1b[31m", "", 0)


def test_the_nim_state_column_is_there_only_with_the_cross_check(rules: RuleSet) -> None:
    from dataclasses import replace

    from nimwatch.tui.table_cells import fit_layout, row_cells
    from nimwatch.views.columns import table_columns

    plain = [row(rules, read_log(path, rules)) for path in (OK, FAILED, RUNNING)]
    assert "nim" not in [c.key for c in table_columns(plain)]
    nim = [replace(r, nim="copying rootvg data to the alternate disk" if r.client == "running01" else "") for r in plain]
    assert [c.key for c in table_columns(nim)].index("nim") == [c.key for c in table_columns(nim)].index("phase") + 1
    # the TUI's cells and the plain table: the NIM state beside the phase, "-" where a client has none
    layout = fit_layout(nim, 220, "nim", False)
    cells = {r.client: {k: c.plain for (k, _, _), c in zip(layout, row_cells(r, layout))} for r in nim}
    assert cells["running01"]["nim"] == "copying rootvg data to the alternate disk" and cells["aixlpar53"]["nim"] == "-"
    assert dict((k, label) for k, label, _ in layout)["nim"] == "NIM state ▲"
    assert sort_rows(nim, "nim")[0].client == "running01"
    text = render_table(nim, 220, ascii_only=True)
    assert "NIM STATE" in text.splitlines()[0] and "copying rootvg data to the alternate disk" in text
    narrow = render_table(nim, 80, ascii_only=True)  # gives way before the status, phase, reboot and cause
    assert "NIM STATE" not in narrow.splitlines()[0] and "CAUSE" in narrow.splitlines()[0]


def test_the_columns_stay_put_while_the_clocks_move(rules: RuleSet) -> None:
    """Elapsed and ETA up to 10 hours fit their columns: a clock passing an hour does not move every column
    (on the dashboard that would repaint the whole screen every time)."""
    from dataclasses import replace

    from nimwatch.tui.table_cells import fit_layout

    base = [row(rules, read_log(path, rules)) for path in (OK, FAILED, RUNNING)]
    layouts = set()
    for elapsed, eta in ((59.0, 3599.0), (3599.0, 3601.0), (3601.0, 35000.0)):
        rows = [replace(r, elapsed=elapsed, eta=eta, eta_rough=True) if r.client == "running01" else r for r in base]
        layouts.add(fit_layout(rows, 140, "status", False))
        assert fmt_duration(elapsed) in render_table(rows, 140) and f"~{fmt_duration(eta)}" in render_table(rows, 140)
    assert len(layouts) == 1, layouts
