"""Prometheus metrics: the textfile (parsed by prometheus_client's parser) and the /metrics endpoint."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.metrics import MetricsConfig, MetricsExporter, render, write_textfile

from .watchkit import failing_run, running_run, wait_for

parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client is a test dependency")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in parser.text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, tuple(sorted(labels.items())))]


def fed_engine(rules: RuleSet) -> Engine:
    engine = Engine(rules)
    engine.feed("/l/lpar1_alt_mig.log", running_run("lpar1", 1).encode(), at=1000.0)
    engine.feed("/l/lpar1_alt_mig.log", running_run("lpar1", 3)[len(running_run("lpar1", 1)) :].encode(), at=1060.0)
    engine.feed("/l/db1_alt_mig.log", failing_run("db1", 2).encode(), at=2000.0)
    engine.add_log("/l/new_alt_mig.log")
    return engine


def test_exposition_per_client(rules: RuleSet) -> None:
    text = render(fed_engine(rules), stalled={("/l/lpar1_alt_mig.log", 1)})
    assert value(text, "nimwatch_up") == 1
    assert value(text, "nimwatch_logs") == 3
    assert value(text, "nimwatch_phase", client="lpar1") == 3
    assert value(text, "nimwatch_phase", client="db1") == 2
    assert value(text, "nimwatch_phase", client="new") == 0
    assert value(text, "nimwatch_outcome", client="lpar1", outcome="running") == 1
    assert value(text, "nimwatch_outcome", client="db1", outcome="failed") == 1
    assert value(text, "nimwatch_outcome", client="db1", outcome="succeeded") == 0
    assert value(text, "nimwatch_phase_duration_seconds", client="lpar1", phase="1") == 60
    assert ("nimwatch_phase_duration_seconds", (("client", "lpar1"), ("phase", "3"))) not in samples(text)
    assert value(text, "nimwatch_findings", client="db1", severity="error") >= 1
    assert value(text, "nimwatch_findings", client="lpar1", severity="error") == 0
    assert value(text, "nimwatch_last_line_timestamp_seconds", client="lpar1") == 1060
    assert value(text, "nimwatch_phase_started_timestamp_seconds", client="lpar1") == 1060
    assert value(text, "nimwatch_stalled", client="lpar1") == 1
    assert value(text, "nimwatch_stalled", client="db1") == 0
    build = [k for k in samples(text) if k[0] == "nimwatch_build_info"]
    assert build and dict(build[0][1])["version"]


def test_label_values_are_escaped(rules: RuleSet) -> None:
    engine = Engine(rules)
    engine.feed('/l/we"ird\\name_alt_mig.log', running_run('we"ird\\name', 1).encode(), at=1.0)
    assert value(render(engine), "nimwatch_phase", client='we"ird\\name') == 1


def test_textfile_is_rewritten_on_change_and_always_whole(rules: RuleSet, tmp_path: Path) -> None:
    engine = fed_engine(rules)
    path = tmp_path / "nimwatch.prom"
    exporter = MetricsExporter(MetricsConfig(textfile=path, interval=0.01), engine)
    exporter.start()
    stop = threading.Event()
    seen: list[float] = []
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                text = path.read_text()
            except FileNotFoundError:
                continue
            try:
                seen.append(value(text, "nimwatch_phase", client="lpar1"))
            except Exception as exc:  # a torn file would not parse
                problems.append(repr(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        wait_for(lambda: path.exists(), what="the first textfile")
        text = running_run("lpar1", 12)
        start = len(running_run("lpar1", 3))
        for upto in range(4, 13):
            end = len(running_run("lpar1", upto))
            engine.feed("/l/lpar1_alt_mig.log", text[start:end].encode(), at=1000.0 + upto)
            start = end
            wait_for(lambda upto=upto: value(path.read_text(), "nimwatch_phase", client="lpar1") == upto,  # type: ignore[misc]
                     what=f"phase {upto} in the textfile")
        wait_for(lambda: seen and seen[-1] == 12, what="the reader thread to see the last rewrite")
    finally:
        stop.set()
        thread.join()
        exporter.stop()
    assert not problems
    assert [p.name for p in tmp_path.iterdir()] == ["nimwatch.prom"]  # no temporary file left behind
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_unwritable_textfile_is_reported_once(rules: RuleSet, tmp_path: Path) -> None:
    errors: list[str] = []
    exporter = MetricsExporter(MetricsConfig(textfile=tmp_path / "gone" / "x.prom"), fed_engine(rules), on_error=errors.append)
    exporter.write_now()
    exporter.write_now()
    assert len(errors) == 1 and "cannot write" in errors[0]


def test_listen_serves_metrics(rules: RuleSet) -> None:
    exporter = MetricsExporter(MetricsConfig(listen=("127.0.0.1", 0)), fed_engine(rules))
    exporter.start()
    try:
        assert exporter.address is not None
        host, port = exporter.address
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = response.read().decode()
        assert value(text, "nimwatch_phase", client="lpar1") == 3
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://{host}:{port}/other", timeout=5)
        assert caught.value.code == 404
    finally:
        exporter.stop()


def test_write_textfile_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "a.prom"
    write_textfile(path, "x 1\n")
    inode = path.stat().st_ino
    write_textfile(path, "x 2\n")
    assert path.read_text() == "x 2\n" and path.stat().st_ino != inode


def test_a_clean_up_after_a_killed_migration_keeps_the_client_incomplete(rules: RuleSet) -> None:
    samples_dir = Path(__file__).resolve().parents[2] / "sample_logs"
    engine = Engine(rules)
    engine.feed("/l/killclean_alt_mig.log", (samples_dir / "killclean_alt_mig.log").read_bytes(), at=1000.0)
    engine.feed("/l/cleanup03_alt_mig.log", (samples_dir / "cleanup03_alt_mig.log").read_bytes(), at=1000.0)
    text = render(engine, stalled=set())
    assert value(text, "nimwatch_status", client="killclean", status="incomplete") == 1
    assert value(text, "nimwatch_status", client="killclean", status="succeeded") == 0
    # the outcome is the last migration's (run 1, ended incomplete), not the clean-up's
    assert value(text, "nimwatch_outcome", client="killclean", outcome="incomplete") == 1
    assert value(text, "nimwatch_phase", client="killclean") == 6
    assert value(text, "nimwatch_status", client="cleanup03", status="other") == 1
    # a running client stalled: status stalled
    stalled = render(fed_engine(rules), stalled={("/l/lpar1_alt_mig.log", 1)})
    assert value(stalled, "nimwatch_status", client="lpar1", status="stalled") == 1
    assert value(stalled, "nimwatch_status", client="db1", status="failed") == 1
