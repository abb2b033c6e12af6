"""Notices: what an engine event looks like to sinks, hooks, views and the JSON lines.

Owns :class:`Notice` (an event's name, time, log, client, run, phase and
fields), :data:`PUBLIC_EVENTS` (the ``watch`` JSON-lines contract) and
:func:`notice_for`, which turns a core event, once reduced into its log's
state, into its notice: a finding's advice with the facts known so far filled
in, a finding whose severity rose when the lines after it were read, the
stall monitor's verdicts, a hook's result; :func:`fleet_notice` does the same
for the alert sinks' reports, and :func:`outside_notices` for the events from
outside the log, which it also reduces (it compares the state before and
after): nimadm's exit (``nimadm_exited``, and the ``run_finished`` its exit
status settles when the log left the outcome open: alerts and hooks see a
killed nimadm as a failed run; the same record twice gives nothing) and the
NIM state (``nim_state`` when Cstate, info, Cstate_result or an error
changed). Pure functions over the state; the engine calls them under its lock.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from nimwatch.core.advice import advice_values, fill_advice
from nimwatch.core.events import (
    BadLine,
    Event,
    Fact,
    Finding,
    FindingDetail,
    HookRan,
    InstallpResult,
    LaunchExited,
    LinesRead,
    NimStateRead,
    Outcome,
    PhaseFinished,
    PhaseStarted,
    Progress,
    RunFinished,
    RunSilent,
    RunStarted,
    SinkFailed,
    SinkRecovered,
    StallCleared,
    Stalled,
)
from nimwatch.core.outside import NimView, exit_words, exited_ok
from nimwatch.core.state import FleetState, LogState, RunState
from nimwatch.core.verdict import operation_of, run_label
from nimwatch.vocabulary import (
    ALERT_FAILED,
    ALERT_RECOVERED,
    BAD_LINE,
    FACT,
    FINDING,
    FINDING_DETAIL,
    HOOK_RESULT,
    INSTALLP,
    LINES,
    NIM_STATE,
    NIMADM_EXITED,
    PHASE_FINISHED,
    PHASE_STARTED,
    PROGRESS,
    PUBLIC_EVENTS,
    RUN_FINISHED,
    RUN_STARTED,
    STALL_CLEARED,
    STALLED,
    Notice,
    iso,
)

__all__ = [
    "PUBLIC_EVENTS",
    "Notice",
    "finding_fields",
    "fleet_notice",
    "iso",
    "notice_for",
    "outside_key",
    "outside_notices",
]

PhaseNamer = Callable[[Optional[int]], Optional[str]]
"""Phase number -> its name (None for none)."""


def notice_for(state: LogState, event: Event, at: float, phase_name: PhaseNamer) -> Optional[Notice]:
    """The notice of ``event``, already reduced into ``state`` (None: the event has none)."""

    def make(name: str, run: Optional[int], phase: Optional[int], /, **fields: Any) -> Notice:
        client = state.client
        if run is not None and run <= len(state.runs):
            client = state.run(run).client or client
        return Notice(name, at, state.log, client, run, phase, phase_name(phase), fields)

    if isinstance(event, RunStarted):
        return make(RUN_STARTED.name, event.run, None, line=event.line, mid_run=event.mid_run)
    if isinstance(event, PhaseStarted):
        return make(PHASE_STARTED.name, event.run, event.phase, line=event.line)
    if isinstance(event, PhaseFinished):
        return make(PHASE_FINISHED.name, event.run, event.phase, line=event.line, status=event.status.value)
    if isinstance(event, Finding):
        return make(FINDING.name, event.run, event.phase, **finding_fields(state, event))
    if isinstance(event, FindingDetail):
        return _detail_notice(state, event, make)
    if isinstance(event, InstallpResult):
        return make(
            INSTALLP.name,
            event.run,
            event.phase,
            filesets_ok=event.filesets_ok,
            failed=list(event.failed),
            cancelled=list(event.cancelled),
            requisite_failures=list(event.requisite_failures),
            failing=event.failing,
            line=event.line,
        )
    if isinstance(event, RunFinished):
        return make(
            RUN_FINISHED.name,
            event.run,
            event.failed_phase or state.run(event.run).last_phase or None,
            line=event.line,
            outcome=event.outcome.value,
            failed_phase=event.failed_phase,
            reason=event.reason,
            operation=operation_of(state.run(event.run)),
        )
    if isinstance(event, Progress):
        return make(PROGRESS.name, event.run, event.phase, done=event.done, total=event.total, unit=event.unit)
    if isinstance(event, Fact):
        return make(FACT.name, event.run, None, name=event.name, value=event.value, line=event.line)
    if isinstance(event, LinesRead):
        return make(LINES.name, event.run, None, line=event.line, last_text=event.last_text)
    if isinstance(event, BadLine):
        return make(BAD_LINE.name, None, None, line=event.line, reason=event.reason)
    if isinstance(event, (Stalled, RunSilent, StallCleared)):
        return _quiet_notice(state, event, make)
    if isinstance(event, HookRan):
        fields = {**event.trigger_fields, "trigger": event.trigger, "on": event.on, "hook": event.hook}
        fields.update(argv=list(event.argv), exit_status=event.exit_status, timed_out=event.timed_out)
        fields.update(duration=round(event.duration, 3), output_tail=event.output_tail, error=event.error)
        fields.update(skipped=event.skipped, attempt=event.attempt, will_retry=event.will_retry)
        client = event.client or state.client
        return Notice(HOOK_RESULT.name, at, state.log, client, event.run, event.phase, phase_name(event.phase), fields)
    return None


def fleet_notice(fleet: FleetState, event: Event, at: float) -> Optional[Notice]:
    """The notice of an alert sink's report, made before it is reduced into ``fleet`` (None: not a sink's)."""
    if isinstance(event, SinkFailed):
        fields: dict[str, Any] = {"sink": event.sink, "type": event.type, "error": event.error}
        fields.update(pending=event.pending, attempts=event.attempts, rejected=event.rejected)
        fields.update(next_try=iso(event.next_try) if event.next_try is not None else None)
        fields.update(alert=event.alert, alert_event=event.alert_event)
        return Notice(ALERT_FAILED.name, at, event.log, event.client, fields=fields)
    if isinstance(event, SinkRecovered):
        old = fleet.sinks.get(event.sink)
        since = old.failing_since if old is not None else None
        fields = {"sink": event.sink, "type": event.type, "pending": event.pending}
        fields["failing_since"] = iso(since) if since is not None else None
        return Notice(ALERT_RECOVERED.name, at, "", "", fields=fields)
    return None


def _quiet_notice(state: LogState, event: Stalled | RunSilent | StallCleared, make: Callable[..., Notice]) -> Notice:
    """The stall monitor's verdicts, as ``stalled``, ``run_finished`` (incomplete) and ``stall_cleared``."""
    run = state.run(event.run)
    if isinstance(event, Stalled):
        nim: dict[str, Any] = {}
        if event.evidence == "nim_info":
            nim = {"nim_cstate": event.nim_cstate, "nim_info": event.nim_info}
            nim["info_unchanged_minutes"] = event.info_unchanged_minutes
        return make(
            STALLED.name,
            run.index,
            event.phase,
            line=run.last_line,
            severity="warning",
            silent_minutes=event.silent_minutes,
            threshold_minutes=event.threshold_minutes,
            last_text=run.last_text,
            evidence=event.evidence,
            **nim,
        )
    if isinstance(event, RunSilent):
        return make(
            RUN_FINISHED.name,
            run.index,
            run.current_phase or None,
            line=run.last_line,
            outcome=Outcome.INCOMPLETE.value,
            failed_phase=None,
            reason=event.reason,
            silent_minutes=event.silent_minutes,
        )
    why = {"evidence": event.evidence, "nim_info": event.nim_info} if event.evidence else {}
    return make(
        STALL_CLEARED.name,
        run.index,
        run.current_phase or None,
        line=run.last_line,
        severity="info",
        **why,
        stalled_minutes=event.stalled_minutes,
    )


