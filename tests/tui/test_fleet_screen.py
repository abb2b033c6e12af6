"""The fleet screen on hand-made views: order, filter, folding, the detail line, escaping, the feed's thread.

Prometheus itself (real, scraping real watchers) is in ``tests/fleet/test_fleet_tui.py``; here the feed's
``fetch`` returns views built by :func:`nimwatch.fleet.build` from samples, so every cell is known.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from nimwatch.engine import Engine
from nimwatch.errors import NimwatchError
from nimwatch.fleet import FleetView, build
from nimwatch.prometheus_api import PrometheusError, Sample
from nimwatch.rulefiles import load_rules
from nimwatch.tui.app import NO_FLEET, make_app
from nimwatch.tui.dashboard import DashboardScreen, FleetDashboard
from nimwatch.tui.fleet import FleetScreen, client_cells, detail_text, fleet_lines, one_line
from nimwatch.tui.fleet_feed import FleetFeed, FleetResult, describe
from nimwatch.tui.messages import FleetUpdated
from nimwatch.tui.row_table import RowTable
from nimwatch.views.fleet_text import render_text

from .fleetdata import AT, EVIL_CLIENT, EVIL_MASTER, URL, fleet_app, sample_view
from .tuikit import EPOCH, wait_for, widget_text

RAW = ("\x1b", "\x07", "\x9b")
NAMES = {p.number: p.name for p in load_rules().model.phases}


def keys_of(view: FleetView, problems_only: bool = False, folded: frozenset[str] = frozenset()) -> list[str]:
    """The lines as ``master`` or ``master/client``."""
    return [m.name + (f"/{c.client}" if c else "") for _, m, c in fleet_lines(view, problems_only, folded)]


def test_masters_that_need_a_person_first_then_the_others() -> None:
    view = sample_view()
    assert keys_of(view) == [
        "nim01", "nim01/lpar2", "nim01/lpar1", f"nim01/{EVIL_CLIENT}", "nim01/web1",  # a failed client
        "nim02", "nim02/app1", "nim02/db1",  # watcher down
        EVIL_MASTER, f"{EVIL_MASTER}/aix03",  # watcher stale
        "nim04", "nim04/hr04",  # running, overdue
        "nim00", "nim00/ok00",  # all done: last, though first by name
    ]
    by_name = {m.name: m for m in view.masters}
    assert (by_name["nim02"].state, by_name[EVIL_MASTER].state) == ("down", "stale")
    assert all(c.status == "unknown" and not c.live for c in by_name["nim02"].clients), "never shown as healthy"


def test_problems_only_and_folding() -> None:
    view = sample_view()
    assert keys_of(view, problems_only=True) == [
        "nim01", "nim01/lpar2",
        "nim02", "nim02/app1", "nim02/db1",
        EVIL_MASTER, f"{EVIL_MASTER}/aix03",
        "nim04", "nim04/hr04",  # running, but overdue: a problem
    ]
    assert keys_of(view, folded=frozenset({"nim01", "nim02"}))[:3] == ["nim01", "nim02", EVIL_MASTER]


def test_untrusted_text_stays_on_one_line_and_visible() -> None:
    assert one_line("a\nb\tc\x1b[2J\u202e\x9b") == "a\\nb\\tc\\x1b[2J\\u202e\\x9b"
    assert one_line("caf\u00e9") == "caf\u00e9", "letters stay: the ASCII driver draws what the terminal lacks"


def test_the_detail_line_says_everything_about_a_client() -> None:
    view = sample_view()
    lines = {(m.name, c.client if c else ""): line for line in fleet_lines(view) for _, m, c in [line]}
    lpar1 = detail_text(lines[("nim01", "lpar1")], AT, NAMES).plain
    assert lpar1 == (
        "nim01 / lpar1 \u00b7 running \u00b7 phase 6/12 Install and migrate software (installp) for 11m \u00b7 "
        "ETA 1h05m (15:18) from 5 runs (client) \u00b7 last line 3s ago \u00b7 nim01.example.com:9731 job nimwatch"
    )
    hr04 = detail_text(lines[("nim04", "hr04")], AT, NAMES).plain
    assert "ETA overdue 12m from no history: default phase weights" in hr04 and "phase 6 overdue by 12m" in hr04
    master = detail_text(lines[(EVIL_MASTER, "")], AT, NAMES).plain
    assert master == (
        "nim03\\x1b]2;PWNED\\x07: watcher STALE (no new heartbeat) (nim03.example.com:9100 job node), "
        "heartbeat 10m ago (every 15s)"
    )


async def test_the_screen_grouped_by_master_escaped() -> None:
    view = sample_view()
    app = fleet_app(lambda: view, refresh=15.0)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and bool(app.screen.lines))
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        table = widget_text(screen.query_one(RowTable))
        rows = [line.strip() for line in table.splitlines()]
        assert rows[0].split() == ["Master", "/", "client", "Status", "Phase", "ETA", "Cause"]
        assert rows[1].startswith("▼ nim01") and "✔ up" in rows[1] and "4 clients: 1 failed, 1 running" in rows[1]
        assert rows[2].split()[:3] == ["lpar2", "✖", "failed"] and rows[2].endswith("failed in phase 2, 2 errors")
        assert "6/12 Install and migrate software (installp)" in rows[3] and "1h05m (15:18)" in rows[3]
        assert rows[4].startswith("evil\\x1b[2J\u00e9")
        assert rows[6].startswith("▼ nim02") and "✖ DOWN" in rows[6] and "2 clients: last known state" in rows[6]
        assert "? unknown" in rows[8] and rows[8].endswith("watcher down: last seen stalled in phase 3")
        assert rows[9].startswith("▼ nim03\\x1b]2;PWNED\\x07") and "‖ STALE" in rows[9]
        assert "heartbeat 10m ago" in rows[9]
        title = widget_text(screen.query_one("#fleet-title"))
        assert f"Fleet {URL}" in title and "5 masters (2 watchers not up), 9 clients" in title
        assert "as of 14:13:20" in title
        assert not screen.query_one("#fleet-problem").display
        for part in ("#fleet-title", "#fleet-table", "#fleet-detail"):
            assert not any(ch in widget_text(screen.query_one(part)) for ch in RAW), part

        await pilot.press("down", "down")  # lpar1
        assert "ETA 1h05m (15:18) from 5 runs" in widget_text(screen.query_one("#fleet-detail"))
        await pilot.press("f")
        assert screen.problems_only and [c.client for _, m, c in screen.lines if c and m.name == "nim01"] == ["lpar2"]
        assert "problems only" in widget_text(screen.query_one("#fleet-title"))
        await pilot.press("f", "home", "enter")  # fold nim01
        assert [c for _, m, c in screen.lines if m.name == "nim01"] == [None]
        assert widget_text(screen.query_one(RowTable)).splitlines()[1].strip().startswith("▶ nim01")
        await pilot.press("enter")
        assert len([c for _, m, c in screen.lines if m.name == "nim01"]) == 5
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetDashboard))
        await pilot.press("F")  # back: the last view at once, no wait for Prometheus
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and app.screen.ready)
        assert len(app.screen.lines) == 14  # type: ignore[attr-defined]


async def test_without_a_prometheus_the_key_says_how_to_get_one() -> None:
    app = make_app(Engine(load_rules()), clock=lambda: EPOCH)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert type(app.screen) is DashboardScreen
        shown = [key.description for key in app.screen.query_one(Footer).query(FooterKey)]
        assert "Fleet" not in shown and "Find" in shown
        await pilot.press("F")
        await wait_for(pilot, lambda: bool(app._notifications))
        assert [n.message for n in app._notifications] == [NO_FLEET]
        assert type(app.screen) is DashboardScreen


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # a look still waiting ends (its thread is a daemon either way)


async def test_a_slow_prometheus_never_blocks_the_screen(gate: threading.Event) -> None:
    view = sample_view()
    calls: list[float] = []

    def slow() -> FleetView:
        calls.append(AT)
        gate.wait(120)
        return view

    app = fleet_app(slow)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and app.screen.ready and bool(calls))
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        assert f"Asking Prometheus at {URL}..." in widget_text(screen.query_one("#fleet-problem"))
        await pilot.press("escape")  # the UI answers while the look waits
        await wait_for(pilot, lambda: isinstance(app.screen, FleetDashboard))
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and app.screen.ready)
        gate.set()
        await wait_for(pilot, lambda: len(app.screen.lines) == 14)  # type: ignore[attr-defined]
        gate.clear()
        await pilot.press("r")  # a look that will hang: quitting must not wait for it
        await wait_for(pilot, lambda: len(calls) == 2)
    assert app.fleet is not None and not app.fleet.running


def shown(screen: FleetScreen, part: str) -> str:
    """A widget's text with its lines joined and its runs of blanks made one (nothing when it is hidden)."""
    widget = screen.query_one(part)
    return " ".join(widget_text(widget).split()) if widget.display else ""


