"""The TUI's fleet screen on a real Prometheus (Debian's) scraping real ``nimwatch watch`` processes.

Four NIM masters: nim01 and nim02 are the two watchers of ``test_fleet.py``
(a failed, a running with history, succeeded clients and an escape sequence
in a client's name; a stalled and a running client), scraped on ``/metrics``;
nim03's watcher is read through its textfile by a real node_exporter and is
killed with -9 (its heartbeat goes stale, node_exporter still answers);
nim04's watcher is scraped on ``/metrics`` and killed with -9 (its scrapes
fail: down). The screen is read in Textual's Pilot, and once in a real
terminal (tmux) through ``nimwatch tui --fleet URL`` in AIX's ISO-8859-1
locale. A Prometheus that cannot be reached is one line on the screen, and
the screen comes back by itself when it answers again. Every wait is on a
condition, with a deadline for a loaded machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tui.test_tmux import Tmux, iso_8859_1_locale
from tui.tuikit import wait_for as wait_on_screen
from tui.tuikit import widget_text
from watch.watchkit import running_run

from nimwatch.commands.tui import fleet_fetch
from nimwatch.config import Config
from nimwatch.engine import Engine
from nimwatch.fleet import collect
from nimwatch.prometheus_api import PrometheusClient
from nimwatch.rulefiles import load_rules
from nimwatch.tui.app import NimwatchApp, make_app
from nimwatch.tui.fleet import FleetScreen
from nimwatch.tui.fleet_feed import FleetFeed
from nimwatch.tui.row_table import RowTable

from .fleetkit import DEADLINE, EVIL, Master, free_port, nim01, nim02, node_exporter, prometheus, targets_up, wait_for

NIMWATCH = Path(sys.executable).parent / "nimwatch"
RAW = ("\x1b", "\x07", "\x9b")


def states(url: str) -> dict[str, str]:
    """Each master's state in Prometheus' view."""
    return {m.name: m.state for m in collect(PrometheusClient(url)).masters}


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("fleet-tui")
    masters = {
        "nim01": nim01(base / "nim01"),
        "nim02": nim02(base / "nim02"),
        "nim03": Master(base / "nim03", {"aix03": running_run("aix03", 5)}),
        "nim04": Master(base / "nim04", {"aix04": running_run("aix04", 7)}),
    }
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [m.stop() for m in masters.values()])
        node = stack.enter_context(node_exporter(base / "ne", masters["nim03"].textfiles))
        jobs = {
            "nimwatch": [(masters[name].target, {"master": name}) for name in ("nim01", "nim02", "nim04")],
            "node": [(node, {"master": "nim03"})],
        }
        url = stack.enter_context(prometheus(base / "prom", jobs))
        wait_for(lambda: targets_up(url, 4), timeout=DEADLINE, what="Prometheus to scrape every target")
        client = PrometheusClient(url)

        def everyone() -> bool:
            view = collect(client)
            return len(view.clients) == 8 and any(c.status == "stalled" for c in view.clients)

        wait_for(everyone, timeout=DEADLINE, what="the four masters' clients, db1 stalled")
        masters["nim03"].kill()
        masters["nim04"].kill()
        want = {"nim01": "up", "nim02": "up", "nim03": "stale", "nim04": "down"}
        wait_for(lambda: states(url) == want, timeout=DEADLINE, what="nim03 stale and nim04 down")
        yield url


def live_app(url: str, refresh: float = 0.5) -> NimwatchApp:
    """The TUI on the fleet screen, its feed wired as ``nimwatch tui --fleet URL`` wires it."""
    fleet = fleet_fetch(url, Config())
    assert fleet is not None
    shown, fetch, _ = fleet
    return make_app(Engine(load_rules()), fleet=FleetFeed(shown, fetch, refresh), open_fleet=True)


def text_of(screen: Any, part: str) -> str:
    widget = screen.query_one(part)
    return " ".join(widget_text(widget).split()) if widget.display else ""


async def test_the_fleet_screen_through_a_real_prometheus(four: str) -> None:
    app = live_app(four)
    async with app.run_test(size=(200, 50)) as pilot:

        def all_four() -> bool:
            screen = app.screen
            return isinstance(screen, FleetScreen) and [m.name for _, m, c in screen.lines if c is None] == [
                "nim01", "nim03", "nim04", "nim02"  # a failed client, a stale and a down watcher first
            ]

        await wait_on_screen(pilot, all_four, timeout=DEADLINE)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        rows = [" ".join(line.split()) for line in widget_text(screen.query_one(RowTable)).splitlines()]
        by_name = {row.split()[1] if row.startswith(("▼", "▶")) else row.split()[0]: row for row in rows[1:] if row}
        assert by_name["nim01"].startswith("▼ nim01 ✔ up 4 clients: 1 failed, 1 running, 2 succeeded · heartbeat")
        assert by_name["lpar2"] == "lpar2 ✖ failed 2/12 Prepare file systems (cache / NFS export) - failed in phase 2, 2 errors"
        assert re.fullmatch(r"lpar1 ▶ running 6/12 Install and migrate software \(installp\) 1h0\dm \(\d\d:\d\d\)", by_name["lpar1"])
        assert by_name["evil\\x1b[2J\u00e9"].startswith("evil\\x1b[2J\u00e9 ✔ succeeded 12/12")
        assert re.fullmatch(
            r"▼ nim03 ‖ STALE watcher STALE, heartbeat \d+s ago · 1 client: last known state", by_name["nim03"]
        ), by_name["nim03"]
        assert by_name["aix03"].endswith("? unknown 5/12 Restore BOS and merge configuration - watcher stale: last seen running in phase 5")
        assert re.fullmatch(r"▼ nim04 ✖ DOWN watcher DOWN, heartbeat \d+s ago · 1 client: last known state", by_name["nim04"])
        assert by_name["aix04"].endswith("? unknown 7/12 Post-migration script - watcher down: last seen running in phase 7")
        assert re.fullmatch(r"db1 ‖ stalled 3/12 Copy client data \(cache sync / NFS mount\) \S+ \(\d\d:\d\d\) no new line for \d+s in phase 3", by_name["db1"]), by_name["db1"]
        assert [row.split()[0] for row in rows[2:6]] == ["lpar2", "lpar1", "evil\\x1b[2J\u00e9", "web1"]
        title = text_of(screen, "#fleet-title")
        counts = "4 masters (2 watchers not up), 8 clients: 1 failed, 2 running, 1 stalled, 2 succeeded, 2 unknown"
        assert f"Fleet {four} {counts} as of" in title, title
        for part in ("#fleet-title", "#fleet-table", "#fleet-detail"):
            assert not any(ch in widget_text(screen.query_one(part)) for ch in RAW), part
        assert EVIL not in widget_text(screen.query_one(RowTable))

        await pilot.press("down", "down")  # lpar1: everything about it at the bottom
        detail = text_of(screen, "#fleet-detail")
        assert re.search(r"ETA 1h0\dm \(\d\d:\d\d\) from 5 runs \(client\)", detail), detail
        await pilot.press("f")
        await wait_on_screen(pilot, lambda: "web1" not in widget_text(screen.query_one(RowTable)))
        assert "db1" in widget_text(screen.query_one(RowTable)) and "aix04" in widget_text(screen.query_one(RowTable))


class Forwarder:
    """An HTTP server on 127.0.0.1:``port`` passing every GET on to ``target`` (Prometheus, reachable again)."""

    def __init__(self, port: int, target: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    with urllib.request.urlopen(target + self.path, timeout=30) as answer:
                        status, body, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
                except urllib.error.HTTPError as exc:
                    status, body, kind = exc.code, exc.read(), exc.headers.get("Content-Type", "")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Requests are not news."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


async def test_prometheus_unreachable_then_back_then_gone(four: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = live_app(url, refresh=0.3)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_on_screen(pilot, lambda: isinstance(app.screen, FleetScreen) and app.screen.ready)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        assert app.fleet is not None
        state = app.fleet.state
        await wait_on_screen(pilot, lambda: state.failures >= 2, timeout=DEADLINE)  # tried again by itself
        await wait_on_screen(pilot, lambda: "tries failed" in text_of(screen, "#fleet-problem"))
        problem = text_of(screen, "#fleet-problem")
        assert f"✖ cannot reach Prometheus at {url}: Connection refused" in problem and "Traceback" not in problem
        assert screen.lines == []

        forwarder = Forwarder(port, four)  # Prometheus answers on that address now: no key pressed
        try:
            await wait_on_screen(pilot, lambda: len(screen.lines) == 12, timeout=DEADLINE)
            await wait_on_screen(pilot, lambda: not screen.query_one("#fleet-problem").display)
        finally:
            forwarder.stop()
        await wait_on_screen(pilot, lambda: "not now." in text_of(screen, "#fleet-problem"), timeout=DEADLINE)
        # refused, or reset by a look under way when the forwarder stopped
        assert re.search(f"✖ cannot (reach|read from) Prometheus at {url}: ", text_of(screen, "#fleet-problem"))
        assert len(screen.lines) == 12, "the last view stays, dimmed, under the red line"


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux (CI installs it)")
    box = Tmux(f"nimwatch-fleet-{os.getpid()}-{tmp_path.name}", tmp_path)
    try:
        yield box
    finally:
        for socket in box.servers:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=30)


def test_nimwatch_tui_fleet_in_a_real_iso_8859_1_terminal(four: str, tmux: Tmux, tmp_path: Path) -> None:
    """What an admin types on a Linux admin host (no /var/adm/ras/alt_mig) with AIX's default locale."""
    state = f"NIMWATCH_STATE={tmp_path / 'state.db'}"
    locale = "LC_ALL=en_US.ISO-8859-1" if iso_8859_1_locale() else "PYTHONIOENCODING=iso8859-1 LC_ALL=C"
    tmux.start(f"{NIMWATCH} tui --fleet {four}", width=160, height=40, env=f"-u LANG -u LC_CTYPE {state} TERM=xterm {locale}")
    screen = tmux.shows("X DOWN", timeout=DEADLINE)
    assert "! STALE" in screen and "X failed" in screen and "? unknown" in screen and "! stalled" in screen
    assert "evil\\x1b[2J" in screen
    assert set(screen) - set(map(chr, range(128))) <= {"\u00e9"}, "ASCII, but for what ISO-8859-1 has"
    tmux.keys("escape")
    tmux.shows("0 clients")  # the dashboard of this host: no local logs
    tmux.keys("F")
    tmux.shows("X DOWN")
    tmux.keys("q")
    tmux.shows("nimwatch-exited-0")
