"""``nimwatch fleet``: a real Prometheus (Debian's) scraping two real ``nimwatch watch`` processes, and the view.

Two NIM masters, each a ``nimwatch watch`` with its own logs and state
journal (with a run history, so running clients have an ETA), serve
``/metrics``; a real node_exporter serves one master's textfile; Prometheus
scrapes all three and evaluates the shipped rules. The fleet view is read back
from Prometheus. Killing a watcher with -9 leaves its textfile's heartbeat
stale and makes its scrapes fail. Also: the view built from hand-made samples,
the text escaping, and every way a URL can fail to be Prometheus.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from watch.watchkit import success_run

from nimwatch.errors import UsageError
from nimwatch.fleet import CLIENT_QUERIES, LAST_KNOWN_QUERIES, WATCHER_QUERIES, build, check_lookback, collect
from nimwatch.prometheus_api import PrometheusClient, PrometheusError, Sample, shown_url
from nimwatch.views.fleet_text import printable, render_json, render_text

from .fleetkit import (
    DEADLINE,
    EVIL,
    EXAMPLES,
    NODE_EXPORTER,
    ROOT,
    HttpStub,
    Master,
    Reply,
    fleet_cli,
    free_port,
    nim01,
    nim02,
    node_exporter,
    prometheus,
    query,
    targets_up,
    textfile_values,
    wait_for,
)

NAMES = {6: "Install and migrate software (installp)", 3: "Copy client data (cache sync / NFS mount)"}
RULES = EXAMPLES / "nimwatch.rules.yml"


def alerts(url: str, name: str, **labels: str) -> list[dict[str, Any]]:
    """The shipped rules' alerts of that name (pending or firing) with those labels."""
    return [a for a in query(url, f'ALERTS{{alertname="{name}"}}') if all(a.get(k) == v for k, v in labels.items())]


# --------------------------------------------------------------------------- two real watchers, a real Prometheus


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    base = tmp_path_factory.mktemp("fleet")
    masters = {"nim01": nim01(base / "nim01"), "nim02": nim02(base / "nim02")}
    jobs = {"nimwatch": [(m.target, {"master": name}) for name, m in masters.items()]}
    try:
        with prometheus(base / "prom", jobs, rules=RULES) as url:
            wait_for(lambda: targets_up(url, 2), timeout=DEADLINE, what="Prometheus to scrape both watchers")
            client = PrometheusClient(url)

            def ready() -> bool:
                view = collect(client)
                return len(view.clients) == 6 and any(c.status == "stalled" for c in view.clients)

            wait_for(ready, timeout=DEADLINE, what="both masters' clients, db1 stalled")
            yield url
    finally:
        for master in masters.values():
            master.stop()


def test_the_fleet_as_json_through_a_real_prometheus(fleet: str) -> None:
    url = fleet
    done = fleet_cli("--prometheus", url, "--format", "json")
    assert done.returncode == 1, done.stderr  # a run failed
    doc = json.loads(done.stdout)
    assert doc["schema"] == 1
    assert doc["prometheus"] == url and doc["lookback"] == "1h"
    assert abs(doc["at"] - time.time()) < 120
    masters = {m["master"]: m for m in doc["masters"]}
    assert list(masters) == ["nim01", "nim02"]
    assert [m["state"] for m in doc["masters"]] == ["up", "up"]
    for master in masters.values():
        (watcher,) = master["watchers"]
        assert watcher["job"] == "nimwatch" and watcher["interval"] == 1 and watcher["heartbeat_age"] < 30
    rows = {c["client"]: c for m in doc["masters"] for c in m["clients"]}
    assert [c["client"] for c in masters["nim01"]["clients"]] == ["lpar2", "lpar1", EVIL, "web1"]
    lpar1 = rows["lpar1"]
    assert (lpar1["status"], lpar1["phase"], lpar1["eta_basis"], lpar1["basis"]) == ("running", 6, 5, "client")
    # phase 6 expected 600 s (minus what it has run) and phases 7-12 600 s each
    assert 6 * 600 < lpar1["eta"] <= 7 * 600
    assert lpar1["finish_at"] == pytest.approx(doc["at"] + lpar1["eta"], abs=0.2)
    assert lpar1["cause"] == "" and 0 <= lpar1["in_phase"] < DEADLINE * 2
    assert (rows["lpar2"]["status"], rows["lpar2"]["cause"]) == ("failed", "failed in phase 2, 2 errors")
    assert rows["lpar2"]["eta"] is None
    assert rows["web1"]["status"] == rows[EVIL]["status"] == "succeeded"
    db1 = rows["db1"]
    assert db1["status"] == "stalled" and re.fullmatch(r"no new line for \d+s in phase 3", db1["cause"]), db1
    app1 = rows["app1"]
    assert (app1["status"], app1["phase"], app1["basis"], app1["eta_basis"]) == ("running", 9, "all", 10)
    assert 3 * 300 < app1["eta"] <= 4 * 300
    assert done.stdout.isascii()