async def test_a_failed_look_is_one_line_and_the_next_look_comes_by_itself() -> None:
    view = sample_view()
    calls: list[int] = []
    turns = threading.Semaphore(0)

    def flaky() -> FleetView:
        calls.append(len(calls))
        if len(calls) > 1:
            turns.acquire(timeout=120)  # each later look waits for the test's turn
        if len(calls) == 1:
            raise ValueError("boom\nsecond line")
        if len(calls) == 2:
            raise PrometheusError("cannot reach Prometheus at http://x:9090: Connection refused")
        return view

    app = fleet_app(flaky, refresh=0.2)
    assert app.fleet is not None
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and app.screen.ready)
            screen = app.screen
            assert isinstance(screen, FleetScreen)
            await wait_for(pilot, lambda: "r now)" in shown(screen, "#fleet-problem"))
            assert "✖ the query failed: ValueError: boom (1 try failed; trying again every 0.2s, r now)" in shown(
                screen, "#fleet-problem"
            )
            await wait_for(pilot, lambda: len(calls) == 2)  # no key pressed: the next look came by itself
            turns.release()
            await wait_for(pilot, lambda: "2 tries failed" in shown(screen, "#fleet-problem"))
            assert "✖ cannot reach Prometheus at http://x:9090: Connection refused" in shown(screen, "#fleet-problem")
            await wait_for(pilot, lambda: len(calls) == 3)
            turns.release()
            await wait_for(pilot, lambda: bool(screen.lines))
            await wait_for(pilot, lambda: not screen.query_one("#fleet-problem").display)
    finally:
        for _ in range(5):
            turns.release()
    assert app.fleet.state.failures == 0 and app.fleet.state.looks >= 3
    assert describe(PrometheusError("x")) == "x" and describe(NimwatchError("y")) == "y"
    assert describe(OSError()) == "the query failed: OSError"


