"""Stall and silence detection over the engine's live state.

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

``check(now)`` is driven by the caller's clock, so it is deterministic in
tests; lines resuming are noticed at once through the engine's ``lines``
notices. The monitor publishes through the engine and never holds the
engine's lock while it does.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from nimwatch.config import StallConfig
from nimwatch.core.events import Outcome, PhaseStatus
from nimwatch.core.outside import NimView
from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine, Notice


class StallMonitor:
    """Publishes ``stalled``, ``stall_cleared`` and silent runs' ``run_finished`` (incomplete).

    Args:
        engine: the engine whose state is watched and through which notices are published.
        stall_config: thresholds from the config.
        rules: the phase model (its per-phase ``stall_minutes``).
        clock: seconds since the epoch; ``check()`` without an argument uses it.
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
        self._lock = threading.Lock()
        self._stalled: dict[tuple[str, int], float] = {}
        """(log, run) -> last_line_at when the stall was reported."""
        self._silent: dict[tuple[str, int], float] = {}
        """(log, run) -> last_line_at when the run was declared incomplete."""
        self._nim: dict[tuple[str, int], Optional[float]] = {}
        """(log, run) -> the NIM ``info_since`` of a stall NIM's info decided."""
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
        """(log, run) pairs currently reported as stalled."""
        with self._lock:
            return set(self._stalled)

    # ------------------------------------------------------------------ periodic check

    def check(self, now: Optional[float] = None) -> list[Notice]:
        """Compare every running run's last line with the thresholds; publish and return what changed."""
        now = self.clock() if now is None else now
        out: list[Notice] = []
        incomplete_after = self.config.incomplete_after_minutes * 60.0
        with self.engine.locked(), self._lock:
            for log, state in self.engine.logs.items():
                run = state.current
                if run is None or run.last_line_at is None:
                    continue
                key = (log, run.index)
                silent = now - run.last_line_at
                if run.outcome is Outcome.INCOMPLETE and run.end_line is None and key not in self._silent:
                    # declared silent before a restart (the state came back from a snapshot): lines
                    # that come again must bring it back to running, as in the session that said so
                    self._silent[key] = run.last_line_at
                if run.outcome is not Outcome.RUNNING:
                    if key not in self._silent:
                        self._stalled.pop(key, None)
                        self._nim.pop(key, None)
                    continue
                phase = run.current_phase
                if phase and key not in self._stalled and run.phase(phase).status is PhaseStatus.RUNNING:
                    evidence = self._evidence(state.nim, phase, silent, now)
                    if evidence is not None:
                        self._stalled[key] = run.last_line_at
                        if evidence.get("evidence") == "nim_info" and state.nim is not None:
                            self._nim[key] = state.nim.info_since
                        fields = {
                            "line": run.last_line,
                            "severity": "warning",
                            "silent_minutes": round(silent / 60.0, 1),
                            "threshold_minutes": self.threshold_minutes(phase),
                            "last_text": run.last_text,
                            **evidence,
                        }
                        client = run.client or state.client
                        name = self.engine.phase_name(phase)
                        out.append(Notice("stalled", now, log, client, run.index, phase, name, fields))
                if key not in self._silent and silent > incomplete_after:
                    self._silent[key] = run.last_line_at
                    run.outcome = Outcome.INCOMPLETE
                    run.finish_reason = f"no new line for {round(silent / 60.0)} minutes"
                    run.finished_at = now
                    out.append(
                        Notice(
                            "run_finished",
                            now,
                            log,
                            run.client or state.client,
                            run.index,
                            phase or None,
                            self.engine.phase_name(phase),
                            {
                                "line": run.last_line,
                                "outcome": Outcome.INCOMPLETE.value,
                                "failed_phase": None,
                                "reason": run.finish_reason,
                                "silent_minutes": round(silent / 60.0, 1),
                            },
                        )
                    )
        for notice in out:
            self.engine.publish(notice)
        return out

    def _evidence(self, nim: Optional[NimView], phase: int, silent: float, now: float) -> Optional[dict[str, Any]]:
        """Why the phase counts as stalled (None: it does not): the log's silence, or NIM's info with it."""
        if silent > self.threshold_minutes(phase) * 60.0:
            return {"evidence": "log"}
        limit = self.nim_stall_minutes
        if limit is None or nim is None or not nim.busy:
            return None
        unchanged = nim.info_unchanged(now)
        if unchanged < limit * 60.0 or silent < limit * 60.0:
            return None
        return {
            "evidence": "nim_info",
            "threshold_minutes": limit,
            "nim_cstate": nim.cstate,
            "nim_info": nim.info,
            "info_unchanged_minutes": round(unchanged / 60.0, 1),
        }

    # ------------------------------------------------------------------ lines resuming, NIM info changing

    def _on_notice(self, notice: Notice) -> None:
        if notice.event == "nim_state":
            self._nim_changed(notice)
            return
        if notice.event != "lines" or notice.run is None:
            return
        key = (notice.log, notice.run)
        with self._lock:
            if key not in self._stalled and key not in self._silent:
                return
        cleared: Optional[Notice] = None
        with self.engine.locked(), self._lock:
            state = self.engine.logs.get(notice.log)
            if state is None or notice.run > len(state.runs):
                return
            run = state.run(notice.run)
            since = self._stalled.get(key, self._silent.get(key))
            if since is None or run.last_line_at is None or run.last_line_at <= since:
                return
            was_stalled = self._stalled.pop(key, None)
            was_silent = self._silent.pop(key, None)
            self._nim.pop(key, None)
            if was_silent is not None and run.outcome is Outcome.INCOMPLETE and run.end_line is None:
                run.outcome = Outcome.RUNNING
                run.finish_reason = ""
                run.finished_at = None
            phase = run.current_phase or None
            cleared = Notice(
                "stall_cleared",
                notice.ts,
                notice.log,
                run.client or state.client,
                run.index,
                phase,
                self.engine.phase_name(phase),
                {
                    "line": run.last_line,
                    "severity": "info",
                    "stalled_minutes": round((notice.ts - (was_stalled or was_silent or notice.ts)) / 60.0, 1),
                },
            )
        self.engine.publish(cleared)

    def _nim_changed(self, notice: Notice) -> None:
        """NIM's info moved on: a stall it decided is cleared (the log's silence may decide one later)."""
        cleared: Optional[Notice] = None
        with self.engine.locked(), self._lock:
            state = self.engine.logs.get(notice.log)
            run = state.current if state is not None else None
            if state is None or run is None:
                return
            key = (notice.log, run.index)
            if key not in self._nim or state.nim is None or state.nim.info_since == self._nim[key]:
                return
            self._nim.pop(key)
            since = self._stalled.pop(key, None)
            phase = run.current_phase or None
            cleared = Notice(
                "stall_cleared",
                notice.ts,
                notice.log,
                run.client or state.client,
                run.index,
                phase,
                self.engine.phase_name(phase),
                {
                    "line": run.last_line,
                    "severity": "info",
                    "evidence": "nim_info",
                    "nim_info": state.nim.info,
                    "stalled_minutes": round((notice.ts - (since or notice.ts)) / 60.0, 1),
                },
            )
        self.engine.publish(cleared)