def test_the_fleet_as_text_is_ascii_safe(fleet: str) -> None:
    done = fleet_cli("--prometheus", fleet, encoding="iso8859-1")  # AIX's default en_US locale
    assert done.returncode == 1, done.stderr
    text = done.stdout
    assert "\x1b" not in text
    assert "evil\\x1b[2J" in text
    assert "2 masters, 6 clients: 1 failed, 2 running, 1 stalled, 2 succeeded" in text
    lines = text.splitlines()
    nim01_at = next(i for i, line in enumerate(lines) if line.startswith("nim01  watcher up ("))
    assert lines[nim01_at + 1].split() == ["STATUS", "CLIENT", "PHASE", "ETA", "CAUSE"]
    assert lines[nim01_at + 2].split()[:2] == ["failed", "lpar2"]
    assert lines[nim01_at + 2].endswith("failed in phase 2, 2 errors")
    lpar1 = lines[nim01_at + 3]
    assert lpar1.split()[:3] == ["running", "lpar1", "6/12"] and re.search(r"1h0\dm \(", lpar1), lpar1
    assert lpar1.endswith("5 runs")
    only = fleet_cli("--prometheus", fleet, "--master", "nim02")
    assert only.returncode == 3 and "nim01" not in only.stdout and "db1" in only.stdout


def test_the_shipped_rules_fire_on_what_nimwatch_exports(fleet: str) -> None:
    """The rules read the names nimwatch really exports: a failed run fires, a stall is pending (for: 2m)."""
    wait_for(
        lambda: alerts(fleet, "NimadmMigrationFailed", client="lpar2", master="nim01", alertstate="firing"),
        timeout=DEADLINE,
        what="NimadmMigrationFailed for lpar2",
    )
    wait_for(
        lambda: alerts(fleet, "NimadmClientStalled", client="db1", master="nim02"),
        timeout=DEADLINE,
        what="NimadmClientStalled for db1",
    )
    assert not alerts(fleet, "NimadmMigrationFailed", client="lpar1")
    assert not alerts(fleet, "NimwatchDown") and not alerts(fleet, "NimwatchHeartbeatStale")


def test_a_query_prometheus_refuses(fleet: str) -> None:
    with pytest.raises(PrometheusError, match=r"refused the query 'nimwatch_up\[': bad_data"):
        PrometheusClient(fleet).query("nimwatch_up[")


# --------------------------------------------------------------------------- a watcher killed with -9