async def test_prometheus_gone_after_a_view_keeps_it_dimmed_under_a_red_line() -> None:
    view = sample_view()
    app = fleet_app(lambda: view)
    assert app.fleet is not None
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and bool(app.screen.lines))
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        app.post_message(FleetUpdated(FleetResult(AT + 30, error=f"cannot reach Prometheus at {URL}: Connection refused")))
        await wait_for(pilot, lambda: "not now." in shown(screen, "#fleet-problem"))
        problem = shown(screen, "#fleet-problem")
        assert f"✖ cannot reach Prometheus at {URL}: Connection refused" in problem
        assert "Below: what Prometheus said at 14:13:20, not now." in problem
        assert len(screen.lines) == 14, "the last view stays"
        cell = screen.query_one(RowTable).get_cell_at(screen.query_one(RowTable).cursor_coordinate)
        assert any("dim" in str(span.style) for span in cell.spans), "what is shown is not now: dimmed"


async def test_a_prometheus_without_nimwatch_metrics_says_so() -> None:
    empty = replace(sample_view(), masters=())
    app = fleet_app(lambda: empty)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and "examples/" in shown(app.screen, "#fleet-problem"))
        text = shown(app.screen, "#fleet-problem")  # type: ignore[arg-type]
        assert f"Prometheus at {URL} has no nimwatch metrics (nimwatch_up) in the last 1h" in text