def finding_fields(state: LogState, finding: Finding) -> dict[str, Any]:
    """A finding's notice fields, its advice filled in with what the run told so far."""
    run = state.run(finding.run) if 0 < finding.run <= len(state.runs) else None
    values = {**advice_values(run, state.client), **dict(finding.fills)}
    return {
        "rule": finding.rule,
        "code": finding.code,
        "severity": finding.severity.value,
        "benign": finding.benign,
        "fails_run": finding.fails_run,
        "title": finding.title,
        "text": finding.text,
        "explanation": finding.explanation,
        "advice": fill_advice(finding.advice, values),
        "line": finding.line,
        "context": list(finding.context),
    }


def _detail_notice(state: LogState, event: FindingDetail, make: Callable[..., Notice]) -> Optional[Notice]:
    """The merged finding: a public ``finding`` again when its severity rose, else an internal notice."""
    run = state.run(event.run) if 0 < event.run <= len(state.runs) else None
    merged = None
    if run is not None:
        merged = next((f for f in reversed(run.findings) if f.line == event.line and f.rule == event.rule), None)
    if merged is None:
        return make(FINDING_DETAIL.name, event.run, None, line=event.line, rule=event.rule)
    fields = finding_fields(state, merged)
    fields["context_after"] = list(merged.context_after)
    if event.severity is not None:
        fields["severity_raised"] = True
        return make(FINDING.name, event.run, merged.phase, **fields)
    return make(FINDING_DETAIL.name, event.run, merged.phase, **fields)


