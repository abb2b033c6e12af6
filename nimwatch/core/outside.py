"""What sources outside the log tell the reducer: how nimadm exited, and the client's NIM state.

Owns the reduction of :class:`~nimwatch.core.events.LaunchExited` and
:class:`~nimwatch.core.events.NimStateRead` (called by
:meth:`nimwatch.core.state.LogState.apply`, the only writer of state), the
:class:`NimView` a log keeps of its client's NIM object, and the words for an
exit status.

Settling a run with nimadm's exit status (the run record ``nimwatch run``
keeps). The log stays the judge of success: a verdict is a promise.

* The run settled is the first one that begins at or after the event's
  ``first_line`` (that nimadm's own output); none: nimadm ended before
  writing a run, kept on the log (:attr:`LogState.launch_exit`).
* Only an open outcome is settled: a run still ``running``, or
  ``incomplete`` without nimadm's final lines (the log simply ends, or the
  stall monitor gave up on it). A run the log finished keeps its outcome; the
  exit status is kept beside it (the verdict says when they disagree).
* Killed by a signal, or a non-zero exit: ``failed`` in the phase the log
  stops in, the reason naming the status or signal.
* Exit 0: ``failed`` when the log already shows a failure; ``succeeded`` only
  when the log reached its end by the parser's own end-of-log rule (phase 12
  started, or a partial ``-P`` run that ran phases, or a clean-up, wake-up or
  sleep run); else ``incomplete``: "nimadm exited 0 but the log stops at
  phase N", never a success.

Pure: times come in as arguments.
"""

from __future__ import annotations

import signal as signals
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Optional

from nimwatch.core.events import LaunchExited, NimStateRead, Outcome, PhaseStatus

if TYPE_CHECKING:
    from nimwatch.core.state import LogState, RunState

READY = "ready for a NIM operation"
"""The Cstate of a client no NIM operation is working on."""
NOT_MIGRATIONS = frozenset({"cleanup", "wakeup", "sleep"})
"""Variants of nimadm that are not a migration (-C, -W, -S): no phase runs, no record of them feeds an ETA."""
SLACK = 5.0
"""Seconds a run may seem to have arrived before its nimadm started (clocks read to the second)."""


@dataclass(frozen=True)
class NimView:
    """The client's NIM object as last read, and since when it (and its ``info``) has not changed."""

    cstate: str = ""
    info: str = ""
    result: str = ""
    error: str = ""
    """Why the last reading failed ('' when it worked)."""
    read_at: Optional[float] = None
    changed_at: Optional[float] = None
    """When Cstate, info or Cstate_result last changed (the first reading counts as a change)."""
    info_since: Optional[float] = None
    """When ``info`` took its current value (as far as nimwatch has seen)."""

    @property
    def busy(self) -> bool:
        """A NIM operation is under way on the client (Cstate not 'ready', or an ``info`` message)."""
        return not self.error and bool(self.info or (self.cstate and self.cstate != READY))

    def info_unchanged(self, now: float) -> float:
        """Seconds ``info`` has kept its value (0 when unknown)."""
        return 0.0 if self.info_since is None else max(0.0, now - self.info_since)

    def short(self) -> str:
        """For a table cell: ``info`` when there is one (it says the most), else Cstate."""
        return "unreadable" if self.error else self.info or self.cstate or "-"

    def label(self) -> str:
        """``Cstate: info`` in a few words, for a table cell or a detail line."""
        if self.error:
            return f"unreadable: {self.error}"
        info = f": {self.info}" if self.info else ""
        result = f" ({self.result})" if self.result else ""
        return f"{self.cstate or '-'}{info}{result}"


def signal_name(number: int) -> str:
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"


def exit_words(event: LaunchExited) -> str:
    """``nimadm exited with status 1`` / ``nimadm was killed by signal 15 (SIGTERM)``."""
    if event.signal is not None:
        return f"nimadm was killed by signal {event.signal} ({signal_name(event.signal)})"
    if event.exit_code is not None:
        return f"nimadm exited with status {event.exit_code}"
    return "nimadm ended (status unknown)"


def exited_ok(event: LaunchExited) -> bool:
    return event.signal is None and event.exit_code == 0


