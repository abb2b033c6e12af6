"""Running hooks on engine notices, off the tailing path: matching, once-only, overlap, results.

Owns :class:`HookManager` (subscribe its ``handle`` to the engine), the
:class:`OnceStore` protocol that makes a hook fire once per event across
watcher restarts (the state journal implements it; :class:`MemoryOnceStore`
is the in-memory one), and what a hook receives: its argv with placeholders
filled, the ``NIMWATCH_*`` environment and the event as JSON on stdin.

Threads: ``handle`` runs in the engine's feeding thread and only matches,
marks the event in the once-store and queues; each hook with work has one
worker thread that runs its queue through :func:`~nimwatch.hooks.runner.run_command`
and publishes a ``hook_result`` notice per run. A hook never runs twice at the
same time (``overlap: queue`` waits, ``overlap: skip`` drops); different hooks
run side by side. The once-store is marked before the hook runs: a watcher
killed in between does not run it again (at most once, never twice).

Nothing from a notice is executed or interpreted: placeholders are replaced
in one pass over each argv element (a value holding ``{phase}`` or ``$(...)``
stays as it is), and ``run[0]`` never holds one (checked by the config).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Optional, Protocol

from nimwatch.engine import Notice
from nimwatch.hooks.config import (
    DEFAULT_PATH,
    PLACEHOLDER_RE,
    SHORTHANDS,
    HookSpec,
    executable_problem,
    hook_path,
    is_root,
    resolve_executable,
)
from nimwatch.hooks.runner import CommandResult, run_command

HOOK_EVENTS = frozenset(("run_started", "phase_started", "phase_finished", "finding", "stalled", "run_finished"))
"""Engine events a hook can react to; every other notice is ignored at once."""

_SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}

Runner = Callable[..., CommandResult]
""":func:`~nimwatch.hooks.runner.run_command` or a stand-in with the same keyword arguments."""


class OnceStore(Protocol):
    """Remembers which keys were seen, durably for the journal (so restarts do not repeat hooks)."""

    def mark_once(self, kind: str, key: str) -> bool:
        """Record ``(kind, key)``; True the first time it is seen, False ever after."""
        ...


class MemoryOnceStore:
    """A :class:`OnceStore` for one process (``--once`` without a journal, tests)."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def mark_once(self, kind: str, key: str) -> bool:
        with self._lock:
            if (kind, key) in self._seen:
                return False
            self._seen.add((kind, key))
            return True


# --------------------------------------------------------------------------- matching


def _specificity(name: str) -> int:
    return 0 if name in SHORTHANDS else 1


def matched_event(hook: HookSpec, notice: Notice) -> Optional[str]:
    """The ``on`` entry of ``hook`` that ``notice`` satisfies (the most specific), or None.

    Filters: ``phases`` (a notice without a phase never passes), ``clients``
    (fnmatch, case-sensitive), and for findings only ``severity`` (minimum),
    ``rules`` and ``codes``.
    """
    if notice.event not in HOOK_EVENTS:
        return None
    matched: Optional[str] = None
    for name in sorted(hook.on, key=_specificity):
        if name in SHORTHANDS:
            event, phase, outcome = SHORTHANDS[name]
            if notice.event != event:
                continue
            if phase is not None and notice.phase != phase:
                continue
            if outcome is not None and notice.get("outcome") != outcome:
                continue
            if outcome is not None and notice.get("operation", "migration") != "migration":
                continue  # run_succeeded / run_failed: a clean-up that succeeded migrated nothing
        elif notice.event != name:
            continue
        matched = name
        break
    if matched is None:
        return None
    if hook.phases and notice.phase not in hook.phases:
        return None
    if hook.clients and not any(fnmatchcase(notice.client, glob) for glob in hook.clients):
        return None
    if notice.event == "finding":
        if notice.get("benign") and not hook.benign and notice.get("rule") not in hook.rules:
            return None  # routine lines of a healthy run run no hook unless asked for
        if hook.severity is not None:
            rank = _SEVERITY_RANK.get(str(notice.get("severity", "")), -1)
            if rank < _SEVERITY_RANK[hook.severity]:
                return None
        if hook.rules and notice.get("rule") not in hook.rules:
            return None
        if hook.codes and notice.get("code") not in hook.codes:
            return None
    return matched