def test_the_feed_hands_over_answers_and_stops() -> None:
    view = replace(sample_view(), masters=())
    got: list[FleetResult] = []
    done = threading.Event()

    def deliver(result: FleetResult) -> None:
        got.append(result)
        if len(got) == 2:
            done.set()

    feed = FleetFeed(URL, lambda: view, refresh=3600, clock=lambda: AT)
    feed.start(deliver)
    feed.now()  # a second look without waiting an hour
    assert done.wait(60)
    feed.stop()
    assert [r.view for r in got] == [view, view] and not feed.running

    def closed(result: FleetResult) -> None:
        raise RuntimeError("Event loop is closed")

    quiet = FleetFeed(URL, lambda: view, refresh=3600)
    quiet.start(closed)  # the app is gone: the thread ends instead of raising
    assert quiet._thread is not None
    quiet._thread.join(60)
    assert not quiet._thread.is_alive()


async def test_each_look_redraws_what_changed() -> None:
    """Same lines: only the changed cells are redrawn (the ETA's finish moves); new lines: every row again."""
    later = sample_view(at=AT + 60)
    nim01 = next(m for m in later.masters if m.name == "nim01")
    grown = replace(later, masters=(*later.masters, replace(nim01, name="nim99")))
    looks = [sample_view(), later, grown]
    turns = threading.Semaphore(1)

    def fetch() -> FleetView:
        turns.acquire(timeout=120)  # one look per turn the test gives
        return looks.pop(0) if len(looks) > 1 else looks[0]

    app = fleet_app(fetch, refresh=0.05)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen) and bool(app.screen.lines))
            screen = app.screen
            assert isinstance(screen, FleetScreen)
            table = screen.query_one(RowTable)
            assert "1h05m (15:18)" in widget_text(table)
            rows_before = list(table.rows)
            turns.release()
            await wait_for(pilot, lambda: "1h05m (15:19)" in widget_text(table))
            assert list(table.rows) == rows_before and "as of 14:14:20" in widget_text(screen.query_one("#fleet-title"))
            turns.release()
            await wait_for(pilot, lambda: len(screen.lines) == 19)
            assert "nim99" in widget_text(table)
    finally:
        for _ in range(5):
            turns.release()


def test_nan_and_infinite_samples_are_unknown_values_not_a_crash() -> None:
    """Prometheus holds NaN and ±Inf as well as numbers: none of them is a time, a count or a phase."""
    t = {"instance": "n:1", "job": "nimwatch", "master": "n"}
    nan, inf = float("nan"), float("inf")
    results = {
        "up_last": [Sample(t, 1, AT)],
        "scrape_up": [Sample(t, 1, AT)],
        "heartbeat": [Sample(t, inf, AT)],
        "interval": [Sample(t, nan, AT)],
        "phase": [Sample({**t, "client": "x"}, nan, AT)],
        "outcome": [Sample({**t, "client": "x", "outcome": "running"}, 1, AT)],
        "eta": [Sample({**t, "client": "x"}, nan, AT)],
        "basis": [Sample({**t, "client": "x", "basis": "all"}, inf, AT)],
        "phase_started": [Sample({**t, "client": "x"}, -inf, AT)],
    }
    view = build(results, AT, URL)
    (x,) = view.clients
    assert (x.phase, x.eta, x.basis_runs, x.in_phase) == (0, None, None, None)
    assert view.masters[0].watchers[0].heartbeat_age is None
    for line in fleet_lines(view):
        detail_text(line, AT, NAMES)
        if line[2] is not None:
            assert [c.plain for c in client_cells(line[2], AT, NAMES)][1:4] == ["▶ running", "-", "-"]
    render_text(view, NAMES)
