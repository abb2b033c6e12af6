"""Bounded memory on hostile input: runs per log, findings per run, context kept; the report says what it left out.

Also: the JSON report is written one run at a time and reads exactly as ``json.dumps`` of the whole document;
every log of a ``report`` call shares one scanner set; the engine's own findings are data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ROOT, SAMPLE_LOGS, banner

from nimwatch.cli import main
from nimwatch.core import limits
from nimwatch.core.events import Event, Finding
from nimwatch.core.reader import LogReader
from nimwatch.core.rules import ENGINE_FINDINGS, RuleSet, build_phase_model
from nimwatch.core.state import LogState
from nimwatch.errors import ConfigError
from nimwatch.views.report_data import (
    Judgement,
    client_records,
    iter_report_records,
    report_document,
    report_records,
    write_report_document,
)
from nimwatch.yamlfile import parse_yaml

SHORT_RUN = (SAMPLE_LOGS / "fail1lvm_alt_mig.log").read_bytes()
"""A failing run of 19 lines: repeated, the dense-runs log of the benchmark."""


def read(data: bytes, rules: RuleSet, chunk: int = 1 << 16) -> tuple[LogState, list[Event]]:
    reader = LogReader(rules, "fail1lvm")
    state = LogState("fail1lvm_alt_mig.log", "fail1lvm")
    events: list[Event] = []
    for at in range(0, len(data), chunk):
        events.extend(reader.feed(data[at : at + chunk]))
    events.extend(reader.close())
    for event in events:
        state.apply(event)
    return state, events


def test_a_log_keeps_its_first_and_latest_runs_and_counts_the_others(rules: RuleSet) -> None:
    runs = limits.MAX_RUNS + 37
    state, _events = read(SHORT_RUN * runs, rules)
    assert len(state.runs) == limits.MAX_RUNS and state.runs_dropped == 37
    kept = [run.index for run in state.runs]
    assert kept[: limits.FIRST_RUNS_KEPT] == list(range(1, limits.FIRST_RUNS_KEPT + 1))
    assert kept[limits.FIRST_RUNS_KEPT :] == list(range(limits.FIRST_RUNS_KEPT + 38, runs + 1))
    assert state.find_run(limits.FIRST_RUNS_KEPT + 1) is None and state.run(runs).index == runs
    with pytest.raises(IndexError):
        state.run(limits.FIRST_RUNS_KEPT + 1)
    assert all(run.outcome.value == "failed" and run.failed_phase == 1 for run in state.runs)
    records = report_records([state], rules)
    assert len(records) == limits.MAX_RUNS and {r["runs_in_log"] for r in records} == {runs}
    client = client_records([state], rules)[0]
    assert client["truncated"] == {"runs": 37} and client["status"] == "failed" and client["run"] == runs


def test_findings_past_the_cap_are_counted_and_judged_without_context(rules: RuleSet) -> None:
    over = 40
    lines = "".join(f"0599-{i % 1000:03d} someprog: nobody catalogued this {i}.\nafter {i}\n" for i in range(limits.MAX_FINDINGS + over))
    text = "Initializing the NIM master.\n" + banner(5) + lines
    state, events = read(text.encode(), rules)
    findings = [e for e in events if isinstance(e, Finding)]
    assert len(findings) == limits.MAX_FINDINGS + over
    assert all(f.context for f in findings[1 : limits.MAX_FINDINGS])
    assert not any(f.context for f in findings[limits.MAX_FINDINGS :])
    details = [e for e in events if e.kind == "finding_detail"]
    assert len(details) == limits.MAX_FINDINGS  # only the findings kept read the lines after them
    run = state.runs[0]
    assert len(run.findings) == limits.MAX_FINDINGS
    assert run.finding_counts["warning"] == limits.MAX_FINDINGS + over
    record = report_records([state], rules)[0]
    assert record["truncated"] == {"findings": over}
    assert "truncated" not in report_records([read(SHORT_RUN, rules)[0]], rules)[0]


def test_the_json_report_is_written_one_run_at_a_time_as_json_dumps_would(rules: RuleSet) -> None:
    logs = [read(p.read_bytes(), rules)[0] for p in sorted(SAMPLE_LOGS.glob("*_alt_mig.log"))[:8]]
    logs.append(read(SHORT_RUN * (limits.MAX_RUNS + 2), rules)[0])
    judge = Judgement(rules)
    clients = client_records(logs, rules, judge)
    want = json.dumps(report_document(report_records(logs, rules, judge), clients), indent=2, ensure_ascii=True)
    pieces: list[str] = []
    built = []

    def records() -> object:
        for record in iter_report_records(logs, rules, judge):
            built.append(len(pieces))  # each record is built after the ones before it were written
            yield record

    write_report_document(pieces.append, records(), clients)  # type: ignore[arg-type]
    assert "".join(pieces) == want + "\n"
    assert built == sorted(built) and len(set(built)) == len(built)
    empty: list[str] = []
    write_report_document(empty.append, iter(()), [])
    assert "".join(empty) == json.dumps(report_document([], []), indent=2) + "\n"


def test_every_log_of_a_report_shares_one_scanner_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nimwatch.core.scanset as scanset

    for name in ("fail1lvm", "rerun02", "fail11mb"):
        (tmp_path / f"{name}_alt_mig.log").write_bytes((SAMPLE_LOGS / f"{name}_alt_mig.log").read_bytes())
    built: list[object] = []
    original = scanset.ScannerSet.__init__

    def counting(self: scanset.ScannerSet, *args: object, **kwargs: object) -> None:
        built.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scanset.ScannerSet, "__init__", counting)
    assert main(["report", "--no-state", "--format", "json", str(tmp_path)]) == 1
    assert len(json.loads(capsys.readouterr().out)["clients"]) == 3
    assert len(built) == 1


def test_the_engine_findings_are_data_and_all_required() -> None:
    text = (ROOT / "phases" / "nimadm.yaml").read_text(encoding="utf-8")
    model = build_phase_model(parse_yaml(text, "nimadm.yaml"), "nimadm.yaml")
    assert set(model.findings) == set(ENGINE_FINDINGS)
    assert model.finding("nimadm-aborted").fails_run and model.finding("mentioned-in-text").benign
    without = text.replace("  - id: nimadm-aborted", "  - id: nimadm-aborting")
    with pytest.raises(ConfigError) as err:
        build_phase_model(parse_yaml(without, "nimadm.yaml"), "nimadm.yaml")
    message = str(err.value.problems)
    assert "missing nimadm-aborted" in message and "did you mean 'nimadm-aborted'" in message
