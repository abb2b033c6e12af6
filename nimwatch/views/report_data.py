"""The report's data model: a run as the stable JSON contract (and the base of every view).

Owns :func:`run_record`. The keys required by the README's JSON contract are
always present; further keys may be added, never renamed or removed.
"""

from __future__ import annotations

from typing import Any

from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState, RunState
from nimwatch.core.verdict import reboot_verdict
from nimwatch.schema import SCHEMA_VERSION

OUTCOMES = ("succeeded", "failed", "incomplete")


def outcome_of(run: RunState) -> str:
    """The contract's outcome: a run still going is 'incomplete' in a report."""
    value = run.outcome.value
    return value if value in OUTCOMES else "incomplete"


def run_record(log: LogState, run: RunState, rules: RuleSet) -> dict[str, Any]:
    verdict = reboot_verdict(run)
    phases = []
    for ps in run.phases:
        entry: dict[str, Any] = {
            "number": ps.number,
            "name": rules.model.phase(ps.number).name,
            "status": ps.status.value,
        }
        if ps.inferred:
            entry["inferred"] = True
        if ps.progress_done is not None:
            entry["progress"] = {"done": ps.progress_done, "total": ps.progress_total, "unit": ps.progress_unit}
        if ps.start_line is not None:
            entry["start_line"] = ps.start_line
        if ps.duration is not None:
            entry["seconds"] = round(ps.duration, 3)
        phases.append(entry)
    findings = [
        {
            "rule": f.rule,
            "code": f.code,
            "severity": f.severity.value,
            "phase": f.phase,
            "line": f.line,
            "text": f.text,
            "advice": f.advice,
            "title": f.title,
            "explanation": f.explanation,
            "fails_run": f.fails_run,
            "context": list(f.context),
        }
        for f in run.findings
    ]
    facts = dict(run.facts)
    return {
        "client": run.client or log.client,
        "log": log.log,
        "run": run.index,
        "runs_in_log": len(log.runs),
        "outcome": outcome_of(run),
        "last_phase": run.last_phase,
        "failed_phase": run.failed_phase,
        "boot_disk": run.boot_disk,
        "reboot": {"verdict": verdict.verdict, "summary": verdict.summary, "detail": verdict.detail},
        "target_disks": run.target_disks,
        "target_level": facts.get("target_level"),
        "cache_vg": facts.get("cache_vg"),
        "spot": facts.get("spot"),
        "lpp_source": facts.get("lpp_source"),
        "variants": list(run.variants),
        "mid_run": run.mid_run,
        "start_line": run.start_line,
        "end_line": run.end_line,
        "finish_reason": run.finish_reason,
        "facts": facts,
        "finding_counts": dict(run.finding_counts),
        "script_output": {str(k): v for k, v in run.script_output.items()},
        "phases": phases,
        "findings": findings,
    }


def runs_of(log: LogState) -> list[RunState]:
    """The log's runs; a log with no nimadm output at all is shown as one empty, incomplete run."""
    if log.runs:
        return log.runs
    from nimwatch.core.events import Outcome

    empty = RunState(index=1, client=log.client, start_line=0)
    empty.outcome = Outcome.INCOMPLETE
    empty.finish_reason = "no nimadm output in this log"
    return [empty]


def report_records(logs: list[LogState], rules: RuleSet) -> list[dict[str, Any]]:
    return [run_record(log, run, rules) for log in logs for run in runs_of(log)]


def report_document(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole JSON report: its ``schema`` version and the runs."""
    return {"schema": SCHEMA_VERSION, "runs": records}
