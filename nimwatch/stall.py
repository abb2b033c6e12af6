"""Stall and silence detection over the engine's live state: the clock the core does not have.

Owns :class:`StallMonitor`. The log has no timestamps, so "stalled" is about
arrival times: a running phase that got no new line for longer than its
threshold is ``stalled`` (cleared with ``stall_cleared`` when lines resume),
and a run silent for ``incomplete_after_minutes`` without reaching its end
gets ``run_finished`` with outcome ``incomplete``. Thresholds per phase come
from the config (``stall.phases``), else ``stall.default_minutes``, else the
phase model's ``stall_minutes`` (longer for the copy phases 3, 6 and 9).

NIM's ``info`` counts toward the rule when the NIM state cross-check is on
(``nim_stall_minutes``): a running phase whose log has been silent for that
long, while the client's NIM object shows an operation under way whose
``info`` has not changed for that long either, is ``stalled`` with
``evidence: nim_info`` (IBM's VIOS module treats 30 minutes unchanged as
blocked) even before the phase's own threshold; a change of ``info`` clears
it. A NIM object that shows no operation (Cstate ``ready for a NIM
operation`` and no ``info``: a plain nimadm may never set them) is no
evidence, so a healthy run is never stalled by it. A stall the log's
silence alone decides says ``evidence: log``.

The monitor only decides: its verdicts are core events
(:class:`~nimwatch.core.events.Stalled`, ``RunSilent``, ``StallCleared``)
that the engine reduces into the run's state like the parser's, so whether a
run is stalled is kept in one place, the state (``RunState.stalled``).
``check(now)`` is driven by the caller's clock, so it is deterministic in
tests; lines resuming are noticed at once through the engine's ``lines``
notices, NIM's info changing through its ``nim_state`` notices. The monitor
decides and reduces under the engine's lock and publishes once it has let go.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from nimwatch.config import StallConfig
from nimwatch.core.events import Outcome, PhaseStatus, RunSilent, StallCleared, Stalled
from nimwatch.core.outside import NimView
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState
from nimwatch.engine import Engine, Notice
from nimwatch.vocabulary import LINES, NIM_STATE


class StallMonitor:
    """Decides ``stalled``, ``stall_cleared`` and silent runs' ``run_finished`` (incomplete).

    Args:
        engine: the engine whose state is watched, which reduces the verdicts and publishes their notices.
        stall_config: thresholds from the config.
        rules: the phase model (its per-phase ``stall_minutes``).
        clock: seconds since the epoch; ``check()`` without an argument uses it.
        nim_stall_minutes: NIM's info unchanged (and the log silent) this long is a stall (None: not used).
    """

    def __init__(
        self,
        engine: Engine,
        stall_config: StallConfig,
        rules: RuleSet,
        clock: Callable[[], float] = time.time,
        nim_stall_minutes: Optional[float] = None,
    ) -> None:
        self.engine = engine
        self.config = stall_config
        self.rules = rules
        self.clock = clock
        self.nim_stall_minutes = nim_stall_minutes
        self._unsubscribe = engine.subscribe(self._on_notice)

    def close(self) -> None:
        self._unsubscribe()

    def reconfigure(self, stall_config: StallConfig, nim_stall_minutes: Optional[float] = None) -> None:
        """New thresholds (config reload); already reported stalls stay reported."""
        self.config = stall_config
        self.nim_stall_minutes = nim_stall_minutes

    def threshold_minutes(self, phase: int) -> float:
        """Minutes without a line after which ``phase`` counts as stalled."""
        if phase in self.config.phase_minutes:
            return self.config.phase_minutes[phase]
        if self.config.default_minutes is not None:
            return self.config.default_minutes
        return self.rules.model.phase(phase).stall_minutes

    @property
    def stalled(self) -> set[tuple[str, int]]:
        """(log, run) pairs stalled now (from the state)."""
        with self.engine.locked():
            return {(log, run.index) for log, state in self.engine.logs.items() for run in state.runs if run.stalled}

    # ------------------------------------------------------------------ periodic check

    def check(self, now: Optional[float] = None) -> list[Notice]:
        """Compare every running run's last line with the thresholds; publish and return what changed."""
        now = self.clock() if now is None else now
        out: list[Notice] = []
        incomplete_after = self.config.incomplete_after_minutes * 60.0
        with self.engine.locked():
            for log, state in list(self.engine.logs.items()):
                run = state.current
                if run is None or run.last_line_at is None or run.outcome is not Outcome.RUNNING:
                    continue
                silent = now - run.last_line_at
                phase = run.current_phase
                if phase and not run.stall_reported and run.phase(phase).status is PhaseStatus.RUNNING:
                    stalled = self._stalled(state.nim, run.index, phase, silent, now)
                    if stalled is not None:
                        out.extend(self.engine.reduce(log, stalled, now))
                if silent > incomplete_after:
                    reason = f"no new line for {round(silent / 60.0)} minutes"
                    out.extend(self.engine.reduce(log, RunSilent(run.index, round(silent / 60.0, 1), reason), now))
        self.engine.publish(*out)
        return out

    def _stalled(self, nim: Optional[NimView], run: int, phase: int, silent: float, now: float) -> Optional[Stalled]:
        """The verdict when the phase counts as stalled (None: it does not): the log's silence, or NIM's info."""
        minutes = round(silent / 60.0, 1)
        if silent > self.threshold_minutes(phase) * 60.0:
            return Stalled(run, phase, minutes, self.threshold_minutes(phase))
        limit = self.nim_stall_minutes
        if limit is None or nim is None or not nim.busy:
            return None
        unchanged = nim.info_unchanged(now)
        if unchanged < limit * 60.0 or silent < limit * 60.0:
            return None
        return Stalled(
            run, phase, minutes, limit, "nim_info", nim.cstate, nim.info, round(unchanged / 60.0, 1), nim.info_since
        )

    # ------------------------------------------------------------------ lines resuming, NIM info changing

    def _on_notice(self, notice: Notice) -> None:
        if notice.kind is not NIM_STATE and (notice.kind is not LINES or notice.run is None):
            return
        with self.engine.locked():
            state = self.engine.logs.get(notice.log)
            cleared = self._nim_changed(state, notice) if notice.kind is NIM_STATE else self._resumed(state, notice)
            out = self.engine.reduce(notice.log, cleared, notice.ts) if cleared is not None else []
        self.engine.publish(*out)

    @staticmethod
    def _resumed(state: Optional[LogState], notice: Notice) -> Optional[StallCleared]:
        """Lines came again: a stall or a silence of the notice's run is cleared."""
        runs = reversed(state.runs) if state is not None else ()
        run = next((r for r in runs if r.index == notice.run), None)
        since = run.quiet_since if run is not None else None
        if run is None or since is None or not (run.stall_reported or run.silenced):
            return None
        if run.last_line_at is None or run.last_line_at <= since:
            return None
        return StallCleared(run.index, round((notice.ts - since) / 60.0, 1))

    @staticmethod
    def _nim_changed(state: Optional[LogState], notice: Notice) -> Optional[StallCleared]:
        """NIM's info moved on: a stall it decided is cleared (the log's silence may decide one later)."""
        run = state.current if state is not None else None
        if state is None or run is None or state.nim is None:
            return None
        if not (run.stall_reported and run.stall_evidence == "nim_info"):
            return None
        if state.nim.info_since == run.stall_info_since or not (run.outcome is Outcome.RUNNING or run.silenced):
            return None
        since = run.quiet_since if run.quiet_since is not None else notice.ts
        return StallCleared(run.index, round((notice.ts - since) / 60.0, 1), "nim_info", state.nim.info)
