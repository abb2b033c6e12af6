"""``nimwatch fleet``: a real Prometheus (Debian's) scraping stand-in watchers on 127.0.0.1, and the view.

The stand-ins serve the designed metric set (``fleetkit.exposition``); round
two replaces them with real ``nimwatch watch`` processes. Also: the view
built from hand-made samples, the text escaping, and every way a URL can
fail to be Prometheus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

from nimwatch.errors import UsageError
from nimwatch.fleet import CLIENT_QUERIES, LAST_KNOWN_QUERIES, WATCHER_QUERIES, build, check_lookback, collect
from nimwatch.prometheus_api import PrometheusClient, PrometheusError, Sample, shown_url
from nimwatch.views.fleet_text import printable, render_json, render_text

from .fleetkit import (
    DEADLINE,
    ROOT,
    ClientMetrics,
    HttpStub,
    MetricsServer,
    Reply,
    WatcherMetrics,
    free_port,
    prometheus,
    targets_up,
    wait_for,
)

NAMES = {6: "Install and migrate software (installp)", 3: "Copy client data (cache sync / NFS mount)"}


def fleet_cli(*args: str, encoding: str = "utf-8") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONIOENCODING=encoding)
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", "fleet", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding=encoding,
        errors="replace",
        timeout=120,
        check=False,
    )


# --------------------------------------------------------------------------- a real Prometheus


def _fleet_watchers(t0: float) -> dict[str, WatcherMetrics]:
    return {
        "nim01": WatcherMetrics(
            [
                ClientMetrics(
                    "lpar1", 6, "running", eta=2710, basis_runs=5, p95=2580, phase_started=t0 - 600, last_line=t0 - 5
                ),
                ClientMetrics("lpar2", 2, "failed", errors=3, phase_started=t0 - 4000, last_line=t0 - 3900),
                ClientMetrics("web1", 12, "succeeded", last_line=t0 - 7200),
                ClientMetrics("evil\x1b[2J\u00e9", 12, "succeeded", last_line=t0 - 7200),
            ]
        ),
        "nim02": WatcherMetrics(
            [
                ClientMetrics(
                    "db1",
                    3,
                    "running",
                    stalled=True,
                    eta=3000,
                    basis_runs=2,
                    phase_started=t0 - 3000,
                    last_line=t0 - 2820,
                ),
                ClientMetrics(
                    "app1",
                    9,
                    "running",
                    eta=900,
                    basis="kind",
                    basis_runs=12,
                    overdue=720,
                    p95=3000,
                    phase_started=t0 - 4000,
                    last_line=t0 - 2,
                ),
            ]
        ),
        # Behind a node_exporter: the watcher died 10 minutes ago and left its textfile.
        "nim03": WatcherMetrics(
            [ClientMetrics("old1", 5, "running", stalled=True, eta=100, last_line=t0 - 900)], heartbeat=t0 - 600
        ),
    }


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float]]:
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    t0 = time.time()
    servers = {name: MetricsServer(w) for name, w in _fleet_watchers(t0).items()}
    jobs = {
        "nimwatch": [(servers[m].target, {"master": m}) for m in ("nim01", "nim02")],
        "node": [(servers["nim03"].target, {"master": "nim03"})],
    }
    try:
        with prometheus(tmp_path_factory.mktemp("prom"), jobs) as url:
            wait_for(lambda: targets_up(url, 3), timeout=DEADLINE, what="Prometheus to scrape the 3 watchers")
            client = PrometheusClient(url)
            wait_for(
                lambda: len({c.master for c in collect(client).clients}) == 3,
                timeout=DEADLINE,
                what="every master's clients in queries",
            )
            yield url, t0
    finally:
        for server in servers.values():
            server.stop()


def test_the_fleet_as_json_through_a_real_prometheus(fleet: tuple[str, float]) -> None:
    url, _ = fleet
    done = fleet_cli("--prometheus", url, "--format", "json")
    assert done.returncode == 1, done.stderr  # a run failed
    doc = json.loads(done.stdout)
    assert doc["schema"] == 1
    assert doc["prometheus"] == url and doc["lookback"] == "1h"
    assert abs(doc["at"] - time.time()) < 120
    masters = {m["master"]: m for m in doc["masters"]}
    assert list(masters) == ["nim01", "nim02", "nim03"]
    assert [m["state"] for m in doc["masters"]] == ["up", "up", "stale"]
    nim01 = masters["nim01"]
    assert nim01["watchers"][0]["job"] == "nimwatch" and nim01["watchers"][0]["heartbeat_age"] < 60
    assert masters["nim03"]["watchers"][0]["heartbeat_age"] >= 600
    rows = {c["client"]: c for m in doc["masters"] for c in m["clients"]}
    assert [c["client"] for c in nim01["clients"]] == ["lpar2", "lpar1", "evil\x1b[2J\u00e9", "web1"]
    lpar1 = rows["lpar1"]
    assert (lpar1["status"], lpar1["phase"], lpar1["eta"], lpar1["eta_basis"], lpar1["basis"]) == (
        "running",
        6,
        2710,
        5,
        "client",
    )
    assert lpar1["finish_at"] == pytest.approx(doc["at"] + 2710, abs=0.2)
    assert lpar1["cause"] == "" and 590 < lpar1["in_phase"] < 700
    assert (rows["lpar2"]["status"], rows["lpar2"]["cause"]) == ("failed", "failed in phase 2, 3 errors")
    assert rows["lpar2"]["eta"] is None
    assert rows["web1"]["status"] == "succeeded"
    db1 = rows["db1"]
    assert (
        db1["status"] == "stalled"
        and db1["cause"].startswith("no new line for 47m")
        and db1["cause"].endswith(" in phase 3")
    )
    assert rows["app1"]["cause"] == "phase 9 overdue by 12m; phase 9 slower than 95 % of its history"
    assert rows["app1"]["basis"] == "kind" and rows["app1"]["eta_basis"] == 12
    old1 = rows["old1"]
    assert (old1["status"], old1["live"], old1["cause"]) == (
        "unknown",
        False,
        "watcher stale: last seen stalled in phase 5",
    )
    assert done.stdout.isascii()


def test_the_fleet_as_text_is_ascii_safe(fleet: tuple[str, float]) -> None:
    url, _ = fleet
    done = fleet_cli("--prometheus", url, encoding="iso8859-1")  # AIX's default en_US locale
    assert done.returncode == 1, done.stderr
    text = done.stdout
    assert "\x1b" not in text and text.isascii()
    assert "evil\\x1b[2J\\xe9" in text
    assert "3 masters (1 watcher not up), 7 clients" in text
    lines = text.splitlines()
    nim01 = next(i for i, line in enumerate(lines) if line.startswith("nim01  watcher up ("))
    assert lines[nim01 + 1].split() == ["STATUS", "CLIENT", "PHASE", "ETA", "CAUSE"]
    assert lines[nim01 + 2].split()[:2] == ["failed", "lpar2"] and lines[nim01 + 2].endswith(
        "failed in phase 2, 3 errors"
    )
    lpar1 = lines[nim01 + 3]
    assert lpar1.split()[:3] == ["running", "lpar1", "6/12"] and "45m (" in lpar1 and lpar1.endswith("5 runs")
    assert any(line.startswith("nim03  watcher STALE (no heartbeat)") for line in lines)
    only = fleet_cli("--prometheus", url, "--master", "nim02")
    assert only.returncode == 3 and "nim01" not in only.stdout and "db1" in only.stdout


def test_a_query_prometheus_refuses(fleet: tuple[str, float]) -> None:
    with pytest.raises(PrometheusError, match=r"refused the query 'nimwatch_up\[': bad_data"):
        PrometheusClient(fleet[0]).query("nimwatch_up[")


def test_a_watcher_that_dies_shows_as_down_with_its_clients_last_state(tmp_path: Path) -> None:
    t0 = time.time()
    watchers = _fleet_watchers(t0)
    servers = {m: MetricsServer(watchers[m]) for m in ("nim01", "nim02")}
    try:
        with prometheus(tmp_path, {"nimwatch": [(s.target, {"master": m}) for m, s in servers.items()]}) as url:
            wait_for(lambda: targets_up(url, 2), timeout=DEADLINE, what="Prometheus to scrape both watchers")
            client = PrometheusClient(url)
            wait_for(lambda: len(collect(client).clients) == 6, timeout=DEADLINE, what="both masters' clients")
            servers["nim02"].stop()  # kill -9: the port stops answering

            def nim02_down() -> Optional[Any]:
                view = collect(client)
                masters = {m.name: m for m in view.masters}
                return view if masters["nim02"].state == "down" else None

            view = wait_for(nim02_down, timeout=DEADLINE, what="nim02's watcher to show as down")
            masters = {m.name: m for m in view.masters}
            assert masters["nim01"].state == "up"
            db1 = next(c for c in masters["nim02"].clients if c.client == "db1")
            assert (db1.status, db1.live, db1.cause) == ("unknown", False, "watcher down: last seen stalled in phase 3")
            app1 = next(c for c in masters["nim02"].clients if c.client == "app1")
            assert app1.cause == "watcher down: last seen running in phase 9" and app1.eta is None
            done = fleet_cli("--prometheus", url)
            assert done.returncode == 1
            assert f"nim02  watcher DOWN (scrapes fail) ({servers['nim02'].target} job nimwatch)" in done.stdout
    finally:
        for server in servers.values():
            server.stop()


# --------------------------------------------------------------------------- URLs that are not Prometheus


class Stub(HttpStub):
    """Answers every GET with ``answer`` (None: never answers)."""

    def __init__(self) -> None:
        self.answer: Reply = (200, b"", "application/json")
        super().__init__(lambda: self.answer)


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    yield server
    server.stop()


def test_nothing_listening() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PrometheusError, match=f"cannot reach Prometheus at {url}: Connection refused"):
        PrometheusClient(url).query("up")
    done = fleet_cli("--prometheus", url)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"nimwatch: cannot reach Prometheus at {url}: Connection refused"


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (
            404,
            b"<html>Not Found</html>",
            "text/html",
            r"does not look like Prometheus' HTTP API: GET /api/v1/query answered 404 \(text/html\)",
        ),
        (200, b"<html>Grafana</html>", "text/html; charset=utf-8", r"answered 200 \(text/html\)"),
        (200, b'{"hello": "world"}', "application/json", "does not look like Prometheus"),
        (200, b'{"status": "success", "data": []}', "application/json", "does not look like Prometheus"),
        (
            200,
            b'{"status": "success", "data": {"resultType": "matrix", "result": []}}',
            "application/json",
            "gave a matrix, not an instant vector",
        ),
        (
            200,
            b'{"status": "success", "data": {"resultType": "vector", "result": [{"x": 1}]}}',
            "application/json",
            "is not a Prometheus sample",
        ),
        (401, b"Unauthorized", "text/plain", r"refused access \(401\): check the credentials"),
        (
            503,
            b'{"status": "error", "errorType": "unavailable", "error": "overloaded"}',
            "application/json",
            "refused the query 'up': unavailable: overloaded",
        ),
    ],
)
def test_answers_that_are_not_prometheus(stub: Stub, status: int, body: bytes, kind: str, message: str) -> None:
    stub.answer = (status, body, kind)
    with pytest.raises(PrometheusError, match=message):
        PrometheusClient(stub.url).query("up")


def test_a_server_that_never_answers(stub: Stub) -> None:
    stub.answer = None
    with pytest.raises(PrometheusError, match=r"did not answer within 0.5 s"):
        PrometheusClient(stub.url, timeout=0.5).query("up")


def test_credentials_in_the_url_are_sent_but_never_shown(stub: Stub) -> None:
    stub.answer = (401, b"no", "text/plain")
    url = stub.url.replace("http://", "http://admin:s3cr%40t@") + "/prom/?x=1"
    with pytest.raises(PrometheusError) as caught:
        PrometheusClient(url).query("up")
    assert "s3cr" not in str(caught.value) and "admin" not in str(caught.value)
    assert stub.seen[0]["Authorization"] == "Basic YWRtaW46czNjckB0"  # admin:s3cr@t
    assert shown_url(url) == stub.url + "/prom/"


def test_an_empty_prometheus(stub: Stub) -> None:
    stub.answer = (200, b'{"status": "success", "data": {"resultType": "vector", "result": []}}', "application/json")
    done = fleet_cli("--prometheus", stub.url)
    assert done.returncode == 2
    assert "has no nimwatch metrics (nimwatch_up) in the last 1h" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prometheus", "ftp://x"], "is not an http:// or https:// URL"),
        (["--prometheus", "http://127.0.0.1:99999"], "has a bad port"),
        (["--prometheus", "http://x", "--timeout", "0"], "--timeout must be a positive"),
        (["--prometheus", "http://x", "--lookback", "1 hour"], "is not a Prometheus duration"),
        ([], "give --prometheus URL"),
    ],
)
def test_usage_errors(args: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIMWATCH_PROMETHEUS", raising=False)
    done = fleet_cli(*args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_check_lookback() -> None:
    assert check_lookback("15m") == "15m"
    for bad in ("0h", "1h)", "1h]) or vector(1", "h"):
        with pytest.raises(UsageError):
            check_lookback(bad)


# --------------------------------------------------------------------------- the view from samples


def s(value: float, **labels: str) -> Sample:
    return Sample(labels, value, 1000.0)


def test_queries_cover_the_designed_metrics() -> None:
    design = (ROOT / "examples" / "prometheus" / "README.md").read_text()
    for table in (WATCHER_QUERIES, CLIENT_QUERIES, LAST_KNOWN_QUERIES):
        for expr in table.values():
            for word in expr.replace("(", " ").replace("[", " ").replace("{", " ").split():
                if word.startswith("nimwatch_"):
                    assert f"`{word}`" in design, f"{word} is queried but not in the metric design"


def test_view_states_of_watchers_and_the_freshest_copy_of_a_master() -> None:
    a = {"instance": "nim01:9731", "job": "nimwatch", "master": "nim01"}
    b = {"instance": "nim01:9100", "job": "node", "master": "nim01"}
    c = {"instance": "nim05:9100", "job": "node"}  # no master label: grouped by instance
    d = {"instance": "nim06:9731", "job": "nimwatch", "master": "nim06"}
    results = {
        "up_last": [s(1, **a), s(1, **b), s(0, **c), s(1, **d)],
        "scrape_up": [s(1, **a), s(1, **b), s(1, **c), s(1, **d)],
        "heartbeat": [s(995, **a), s(900, **b), s(500, **c)],
        "interval": [s(15, **a), s(15, **b), s(15, **c)],
        "phase": [s(4, client="x", **a), s(3, client="x", **b), s(4, client="y", **c), s(0, client="z", **d)],
        "outcome": [
            s(1, client="x", outcome="running", **a),
            s(1, client="x", outcome="running", **b),
            s(1, client="y", outcome="running", **c),
        ],
        "last_line": [s(990, client="x", **a), s(800, client="x", **b)],
        "last_phase": [s(2, client="gone", **a)],
        "last_outcome": [s(1, client="y", outcome="incomplete", **c)],
    }
    view = build(results, 1000.0, "http://p", "1h")
    masters = {m.name: m for m in view.masters}
    assert list(masters) == ["nim01", "nim05:9100", "nim06"]
    assert [w.state for w in masters["nim01"].watchers] == ["stale", "up"]  # :9100 is 100 s old: stale
    assert masters["nim01"].state == "stale"
    x = masters["nim01"].clients
    assert [(r.client, r.instance, r.live, r.phase) for r in x] == [("x", "nim01:9731", True, 4)], "the live copy wins"
    y = masters["nim05:9100"].clients[0]
    assert masters["nim05:9100"].state == "stopped"
    assert (y.status, y.cause) == ("unknown", "watcher stopped: last seen incomplete in phase 4")
    z = masters["nim06"].clients[0]
    assert masters["nim06"].watchers[0].heartbeat_age is None and masters["nim06"].state == "up"
    assert (z.status, z.cause) == ("unknown", "no run in the log yet")
    doc = json.loads(render_json(view))
    assert doc["masters"][0]["clients"][0]["client"] == "x"
    assert "gone" not in render_json(view), "a client a live watcher no longer exports is not shown"


def test_view_causes_and_order() -> None:
    t = {"instance": "n:1", "job": "nimwatch", "master": "n"}
    results = {
        "up_last": [s(1, **t)],
        "scrape_up": [s(1, **t)],
        "phase": [s(p, client=c, **t) for c, p in (("a", 12), ("b", 4), ("c", 7), ("d", 6))],
        "outcome": [
            s(1, client=c, outcome=o, **t)
            for c, o in (("a", "succeeded"), ("b", "incomplete"), ("c", "failed"), ("d", "running"))
        ],
        "errors": [s(1, client="c", **t)],
        "eta": [s(0, client="d", **t), s(50, client="a", **t)],
        "overdue": [s(30, client="d", **t)],
    }
    view = build(results, 1000.0)
    rows = view.masters[0].clients
    assert [(r.client, r.status) for r in rows] == [
        ("c", "failed"),
        ("b", "incomplete"),
        ("d", "running"),
        ("a", "succeeded"),
    ]
    assert rows[0].cause == "failed in phase 7, 1 error"
    assert rows[1].cause == "the log ended in phase 4"
    assert rows[2].cause == "phase 6 overdue by 30s" and rows[2].eta == 0 and rows[2].finish_at == 1000.0
    assert rows[3].eta is None, "no ETA once a run finished"
    text = render_text(view, NAMES)
    assert "\n  running     d       6/12 Install and migrate softwa~  0s (00:16)  phase 6 overdue by 30s\n" in text
    assert "\n  succeeded   a       12/12                             -\n" in text, "no trailing blanks"


def test_printable() -> None:
    assert printable("lpar1") == "lpar1"
    assert printable("a\x1b[31mb\tc\x7f\x85") == "a\\x1b[31mb\\x09c\\x7f\\x85"
    assert printable("caf\u00e9 \u2603 \U0001f600") == "caf\u00e9 \u2603 \U0001f600"
    assert printable("caf\u00e9 \u2603 \U0001f600", ascii_only=True) == "caf\\xe9 \\u2603 \\U0001f600"
    assert printable("\udcff") == "\\udcff"
