"""Notices: what an engine event looks like to sinks, hooks, views and the JSON lines.

Owns :func:`notice_for`, which turns a core event, once reduced into its log's
state, into its :class:`~nimwatch.vocabulary.Notice` (an event's name, time,
log, client, run, phase and fields; the public ones are the ``watch`` JSON-lines
contract, :data:`~nimwatch.vocabulary.PUBLIC_EVENTS`): a finding's advice with
the facts known so far filled in, a finding whose severity rose when the
lines after it were read, the
stall monitor's verdicts, a hook's result; :func:`fleet_notice` does the same
for the alert sinks' reports, and :func:`outside_notices` for the events from
outside the log, which it also reduces (it compares the state before and
after): nimadm's exit (``nimadm_exited``, and the ``run_finished`` its exit
status settles when the log left the outcome open: alerts and hooks see a
killed nimadm as a failed run; the same record twice gives nothing) and the
NIM state (``nim_state`` when Cstate, info, Cstate_result or an error
changed). A notice's fields are its kind's declared keys, taken from the
event's attributes of the same names unless given
(:meth:`~nimwatch.vocabulary.Kind.carry`); two keep their own order, built
here: the ``run_finished`` of a run that fell silent (no ``operation``) and
``stall_cleared`` (its NIM keys before ``stalled_minutes``). Pure functions
over the state; the engine calls them under its lock.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Callable, Optional

from nimwatch.core import events as ev
from nimwatch.core.advice import advice_values, fill_advice
from nimwatch.core.outside import exit_words, exited_ok
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
    RUN_FINISHED,
    RUN_STARTED,
    STALL_CLEARED,
    STALLED,
    Kind,
    Notice,
    iso,
)

PhaseNamer = Callable[[Optional[int]], Optional[str]]
"""Phase number -> its name (None for none)."""
Make = Callable[[Kind, Optional[int], Optional[int], dict[str, Any]], Notice]

_AS_THEY_ARE: dict[type, Kind] = {
    ev.RunStarted: RUN_STARTED,
    ev.PhaseStarted: PHASE_STARTED,
    ev.PhaseFinished: PHASE_FINISHED,
    ev.InstallpResult: INSTALLP,
    ev.Progress: PROGRESS,
    ev.Fact: FACT,
    ev.LinesRead: LINES,
    ev.BadLine: BAD_LINE,
}
"""Core events whose notice is their own run, phase (if they have one) and the kind's keys."""
_NIM_VALUES = attrgetter("cstate", "info", "result", "error")
"""What a ``nim_state`` notice is about: a change of any of them."""


def _iso(ts: Optional[float]) -> Optional[str]:
    return iso(ts) if ts is not None else None


def notice_for(state: LogState, event: ev.Event, at: float, phase_name: PhaseNamer) -> Optional[Notice]:
    """The notice of ``event``, already reduced into ``state`` (None: the event has none)."""

    def make(kind: Kind, run: Optional[int], phase: Optional[int], fields: dict[str, Any]) -> Notice:
        client = state.client
        if run is not None and run <= len(state.runs):
            client = state.run(run).client or client
        return Notice(kind.name, at, state.log, client, run, phase, phase_name(phase), fields)

    kind = _AS_THEY_ARE.get(type(event))
    if kind is not None:
        return make(kind, getattr(event, "run", None), getattr(event, "phase", None), kind.carry(event))
    if isinstance(event, ev.Finding):
        return make(FINDING, event.run, event.phase, finding_fields(state, event))
    if isinstance(event, ev.FindingDetail):
        return _detail_notice(state, event, make)
    if isinstance(event, ev.RunFinished):
        run = state.run(event.run)
        phase = event.failed_phase or run.last_phase or None
        return make(RUN_FINISHED, event.run, phase, RUN_FINISHED.carry(event, operation=operation_of(run)))
    if isinstance(event, (ev.Stalled, ev.RunSilent, ev.StallCleared)):
        return _quiet_notice(state, event, make)
    if isinstance(event, ev.HookRan):
        fields = {**event.trigger_fields, **HOOK_RESULT.carry(event, duration=round(event.duration, 3))}
        client = event.client or state.client
        return Notice(HOOK_RESULT.name, at, state.log, client, event.run, event.phase, phase_name(event.phase), fields)
    return None


def fleet_notice(fleet: FleetState, event: ev.Event, at: float) -> Optional[Notice]:
    """The notice of an alert sink's report, made before it is reduced into ``fleet`` (None: not a sink's)."""
    if isinstance(event, ev.SinkFailed):
        fields = ALERT_FAILED.carry(event, next_try=_iso(event.next_try))
        return Notice(ALERT_FAILED.name, at, event.log, event.client, fields=fields)
    if isinstance(event, ev.SinkRecovered):
        old = fleet.sinks.get(event.sink)
        fields = ALERT_RECOVERED.carry(event, failing_since=_iso(old.failing_since if old is not None else None))
        return Notice(ALERT_RECOVERED.name, at, "", "", fields=fields)
    return None