def once_key(hook: HookSpec, notice: Notice, event_key: Optional[str] = None) -> str:
    """The once-store key: stable for one event of one log (or one run, with ``once_per_run``).

    ``event_key`` is the watcher's journal key of the event (log, file identity and
    generation, run within that content, event, phase, line, rule, occurrence); it
    stays right when a log is truncated and its runs are numbered anew.
    """
    if event_key is not None:
        parts = event_key.rsplit("|", 7)
        if hook.once_per_run and len(parts) == 8:
            return json.dumps(["run", hook.name, *parts[:3]])
        if not hook.once_per_run:
            return json.dumps(["event", hook.name, event_key])
    if hook.once_per_run:
        return json.dumps(["run", hook.name, notice.log, notice.run])
    return json.dumps(
        [
            "event",
            hook.name,
            notice.log,
            notice.run,
            notice.event,
            notice.phase,
            notice.get("line"),
            notice.get("rule"),
        ]
    )


# --------------------------------------------------------------------------- what a hook receives


def _text(value: Any) -> str:
    """A value as hook text: None is empty; NUL (which argv and env cannot carry) is dropped."""
    if value is None:
        return ""
    return str(value).replace("\0", "")


def _phase_label(notice: Notice) -> str:
    if not notice.phase:
        return ""
    return f"phase {notice.phase} ({notice.phase_name})" if notice.phase_name else f"phase {notice.phase}"


def message_for(notice: Notice) -> str:
    """NIMWATCH_MESSAGE: a finding's text, else a one-line summary of the event."""
    who = notice.client or os.path.basename(notice.log)
    phase = _phase_label(notice)
    if notice.event == "finding":
        return _text(notice.get("text"))
    if notice.event == "run_started":
        return f"{who}: run {notice.run} started"
    if notice.event == "phase_started":
        return f"{who}: {phase} started"
    if notice.event == "phase_finished":
        return f"{who}: {phase} {notice.get('status', 'finished')}"
    if notice.event == "stalled":
        text = notice.get("text") or notice.get("message")
        return _text(text) if text else f"{who}: {phase or 'run'} stalled"
    if notice.event == "run_finished":
        out = f"{who}: run {notice.run} {notice.get('outcome', 'finished')}"
        if notice.get("outcome") == "failed" and phase:
            out += f" in {phase}"
        reason = notice.get("reason")
        return out + (f": {reason}" if reason else "")
    return f"{who}: {notice.event}"


def placeholder_values(notice: Notice) -> dict[str, str]:
    """The value of each ``run`` placeholder for ``notice`` (empty when it does not apply)."""
    return {
        "client": _text(notice.client),
        "phase": _text(notice.phase),
        "phase_name": _text(notice.phase_name),
        "event": _text(notice.event),
        "code": _text(notice.get("code")),
        "rule": _text(notice.get("rule")),
        "severity": _text(notice.get("severity")),
        "log": _text(notice.log),
        "line": _text(notice.get("line")),
        "outcome": _text(notice.get("outcome")),
        "operation": _text(notice.get("operation")),
    }


