"""The report's data model: a run as the stable JSON contract (and the base of every view).

Owns :func:`run_record` and :func:`client_record`, and :func:`write_report_document`,
which writes the JSON report one run at a time. The keys required by the
README's JSON contract are always present; further keys may be added, never
renamed or removed (``truncated`` appears only when something was left out).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from nimwatch.core.advice import advice_values, fill_advice
from nimwatch.core.events import InstallpResult, LaunchExited, Outcome
from nimwatch.core.outside import exit_words, signal_name
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState, RunState
from nimwatch.core.verdict import RebootVerdict, client_verdict, operation_of, reboot_verdict, run_label
from nimwatch.schema import SCHEMA_VERSION

OUTCOMES = ("succeeded", "failed", "incomplete")


def outcome_of(run: RunState) -> str:
    """The contract's outcome: a run still going is 'incomplete' in a report."""
    value = run.outcome.value
    return value if value in OUTCOMES else "incomplete"


INSTALLP_KEYS = (
    "filesets_ok", "failed", "cancelled", "requisite_failures", "missing_requisites", "verification_failures",
    "failed_verification", "already_installed", "total", "invocations", "builddate_failure", "bosboot_failure",
    "failing",
)  # fmt: skip
"""The keys of a run's ``installp`` object, in order (the name lists as JSON lists)."""


def installp_record(result: Optional[InstallpResult]) -> Optional[dict[str, Any]]:
    """The ``installp`` object of a run (None when installp did not run)."""
    if result is None:
        return None
    values = {name: getattr(result, name) for name in INSTALLP_KEYS}
    return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}


def exit_record(event: Optional[LaunchExited], settled: bool = False) -> Optional[dict[str, Any]]:
    """The ``nimadm_exit`` object: how the nimadm ``nimwatch run`` started ended (None: not known)."""
    if event is None:
        return None
    from nimwatch.engine import iso

    return {
        "exit_code": event.exit_code,
        "signal": event.signal,
        "signal_name": signal_name(event.signal) if event.signal is not None else None,
        "summary": exit_words(event),
        "settled": settled,
        "pid": event.pid,
        "output": event.output,
        "record": event.record,
        "started": iso(event.started) if event.started is not None else None,
        "ended": iso(event.ended) if event.ended is not None else None,
    }


@dataclass
class Judgement:
    """How the report judges a log that simply ends: the time of its last line and whether it is stalled.

    Args:
        rules: for each phase's stall threshold.
        now: the report's time (None: never declare a run stalled).
        last_lines: per log, when its last line arrived (the journal) or was written (the file's mtime).
        eta: the ETA of a run the log ends in (``eta`` and the keys of
            :func:`nimwatch.eta_live.eta_fields`), None when there is none.
    """

    rules: RuleSet
    now: Optional[float] = None
    last_lines: Mapping[str, float] = field(default_factory=dict)
    eta: Optional[Callable[[LogState, RunState], Optional[dict[str, Any]]]] = None

    def last_line_at(self, log: LogState, run: RunState) -> Optional[float]:
        if run is not (log.runs[-1] if log.runs else None):
            return run.last_line_at
        return run.last_line_at if run.last_line_at is not None else self.last_lines.get(log.log)

    def stalled(self, log: LogState, run: RunState) -> bool:
        at = self.last_line_at(log, run)
        if not run.open_end or self.now is None or at is None:
            return False
        phase = run.current_phase or run.last_phase
        minutes = self.rules.model.phase(phase).stall_minutes if phase else 30.0
        return self.now - at > minutes * 60.0

    def stamp(self, log: LogState, run: RunState) -> str:
        """When the run's last line came, for people (local time); empty when unknown."""
        at = self.last_line_at(log, run)
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(at)) if at is not None else ""


def reboot_record(verdict: RebootVerdict, values: Mapping[str, str]) -> dict[str, Any]:
    """The ``reboot`` object of a run or a client: the verdict, in words, and what to run (filled in)."""
    return {"verdict": verdict.verdict, "summary": verdict.summary, "detail": fill_advice(verdict.detail, values)}


def finding_record(finding: Any, values: Mapping[str, str]) -> dict[str, Any]:
    names = ("rule", "code", "severity", "benign", "phase", "line", "text", "advice", "title", "explanation",
             "fails_run", "context", "context_after")  # fmt: skip
    record = {name: getattr(finding, name) for name in names}
    record.update(  # in place: the keys keep their order
        severity=finding.severity.value,
        advice=fill_advice(finding.advice, {**values, **dict(finding.fills)}),
        context=list(finding.context),
        context_after=list(finding.context_after),
    )
    return record