def _quiet_notice(state: LogState, event: ev.Stalled | ev.RunSilent | ev.StallCleared, make: Make) -> Notice:
    """The stall monitor's verdicts, as ``stalled``, ``run_finished`` (incomplete) and ``stall_cleared``."""
    run = state.run(event.run)
    if isinstance(event, ev.Stalled):
        nim = STALLED.optional if event.evidence == "nim_info" else ()
        fields = STALLED.carry(event, *nim, line=run.last_line, severity="warning", last_text=run.last_text)
        return make(STALLED, run.index, event.phase, fields)
    phase = run.current_phase or None
    if isinstance(event, ev.RunSilent):
        fields = {"line": run.last_line, "outcome": ev.Outcome.INCOMPLETE.value, "failed_phase": None}
        fields.update(reason=event.reason, silent_minutes=event.silent_minutes)
        return make(RUN_FINISHED, run.index, phase, fields)
    why = {"evidence": event.evidence, "nim_info": event.nim_info} if event.evidence else {}
    fields = {"line": run.last_line, "severity": "info", **why, "stalled_minutes": event.stalled_minutes}
    return make(STALL_CLEARED, run.index, phase, fields)


def finding_fields(state: LogState, finding: ev.Finding, *optional: str) -> dict[str, Any]:
    """A finding's notice fields (and its ``optional`` ones), its advice filled in with what the run told so far."""
    run = state.run(finding.run) if 0 < finding.run <= len(state.runs) else None
    values = {**advice_values(run, state.client), **dict(finding.fills)}
    return FINDING.carry(finding, *optional, advice=fill_advice(finding.advice, values))


def _detail_notice(state: LogState, event: ev.FindingDetail, make: Make) -> Notice:
    """The merged finding: a public ``finding`` again when its severity rose, else an internal notice."""
    findings = state.run(event.run).findings if 0 < event.run <= len(state.runs) else []
    merged = next((f for f in reversed(findings) if f.line == event.line and f.rule == event.rule), None)
    if merged is None:
        return make(FINDING_DETAIL, event.run, None, FINDING_DETAIL.carry(event))
    fields = finding_fields(state, merged, "context_after")
    if event.severity is not None:
        fields["severity_raised"] = True
        return make(FINDING, event.run, merged.phase, fields)
    return make(FINDING_DETAIL, event.run, merged.phase, fields)


def outside_key(notice: Notice) -> str:
    """What tells apart two NIM state notices of the same run and phase in the journal: the state itself."""
    if notice.kind is not NIM_STATE:
        return ""
    return ":".join(str(notice.get(k) or "") for k in ("cstate", "info", "result", "error"))


def outside_notices(state: LogState, event: ev.Event, at: float, phase_name: PhaseNamer) -> list[Notice]:
    """Reduce an event from outside the log into ``state`` and return its notices (under the engine's lock)."""
    if isinstance(event, ev.LaunchExited):
        return _exited(state, event, at, phase_name)
    if isinstance(event, ev.NimStateRead):
        return _nim(state, event, at, phase_name)
    state.apply(event, at)
    return []


def _make(
    phase_name: PhaseNamer, state: LogState, kind: Kind, at: float, run: Optional[RunState], fields: dict[str, Any]
) -> Notice:
    phase = (run.failed_phase or run.current_phase or run.last_phase or None) if run is not None else None
    client = (run.client if run is not None else "") or state.client
    return Notice(kind.name, at, state.log, client, run.index if run else None, phase, phase_name(phase), fields)


def _exited(state: LogState, event: ev.LaunchExited, at: float, phase_name: PhaseNamer) -> list[Notice]:
    if state.launch_exit == event or any(r.nimadm_exit == event for r in state.runs):
        return []
    before = {id(r): r.outcome for r in state.runs}
    state.apply(event, at)
    run = next((r for r in state.runs if r.nimadm_exit is event), None)
    severity = "info" if exited_ok(event) and (run is None or run.outcome is not ev.Outcome.FAILED) else "error"
    given: dict[str, Any] = {"started": _iso(event.started), "ended": _iso(event.ended), "severity": severity}
    if run is None:  # nimadm ended before writing to its log: no run, no line of it
        summary = f"{exit_words(event)} before writing to its log"
        fields = NIMADM_EXITED.carry(event, **given, line=None, settled=False, outcome=None, summary=summary)
        del fields["line"]
        return [_make(phase_name, state, NIMADM_EXITED, at, None, fields)]
    given.update(line=run.end_line or run.last_line or run.start_line, settled=run.exit_settled, outcome=run.outcome)
    fields = NIMADM_EXITED.carry(event, **given, summary=run_label(run))
    out = [_make(phase_name, state, NIMADM_EXITED, at, run, fields)]
    was = before.get(id(run))
    if run.exit_settled and (was is ev.Outcome.RUNNING or was is not run.outcome):
        settled = {"line": run.end_line, "outcome": run.outcome, "failed_phase": run.failed_phase}
        fields = RUN_FINISHED.carry(
            event, "exit_code", "signal", "record", **settled, reason=run.finish_reason, operation=operation_of(run)
        )
        out.append(_make(phase_name, state, RUN_FINISHED, at, run, fields))
    return out


def _nim(state: LogState, event: ev.NimStateRead, at: float, phase_name: PhaseNamer) -> list[Notice]:
    old = state.nim
    state.apply(event, at)
    new = state.nim
    if new is None or (old is not None and _NIM_VALUES(old) == _NIM_VALUES(new)):
        return []
    fields = NIM_STATE.carry(
        new,
        previous_cstate=old.cstate if old is not None else None,
        previous_info=old.info if old is not None else None,
        info_unchanged_minutes=round(new.info_unchanged(at) / 60.0, 1),
        severity="warning" if new.error else "info",
    )
    return [_make(phase_name, state, NIM_STATE, at, state.current, fields)]