def reached_end(phase: int, variants: Collection[str]) -> bool:
    """A run whose log stops in ``phase`` got as far as a finished run gets (the parser's end-of-log rule)."""
    if phase == 0:
        return not NOT_MIGRATIONS.isdisjoint(variants)
    return phase == 12 or "partial" in variants


def shows_failure(run: RunState) -> bool:
    """The log already shows a failure of ``run`` (a failed phase or a finding that fails the run)."""
    return (
        run.outcome is Outcome.FAILED
        or any(p.status is PhaseStatus.FAILED for p in run.phases)
        or any(f.fails_run for f in run.findings)
        or (run.installp is not None and run.installp.failing)
    )


def is_open(run: RunState) -> bool:
    """The log leaves the outcome open: still running, or incomplete without nimadm's last lines."""
    open_end = run.open_end or run.end_line is None
    return run.outcome is Outcome.RUNNING or (run.outcome is Outcome.INCOMPLETE and open_end)


def launch_run(log: LogState, event: LaunchExited) -> Optional[RunState]:
    """The run the exited nimadm wrote (None: it wrote none).

    The first run that begins at or after ``first_line`` and, where arrival
    times are known, did not arrive before nimadm started (a run kept from
    before the log was replaced has early line numbers too).
    """
    if event.first_line is None:
        return log.current
    for run in log.runs:
        early = event.started is not None and run.started_at is not None and run.started_at < event.started - SLACK
        if run.start_line >= event.first_line and not early:
            return run
    return None


def settle(log: LogState, event: LaunchExited, at: Optional[float]) -> Optional[RunState]:
    """Reduce ``event`` into ``log``; returns the run it settled or annotated (None: nimadm wrote no run)."""
    run = launch_run(log, event)
    if run is None:
        log.launch_exit = event
        return None
    if log.launch_exit is not None and log.launch_exit.record == event.record:
        log.launch_exit = None
    run.nimadm_exit = event
    if not is_open(run):
        return run
    phase = run.current_phase or run.last_phase
    where = f"phase {phase}" if phase else "before phase 1"
    if not exited_ok(event) or shows_failure(run):
        run.outcome = Outcome.FAILED
        failing = [p.number for p in run.phases if p.status is PhaseStatus.FAILED]
        run.failed_phase = run.failed_phase or (failing[0] if failing else (phase or None))
        run.finish_reason = exit_words(event)
        _close_phase(run, PhaseStatus.FAILED, at)
    elif reached_end(run.last_phase, run.variants):
        run.outcome = Outcome.SUCCEEDED
        run.finish_reason = f"nimadm exited 0 after {where}, the log's last"
        _close_phase(run, PhaseStatus.DONE, at)
    else:
        run.outcome = Outcome.INCOMPLETE
        run.finish_reason = f"nimadm exited 0 but the log stops at {where}"
    run.open_end = False
    run.exit_settled = True
    run.end_line = run.last_line or run.start_line
    run.finished_at = event.ended if event.ended is not None else at
    return run


def _close_phase(run: RunState, status: PhaseStatus, at: Optional[float]) -> None:
    """The phase nimadm was in when it ended: done (the run reached its end) or failed."""
    ps = run.phase(run.current_phase) if run.current_phase else None
    if ps is not None and ps.status is PhaseStatus.RUNNING:
        ps.status = status
        ps.end_line = run.last_line or ps.start_line
        ps.finished_at = at


def read_nim(log: LogState, event: NimStateRead, at: Optional[float]) -> bool:
    """Reduce a NIM state reading into ``log``; True when something changed (state, info or the error)."""
    old = log.nim
    if event.error:
        if old is not None and old.error == event.error:
            return False
        log.nim = replace(old or NimView(), error=event.error, read_at=at, changed_at=at)
        return True
    values = (event.cstate, event.info, event.result)
    if old is not None and (old.cstate, old.info, old.result) == values and not old.error:
        log.nim = replace(old, read_at=at)
        return False
    info_since = at
    if old is not None and old.info == event.info and old.info_since is not None:
        info_since = old.info_since
    log.nim = NimView(*values, "", at, at, info_since)
    return True