def test_a_killed_watcher_goes_stale_in_its_textfile_and_down_on_metrics(tmp_path: Path) -> None:
    masters = {"nim01": nim01(tmp_path / "nim01"), "nim02": nim02(tmp_path / "nim02")}
    dead = masters["nim02"]
    jobs = {"nimwatch": [(m.target, {"master": name}) for name, m in masters.items()]}
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [m.kill() for m in masters.values()])
        node = stack.enter_context(node_exporter(tmp_path / "ne", dead.textfiles)) if NODE_EXPORTER else None
        if node is not None:  # nim02's textfile through node_exporter too, as a site without /metrics reads it
            jobs["node"] = [(node, {"master": "nim02"})]
        url = stack.enter_context(prometheus(tmp_path / "prom", jobs, rules=RULES))
        targets = sum(len(t) for t in jobs.values())
        wait_for(lambda: targets_up(url, targets), timeout=DEADLINE, what="Prometheus to scrape every target")
        client = PrometheusClient(url)
        wait_for(lambda: len(collect(client).clients) == 6, timeout=DEADLINE, what="both masters' clients")

        # alive: the heartbeat moves with no log change, in the textfile and on /metrics
        first = dead.heartbeat()
        wait_for(lambda: (dead.heartbeat() or 0) > (first or 0), timeout=DEADLINE, what="a new heartbeat")
        beat = 'nimwatch_heartbeat_timestamp_seconds{job="nimwatch",master="nim02"}'
        seen = query(url, beat)[0]["value"]
        wait_for(lambda: query(url, beat)[0]["value"] > seen, timeout=DEADLINE, what="a new scraped heartbeat")

        dead.kill()  # kill -9: no clean exit

        def stale_in_textfile() -> bool:
            values = textfile_values(dead.textfile)
            age = time.time() - values["nimwatch_heartbeat_timestamp_seconds"]
            return age > 3 * values["nimwatch_heartbeat_interval_seconds"]

        wait_for(stale_in_textfile, timeout=DEADLINE, what="the textfile's heartbeat to go stale")
        assert textfile_values(dead.textfile)["nimwatch_up"] == 1, "a killed watcher cannot say it stopped"

        wait_for(lambda: query(url, 'up{job="nimwatch",master="nim02"} == 0'), DEADLINE, "nim02's scrapes to fail")
        stale = (
            'time() - last_over_time(nimwatch_heartbeat_timestamp_seconds{job="nimwatch",master="nim02"}[1h])'
            ' > 3 * last_over_time(nimwatch_heartbeat_interval_seconds{job="nimwatch",master="nim02"}[1h])'
        )
        wait_for(lambda: query(url, stale), timeout=DEADLINE, what="the scraped heartbeat to go stale")
        wait_for(
            lambda: alerts(url, "NimwatchDown", master="nim02", job="nimwatch"),
            timeout=DEADLINE,
            what="the shipped NimwatchDown alert (pending) for nim02",
        )
        assert not alerts(url, "NimwatchDown", master="nim01")

        def nim02_down() -> Optional[Any]:
            view = collect(client)
            watchers = {w.job: w.state for m in view.masters if m.name == "nim02" for w in m.watchers}
            want = {"nimwatch": "down", "node": "stale"} if node else {"nimwatch": "down"}
            return view if watchers == want else None

        view = wait_for(nim02_down, timeout=DEADLINE, what="nim02's watcher down (and its textfile stale)")
        by_name = {m.name: m for m in view.masters}
        assert by_name["nim01"].state == "up" and by_name["nim02"].state == "down"
        db1 = next(c for c in by_name["nim02"].clients if c.client == "db1")
        assert db1.status == "unknown" and not db1.live
        assert re.fullmatch(r"watcher (down|stale): last seen stalled in phase 3", db1.cause), db1.cause
        app1 = next(c for c in by_name["nim02"].clients if c.client == "app1")
        assert app1.cause.endswith(": last seen running in phase 9") and app1.eta is None
        done = fleet_cli("--prometheus", url)
        assert done.returncode == 1
        line = next(x for x in done.stdout.splitlines() if x.startswith("nim02  "))
        assert f"watcher DOWN (scrapes fail) ({dead.target} job nimwatch)" in line
        if node is not None:
            wait_for(
                lambda: alerts(url, "NimwatchHeartbeatStale", master="nim02", job="node"),
                timeout=DEADLINE,
                what="the shipped NimwatchHeartbeatStale alert (pending) for the textfile",
            )


def test_a_clean_exit_writes_up_0_and_the_textfile_watcher_shows_stopped(tmp_path: Path) -> None:
    master = Master(tmp_path / "nim05", {"web5": success_run("web5")})
    with contextlib.ExitStack() as stack:
        stack.callback(master.kill)
        node = stack.enter_context(node_exporter(tmp_path / "ne", master.textfiles))
        url = stack.enter_context(prometheus(tmp_path / "prom", {"node": [(node, {"master": "nim05"})]}))
        client = PrometheusClient(url)
        wait_for(lambda: len(collect(client).clients) == 1, timeout=DEADLINE, what="nim05's client")
        assert master.stop() == 0, master.proc.stderr()
        assert textfile_values(master.textfile)["nimwatch_up"] == 0
        wait_for(lambda: collect(client).masters[0].state == "stopped", DEADLINE, "the watcher to show as stopped")
        (web5,) = collect(client).clients
        assert (web5.status, web5.cause) == ("unknown", "watcher stopped: last seen succeeded in phase 12")


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


def test_queries_read_only_what_nimwatch_documents() -> None:
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
