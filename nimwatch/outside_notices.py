"""Events from outside the log into the engine: ``nimadm_exited``, the ``run_finished`` it settles, ``nim_state``.

Owns :func:`apply_outside`, how the sources outside the log (run records,
the NIM state poller) feed the engine: under the engine's lock the event is
reduced into the log's state (the reducer decides, :mod:`nimwatch.core.outside`)
and :func:`outside_notices` says what changed; the notices are published
after the lock is released, like the parser's. Also :func:`outside_key`, what
tells two ``nim_state`` notices apart in the journal.

* :class:`~nimwatch.core.events.LaunchExited` gives one ``nimadm_exited``
  (exit status or signal, PID, output file, run record, the run's outcome and
  summary afterwards; ``run`` is None when nimadm wrote no run) and, when the
  exit status settled an outcome the log left open, a ``run_finished`` with
  that outcome and the exit status as its reason (alerts and hooks see a
  killed nimadm as a failed run). The same record applied twice gives nothing.
* :class:`~nimwatch.core.events.NimStateRead` gives a ``nim_state`` notice
  when the state changed (Cstate, info, Cstate_result, or an error), with the
  previous values and how long ``info`` has kept its value.
"""

from __future__ import annotations

from typing import Any, Optional

from nimwatch.core.events import Event, LaunchExited, NimStateRead, Outcome
from nimwatch.core.outside import NimView, exit_words, exited_ok
from nimwatch.core.state import LogState, RunState
from nimwatch.core.verdict import operation_of, run_label
from nimwatch.engine import Engine, Notice, iso
from nimwatch.vocabulary import NIM_STATE, NIMADM_EXITED, RUN_FINISHED


def apply_outside(engine: Engine, log: str, event: Event, at: Optional[float] = None) -> list[Notice]:
    """Reduce ``event`` into the state of ``log`` and publish its notices (nothing for a log not followed)."""
    at = engine.clock() if at is None else at
    with engine.locked():
        state = engine.logs.get(log)
        if state is None:
            return []
        notices = outside_notices(engine, state, event, at)
    for notice in notices:
        engine.publish(notice)
    return notices


def outside_key(notice: Notice) -> str:
    """What tells apart two NIM state notices of the same run and phase in the journal: the state itself."""
    if notice.kind is not NIM_STATE:
        return ""
    return ":".join(str(notice.get(k) or "") for k in ("cstate", "info", "result", "error"))


def outside_notices(engine: Engine, state: LogState, event: Event, at: float) -> list[Notice]:
    """Reduce ``event`` into ``state`` and return its notices (called with the engine's lock held)."""
    if isinstance(event, LaunchExited):
        return _exited(engine, state, event, at)
    if isinstance(event, NimStateRead):
        return _nim(engine, state, event, at)
    state.apply(event, at)
    return []


def _make(engine: Engine, state: LogState, name: str, at: float, run: Optional[RunState], **fields: Any) -> Notice:
    phase = (run.failed_phase or run.current_phase or run.last_phase or None) if run is not None else None
    client = (run.client if run is not None else "") or state.client
    return Notice(name, at, state.log, client, run.index if run else None, phase, engine.phase_name(phase), fields)


def _exited(engine: Engine, state: LogState, event: LaunchExited, at: float) -> list[Notice]:
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
            _make(engine, state, NIMADM_EXITED.name, at, None, **fields, settled=False, outcome=None, summary=summary)
        ]
    out = [
        _make(
            engine,
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
                engine,
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


def _nim(engine: Engine, state: LogState, event: NimStateRead, at: float) -> list[Notice]:
    old = state.nim
    state.apply(event, at)
    new = state.nim
    if new is None:
        return []
    if old is not None and _values(old) == _values(new):
        return []
    return [
        _make(
            engine,
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