def fill_argv(run: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Replace ``{name}`` by its value in each element, in one pass: inserted text is never re-read."""

    def one(match: Any) -> str:
        name = match.group(1)
        return values[name] if name in values else str(match.group(0))

    return [PLACEHOLDER_RE.sub(one, arg) for arg in run]


def base_env() -> dict[str, str]:
    """What a hook inherits from nimwatch's environment: PATH, HOME, LANG (and TZ, which AIX needs)."""
    env = {
        "PATH": os.environ.get("PATH") or DEFAULT_PATH,
        "HOME": os.environ.get("HOME") or "/",
        "LANG": os.environ.get("LANG") or "C",
    }
    if os.environ.get("TZ"):
        env["TZ"] = os.environ["TZ"]
    return env


def hook_env(hook: HookSpec, notice: Notice, matched: str) -> dict[str, str]:
    """The whole environment of one hook run: base, the hook's ``env``, then the NIMWATCH_* variables."""
    values = placeholder_values(notice)
    env = base_env()
    env.update(hook.env)
    env.update(
        {
            "NIMWATCH_EVENT": values["event"],
            "NIMWATCH_ON": matched,
            "NIMWATCH_HOOK": hook.name,
            "NIMWATCH_CLIENT": values["client"],
            "NIMWATCH_RUN": _text(notice.run),
            "NIMWATCH_PHASE": values["phase"],
            "NIMWATCH_PHASE_NAME": values["phase_name"],
            "NIMWATCH_STATUS": _text(notice.get("status")),
            "NIMWATCH_LOG": values["log"],
            "NIMWATCH_CODE": values["code"],
            "NIMWATCH_RULE": values["rule"],
            "NIMWATCH_SEVERITY": values["severity"],
            "NIMWATCH_MESSAGE": message_for(notice).replace("\0", ""),
            "NIMWATCH_LINE": values["line"],
            "NIMWATCH_OUTCOME": values["outcome"],
            "NIMWATCH_OPERATION": values["operation"],
        }
    )
    return env


def event_json(notice: Notice) -> bytes:
    """The event as one JSON line for the hook's stdin (ASCII-escaped, so always valid)."""
    return (json.dumps(notice.as_json(), ensure_ascii=True, default=str) + "\n").encode("ascii")


# --------------------------------------------------------------------------- the manager


@dataclass
class _Job:
    hook: HookSpec
    notice: Notice
    matched: str


@dataclass
class _HookState:
    queue: deque[_Job] = field(default_factory=deque)
    busy: bool = False
    """A worker thread owns this hook (running a job or about to take the next)."""
    thread: Optional[threading.Thread] = None


class HookManager:
    """Runs the configured hooks for the notices it is handed.

    Args:
        hooks: validated hooks (:func:`nimwatch.hooks.config.parse_section`).
        publish: receives one ``hook_result`` notice per run or skipped event
            (the engine's ``publish``); called from worker threads.
        once_store: remembers fired events across restarts (the journal).
        clock: seconds since the epoch, for the ``hook_result`` timestamps.
        runner: the command runner (tests may record instead of running).
    """

    def __init__(
        self,
        hooks: list[HookSpec],
        publish: Callable[[Notice], None],
        once_store: OnceStore,
        clock: Callable[[], float] = time.time,
        runner: Runner = run_command,
    ) -> None:
        self.hooks = list(hooks)
        self._publish = publish
        self._once = once_store
        self._clock = clock
        self._runner = runner
        self._states = [_HookState() for _ in self.hooks]
        self._cond = threading.Condition()
        self._stopped = False
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ intake (feeding thread)

    def handle(self, notice: Notice, event_key: Optional[str] = None) -> None:
        """Queue every hook that ``notice`` triggers; returns at once (hooks run in worker threads).

        ``event_key``: the event's journal key when the watcher has one (see :func:`once_key`).
        """
        if self._stopped or notice.event not in HOOK_EVENTS:
            return
        for index, hook in enumerate(self.hooks):
            matched = matched_event(hook, notice)
            if matched is None or not self._once.mark_once("hook", once_key(hook, notice, event_key)):
                continue
            self._submit(index, _Job(hook, notice, matched))

    def _submit(self, index: int, job: _Job) -> None:
        state = self._states[index]
        with self._cond:
            if self._stopped:
                skipped: Optional[str] = "not run: nimwatch is stopping"
            elif job.hook.overlap == "skip" and state.busy:
                skipped = "skipped: the previous run of this hook is still going (overlap: skip)"
            else:
                skipped = None
                state.queue.append(job)
                if not state.busy:
                    state.busy = True
                    state.thread = threading.Thread(
                        target=self._work,
                        args=(state,),
                        name=f"nimwatch-hook:{job.hook.name}",
                        daemon=True,
                    )
                    self._threads = [t for t in self._threads if t.is_alive()]
                    self._threads.append(state.thread)
                    state.thread.start()
        if skipped is not None:
            self._publish(self._result_notice(job, None, skipped))

    # ------------------------------------------------------------------ workers

    def _work(self, state: _HookState) -> None:
        try:
            while True:
                with self._cond:
                    if not state.queue:
                        return
                    job = state.queue.popleft()
                self._run_with_retries(job)
        finally:
            with self._cond:
                state.busy = False
                state.thread = None
                self._cond.notify_all()

    def _run_with_retries(self, job: _Job) -> None:
        """Run a job; a failed attempt is reported, then retried with a doubling delay (while not stopping)."""
        attempts = job.hook.retries + 1
        delay = job.hook.retry_delay
        for attempt in range(1, attempts + 1):
            result = self.run_job(job.hook, job.notice, job.matched)
            failed = result.returncode != 0 or result.timed_out or result.error is not None
            retry = failed and attempt < attempts and not self._stopped
            self._publish(self._result_notice(job, result, None, attempt=attempt, will_retry=retry))
            if not retry:
                return
            with self._cond:
                if self._cond.wait_for(lambda: self._stopped, timeout=delay):
                    return  # stopping: the pending retry is given up (its failure was reported)
            delay *= 2

    def run_job(self, hook: HookSpec, notice: Notice, matched: str) -> CommandResult:
        """Run ``hook`` for ``notice`` now, in this thread (the workers' body; also for tests)."""
        env = hook_env(hook, notice, matched)
        argv = fill_argv(hook.run, placeholder_values(notice))
        executable = resolve_executable(argv[0], hook_path(env))
        if executable is None:
            return CommandResult(tuple(argv), None, False, 0.0, "", f"{argv[0]}: not found in PATH")
        problem = executable_problem(executable, root=is_root())
        if problem:
            return CommandResult(tuple(argv), None, False, 0.0, "", problem)
        argv[0] = executable
        return self._runner(argv, env=env, stdin=event_json(notice), timeout=hook.timeout, cwd=hook.cwd)

    def _result_notice(
        self,
        job: _Job,
        result: Optional[CommandResult],
        skipped: Optional[str],
        attempt: int = 1,
        will_retry: bool = False,
    ) -> Notice:
        notice = job.notice
        fields: dict[str, Any] = dict(notice.fields)
        fields.update(
            {
                "trigger": notice.event,
                "on": job.matched,
                "hook": job.hook.name,
                "argv": list(result.argv) if result else [],
                "exit_status": result.returncode if result else None,
                "timed_out": result.timed_out if result else False,
                "duration": round(result.duration, 3) if result else 0.0,
                "output_tail": result.output_tail if result else "",
                "error": result.error if result else skipped,
                "skipped": result is None,
                "attempt": attempt,
                "will_retry": will_retry,
            }
        )
        return Notice(
            "hook_result",
            self._clock(),
            notice.log,
            notice.client,
            notice.run,
            notice.phase,
            notice.phase_name,
            fields,
        )

    # ------------------------------------------------------------------ waiting and stopping

    def _idle(self) -> bool:
        return not any(state.busy for state in self._states)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued hook has run and its result is published; False on timeout."""
        with self._cond:
            return self._cond.wait_for(self._idle, timeout=timeout)

    def stop(self, timeout: Optional[float] = None) -> bool:
        """Take no more events, drop queued runs (each reported as not run) and wait for running ones.

        A running hook is not interrupted: it ends by itself or at its own
        timeout. Returns False if some were still running after ``timeout``
        seconds (None: wait for them).
        """
        dropped: list[_Job] = []
        with self._cond:
            self._stopped = True
            self._cond.notify_all()  # a worker waiting to retry gives up at once
            for state in self._states:
                dropped.extend(state.queue)
                state.queue.clear()
        for job in dropped:
            self._publish(self._result_notice(job, None, "not run: nimwatch stopped before its turn"))
        with self._cond:
            idle = self._cond.wait_for(self._idle, timeout=timeout)
            threads = list(self._threads)
        if idle:  # the workers have left their loops: let them finish exiting
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()
        return idle