def run_record(log: LogState, run: RunState, rules: RuleSet, judge: Optional[Judgement] = None) -> dict[str, Any]:
    judge = judge or Judgement(rules)
    stalled = judge.stalled(log, run)
    verdict = reboot_verdict(run, stalled=stalled)
    values = advice_values(run, log.client)
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
    facts = dict(run.facts)
    record: dict[str, Any] = {
        "client": run.client or log.client,
        "log": log.log,
        "run": run.index,
        "runs_in_log": len(log.runs) + log.runs_dropped,
        "operation": operation_of(run),
        "outcome": outcome_of(run),
        "summary": run_label(run, stalled=stalled, last_line_at=judge.stamp(log, run)),
        "open_end": run.open_end,
        "last_phase": run.last_phase,
        "failed_phase": run.failed_phase,
        "boot_disk": run.boot_disk,
        "reboot": reboot_record(verdict, values),
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
        "nimadm_exit": exit_record(run.nimadm_exit, run.exit_settled),
        "eta": judge.eta(log, run) if judge.eta is not None and run.open_end else None,
        "facts": facts,
        "installp": installp_record(run.installp),
        "finding_counts": dict(run.finding_counts),
        "script_output": {str(k): v for k, v in run.script_output.items()},
        "phases": phases,
        "findings": [finding_record(f, values) for f in run.findings],
    }
    left_out = sum(run.finding_counts.values()) - len(run.findings)
    if left_out > 0:
        record["truncated"] = {"findings": left_out}
    return record


def runs_of(log: LogState) -> list[RunState]:
    """The log's runs; a log with no nimadm output at all is shown as one empty, incomplete run."""
    if log.runs:
        return log.runs
    empty = RunState(index=1, client=log.client, start_line=0)
    empty.outcome = Outcome.INCOMPLETE
    empty.finish_reason = "no nimadm output in this log"
    return [empty]


def client_record(log: LogState, judge: Judgement) -> dict[str, Any]:
    """One client's verdict (``clients`` in the JSON report), judged on its last migration."""
    runs = runs_of(log)
    stalled, stamp = judge.stalled(log, runs[-1]), judge.stamp(log, runs[-1])
    verdict = client_verdict(runs, stalled=stalled, last_line_at=stamp, launch=log.launch_exit)
    # by number, not position: a log past the runs cap keeps its first and latest runs only
    judged = next((r for r in runs if r.index == verdict.run), runs[-1]) if verdict.run else runs[-1]
    record: dict[str, Any] = {
        "client": judged.client or log.client,
        "log": log.log,
        "status": verdict.status,
        "summary": verdict.summary,
        "run": verdict.run,
        "operation": verdict.operation,
        "cleaned_up": verdict.cleaned_up,
        "nimadm_exit": (
            exit_record(judged.nimadm_exit, judged.exit_settled)
            if verdict.run is not None
            else exit_record(log.launch_exit)
        ),
        "reboot": reboot_record(verdict.reboot, advice_values(judged, log.client)),
    }
    if log.runs_dropped:
        record["truncated"] = {"runs": log.runs_dropped}
    return record


def report_records(logs: list[LogState], rules: RuleSet, judge: Optional[Judgement] = None) -> list[dict[str, Any]]:
    return list(iter_report_records(logs, rules, judge))


def iter_report_records(
    logs: Iterable[LogState], rules: RuleSet, judge: Optional[Judgement] = None
) -> Iterator[dict[str, Any]]:
    """The run records of ``logs``, built one at a time."""
    judge = judge or Judgement(rules)
    for log in logs:
        for run in runs_of(log):
            yield run_record(log, run, rules, judge)


def client_records(logs: list[LogState], rules: RuleSet, judge: Optional[Judgement] = None) -> list[dict[str, Any]]:
    judge = judge or Judgement(rules)
    return [client_record(log, judge) for log in logs]


def report_document(records: list[dict[str, Any]], clients: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole JSON report: its ``schema`` version, the runs and the client verdicts."""
    return {"schema": SCHEMA_VERSION, "runs": records, "clients": clients}


def write_report_document(
    write: Callable[[str], object], records: Iterable[dict[str, Any]], clients: list[dict[str, Any]]
) -> None:
    """Write :func:`report_document` as ``json.dumps(..., indent=2, ensure_ascii=True)`` does, then a newline,
    one run at a time (ASCII: valid in any locale).

    Memory does not grow with the number of runs: each record is encoded and
    written before the next one is built.
    """
    write('{\n  "schema": ' + json.dumps(SCHEMA_VERSION) + ',\n  "runs": [')
    first = True
    for record in records:
        write(("\n" if first else ",\n") + _indent(json.dumps(record, indent=2, ensure_ascii=True), 4))
        first = False
    write("]" if first else "\n  ]")
    write(',\n  "clients": ' + _indent(json.dumps(clients, indent=2, ensure_ascii=True), 2).lstrip() + "\n}\n")


def _indent(text: str, width: int) -> str:
    """``text`` (JSON: no raw newline inside a string) with every line indented by ``width`` spaces."""
    pad = " " * width
    return pad + text.replace("\n", "\n" + pad)