def outside_key(notice: Notice) -> str:
    """What tells apart two NIM state notices of the same run and phase in the journal: the state itself."""
    if notice.kind is not NIM_STATE:
        return ""
    return ":".join(str(notice.get(k) or "") for k in ("cstate", "info", "result", "error"))


def outside_notices(state: LogState, event: Event, at: float, phase_name: PhaseNamer) -> list[Notice]:
    """Reduce an event from outside the log into ``state`` and return its notices (under the engine's lock)."""
    if isinstance(event, LaunchExited):
        return _exited(state, event, at, phase_name)
    if isinstance(event, NimStateRead):
        return _nim(state, event, at, phase_name)
    state.apply(event, at)
    return []


def _make(
    phase_name: PhaseNamer, state: LogState, name: str, at: float, run: Optional[RunState], **fields: Any
) -> Notice:
    phase = (run.failed_phase or run.current_phase or run.last_phase or None) if run is not None else None
    client = (run.client if run is not None else "") or state.client
    return Notice(name, at, state.log, client, run.index if run else None, phase, phase_name(phase), fields)


def _exited(state: LogState, event: LaunchExited, at: float, phase_name: PhaseNamer) -> list[Notice]:
    if state.launch_exit == event or any(r.nimadm_exit == event for r in state.runs):
        return []
    before = {id(r): r.outcome for r in state.runs}
    state.apply(event, at)
    run = next((r for r in state.runs if r.nimadm_exit is event), None)
    failed = not exited_ok(event) or (run is not None and run.outcome is Outcome.FAILED)
    fields: dict[str, Any] = {
        "exit_code": event.exit_code,
        "signal": event.signal,
        "pid": event.pid,
        "output": event.output,
        "record": event.record,
        "started": iso(event.started) if event.started is not None else None,
        "ended": iso(event.ended) if event.ended is not None else None,
        "severity": "error" if failed else "info",
    }
    if run is None:
        summary = f"{exit_words(event)} before writing to its log"
        return [
            _make(
                phase_name, state, NIMADM_EXITED.name, at, None, **fields, settled=False, outcome=None, summary=summary
            )
        ]
    out = [
        _make(
            phase_name,
            state,
            NIMADM_EXITED.name,
            at,
            run,
            **fields,
            line=run.end_line or run.last_line or run.start_line,
            settled=run.exit_settled,
            outcome=run.outcome.value,
            summary=run_label(run),
        )
    ]
    was = before.get(id(run))
    if run.exit_settled and (was is Outcome.RUNNING or was is not run.outcome):
        out.append(
            _make(
                phase_name,
                state,
                RUN_FINISHED.name,
                at,
                run,
                line=run.end_line,
                outcome=run.outcome.value,
                failed_phase=run.failed_phase,
                reason=run.finish_reason,
                operation=operation_of(run),
                exit_code=event.exit_code,
                signal=event.signal,
                record=event.record,
            )
        )
    return out


def _nim(state: LogState, event: NimStateRead, at: float, phase_name: PhaseNamer) -> list[Notice]:
    old = state.nim
    state.apply(event, at)
    new = state.nim
    if new is None:
        return []
    if old is not None and _values(old) == _values(new):
        return []
    return [
        _make(
            phase_name,
            state,
            NIM_STATE.name,
            at,
            state.current,
            cstate=new.cstate,
            info=new.info,
            result=new.result,
            error=new.error,
            previous_cstate=old.cstate if old is not None else None,
            previous_info=old.info if old is not None else None,
            busy=new.busy,
            info_unchanged_minutes=round(new.info_unchanged(at) / 60.0, 1),
            severity="warning" if new.error else "info",
        )
    ]


def _values(nim: NimView) -> tuple[str, str, str, str]:
    return nim.cstate, nim.info, nim.result, nim.error
