"""Running hooks on engine notices, off the tailing path: matching, once-only, overlap, results.

Owns :class:`HookManager` (subscribe its ``handle`` to the engine), the
:class:`OnceStore` protocol that makes a hook fire once per event across
watcher restarts (the state journal implements it; :class:`MemoryOnceStore`
is the in-memory one) and the :class:`JobStore` that keeps queued runs. Which
notices a hook takes and what it receives are :mod:`nimwatch.hooks.payload`.

Threads: ``handle`` runs in the engine's feeding thread and only matches,
marks the event in the once-store and queues; each hook with work has one
worker thread that runs its queue through :func:`~nimwatch.process.runner.run_command`
and reports each result to the engine as a core event (:class:`~nimwatch.core.events.HookRan`),
which keeps it in the run's state and publishes the ``hook_result`` notice. A hook never runs twice at the
same time (``overlap: queue`` waits, ``overlap: skip`` drops); different hooks
run side by side. The once-store is marked before the hook runs: a watcher
killed in between does not run it again (at most once, never twice).

``run[0]`` never holds a placeholder (checked by the config).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Optional, Protocol

from nimwatch.config.hooks import HookSpec
from nimwatch.core.events import Event, HookRan
from nimwatch.engine import Notice
from nimwatch.hooks.payload import (
    content_from_record,
    event_json,
    fill_argv,
    hook_env,
    matched_event,
    notice_from_record,
    notice_record,
    once_key,
    placeholder_values,
)
from nimwatch.process.runner import CommandResult, run_command
from nimwatch.trust import executable_problem, hook_path, resolve_executable

Reporter = Callable[[Event, float, str], object]
"""(event, time, log) -> the engine's :meth:`~nimwatch.engine.Engine.report`."""
Keeper = Callable[[str, Optional[tuple[int, int]], HookRan, float], object]
"""Keeps a result for the views: (log, (generation, nth run) of the content it is about, result, when)."""


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


# --------------------------------------------------------------------------- durable jobs


class JobStore(Protocol):
    """Where queued hook runs are kept across restarts (the state journal implements it)."""

    def hook_job_add(self, hook: str, notice: str, matched: str, at: float) -> int: ...

    def hook_job_retry(self, job_id: int, attempt: int, next_try: float) -> None: ...

    def hook_job_done(self, job_id: int) -> None: ...

    def hook_jobs(self) -> list[tuple[int, str, str, str, int, float]]:
        """(id, hook, notice JSON, matched, attempt, next_try) of every kept run, oldest first."""
        ...


# --------------------------------------------------------------------------- the manager


@dataclass
class _Job:
    hook: HookSpec
    notice: Notice
    matched: str
    row: Optional[int] = None
    """Its row in the journal (None without one)."""
    content: Optional[tuple[int, int]] = None
    """(generation, nth run) of the log's content the event is about (from its journal key, kept with the job)."""
    attempt: int = 1
    next_try: float = 0.0
    """Not before this time (the manager's clock): a failed run waiting for its retry."""


@dataclass
class _HookState:
    spec: HookSpec
    queue: list[_Job] = field(default_factory=list)
    """Jobs in arrival order; a job waiting for its retry lets the later ones pass."""
    running: Optional[_Job] = None
    thread: Optional[threading.Thread] = None
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set at stop to end the running job's processes (it is kept in the journal and runs again)."""


class HookManager:
    """Runs the configured hooks for the notices it is handed.

    Args:
        hooks: validated hooks (:data:`nimwatch.config.hooks.HOOKS`).
        report: takes one :class:`~nimwatch.core.events.HookRan` per run or skipped event
            (the engine's ``report``); called from worker threads.
        once_store: remembers fired events across restarts (the journal).
        clock: seconds since the epoch, for the ``hook_result`` timestamps and retry times.
        jobs: keeps queued runs across restarts and reloads (the journal); None: in memory only.
        on_error: one-line diagnostics (runs kept at stop, runs of removed hooks).
        keep: also takes each result, with the position of its run in its log's content (the journal,
            for the views beside the watcher).
    """

    def __init__(
        self,
        hooks: list[HookSpec],
        report: Reporter,
        once_store: OnceStore,
        clock: Callable[[], float] = time.time,
        jobs: Optional[JobStore] = None,
        on_error: Optional[Callable[[str], None]] = None,
        keep: Optional[Keeper] = None,
    ) -> None:
        self._report = report
        self._keep = keep
        self._once = once_store
        self._clock = clock
        self._jobs = jobs
        self._on_error = on_error or (lambda message: None)
        self._states: dict[str, _HookState] = {h.name: _HookState(h) for h in hooks}
        self._retired: list[_HookState] = []
        """Hooks a reload removed while one of their runs was going: waited for at stop."""
        self._cond = threading.Condition()
        self._stopped = False

    # ------------------------------------------------------------------ intake (feeding thread)

    def handle(self, notice: Notice, event_key: Optional[str] = None) -> None:
        """Queue every hook that ``notice`` triggers; returns at once (hooks run in worker threads).

        ``event_key``: the event's journal key when the watcher has one (see :func:`once_key`).
        With a job store, each queued run is recorded in it first: call this inside the
        transaction that records the event (the watcher's planner does), and a run is never
        lost between the event and the hook.
        """
        if self._stopped or not notice.kind.hook:
            return
        with self._cond:
            states = list(self._states.values())
        for state in states:
            hook = state.spec
            matched = matched_event(hook, notice)
            if matched is None or not self._once.mark_once("hook", once_key(hook, notice, event_key)):
                continue
            job = _Job(hook, notice, matched, content=getattr(event_key, "content", None))
            if self._jobs is not None:
                record = notice_record(notice, job.content)
                job.row = self._jobs.hook_job_add(hook.name, record, matched, self._clock())
            self._submit(state, job)

    plan = handle
    """The recorder's planner signature: ``plan(notice, key)`` inside the journal transaction."""

    def resume(self) -> int:
        """Queue the runs an earlier session (or configuration) kept in the job store; returns how many.

        A run whose hook is gone, or no longer matches its event, is reported and dropped.
        """
        if self._jobs is None:
            return 0
        queued = 0
        for row, name, record, matched, attempt, next_try in self._jobs.hook_jobs():
            notice, content = notice_from_record(record), content_from_record(record)
            with self._cond:
                state = self._states.get(name)
            now_matched = matched_event(state.spec, notice) if state is not None else None
            if state is None or now_matched is None:
                why = "the hook is no longer configured" if state is None else "the hook changed and no longer matches"
                self._jobs.hook_job_done(row)
                self._on_error(f"hook {name}: a kept run for {notice.client} {notice.event} is dropped: {why}")
                if state is not None:
                    self._result(_Job(state.spec, notice, matched, content=content), None, f"not run: {why}")
                continue
            job = _Job(state.spec, notice, now_matched, row, content, attempt, next_try)
            with self._cond:
                self._enqueue(state, job)
            queued += 1
        return queued

    def _submit(self, state: _HookState, job: _Job) -> None:
        skipped: Optional[str] = None
        with self._cond:
            if self._stopped:
                if job.row is not None:
                    return  # kept in the journal: it runs at the next start
                skipped = "not run: nimwatch is stopping"
            elif job.hook.overlap == "skip" and (state.running is not None or state.queue):
                skipped = "skipped: the previous run of this hook is still going (overlap: skip)"
            else:
                self._enqueue(state, job)
        if skipped is not None:
            self._finished(job)
            self._result(job, None, skipped)

    def _enqueue(self, state: _HookState, job: _Job) -> None:
        """Add a job and make sure a worker runs the hook's queue (call with the condition held)."""
        state.queue.append(job)
        if state.thread is None:
            state.thread = threading.Thread(
                target=self._work, args=(state,), name=f"nimwatch-hook:{state.spec.name}", daemon=True
            )
            state.thread.start()
        self._cond.notify_all()

    def _finished(self, job: _Job) -> None:
        if job.row is not None and self._jobs is not None:
            self._jobs.hook_job_done(job.row)

    # ------------------------------------------------------------------ workers

    def _next_job(self, state: _HookState) -> Optional[_Job]:
        """The first job that is due, or None; waits for one while the queue holds jobs (condition held)."""
        while not self._stopped and state.queue:
            now = self._clock()
            for job in state.queue:
                if job.next_try <= now:
                    state.queue.remove(job)
                    return job
            self._cond.wait(min(job.next_try for job in state.queue) - now)
        return None

    def _work(self, state: _HookState) -> None:
        while True:
            with self._cond:
                job = self._next_job(state)
                if job is None:
                    state.thread = None
                    self._cond.notify_all()
                    return
                state.running = job
            try:
                self._run_once_more(state, job)
            finally:
                with self._cond:
                    state.running = None
                    self._cond.notify_all()

    def _run_once_more(self, state: _HookState, job: _Job) -> None:
        """One attempt; a failure with retries left waits for its delay (kept in the journal) while the
        hook's later jobs go on."""
        result = self.run_job(job.hook, job.notice, job.matched, cancel=state.cancel)
        if result.cancelled:
            self._result(job, result, None, attempt=job.attempt, will_retry=job.row is not None)
            return  # kept in the journal (when there is one): it runs again at the next start
        failed = result.returncode != 0 or result.timed_out or result.error is not None
        retry = failed and job.attempt <= job.hook.retries
        self._result(job, result, None, attempt=job.attempt, will_retry=retry)
        if not retry:
            self._finished(job)
            return
        job.next_try = self._clock() + job.hook.retry_delay * (2 ** (job.attempt - 1))
        job.attempt += 1
        if job.row is not None and self._jobs is not None:
            self._jobs.hook_job_retry(job.row, job.attempt, job.next_try)
        with self._cond:
            state.queue.insert(0, job)

    def run_job(
        self, hook: HookSpec, notice: Notice, matched: str, cancel: Optional[threading.Event] = None
    ) -> CommandResult:
        """Run ``hook`` for ``notice`` now, in this thread (the workers' body; also for tests)."""
        env = hook_env(hook, notice, matched)
        argv = fill_argv(hook.run, placeholder_values(notice))
        executable = resolve_executable(argv[0], hook_path(env))
        problem = f"{argv[0]}: not found in PATH" if executable is None else executable_problem(executable)
        if problem or executable is None:
            return CommandResult(tuple(argv), None, False, 0.0, "", problem)
        argv[0] = executable
        return run_command(argv, env=env, stdin=event_json(notice), timeout=hook.timeout, cwd=hook.cwd, cancel=cancel)

    def _result(
        self, job: _Job, result: Optional[CommandResult], skipped: Optional[str], attempt: int = 1,
        will_retry: bool = False,
    ) -> None:
        """Report one result (or why the hook did not run) to the engine, then to the keeper."""
        n, r = job.notice, result or CommandResult((), None, False, 0.0, "", skipped)
        ran = HookRan(
            n.run, n.phase, n.client, job.hook.name, n.event, job.matched, r.returncode, r.timed_out, r.error,
            result is None, attempt, will_retry, tuple(r.argv), r.duration, r.output_tail, dict(n.fields),
        )  # fmt: skip
        at = self._clock()
        self._report(ran, at, n.log)
        if self._keep is not None:
            self._keep(n.log, job.content, ran, at)

    # ------------------------------------------------------------------ reload

    def reconfigure(self, hooks: list[HookSpec]) -> None:
        """A reloaded configuration: an unchanged hook keeps its queue and its running job.

        A changed hook keeps the queued events that still match it (they run with the new
        definition); the others are reported and dropped. A removed hook's queued runs are
        reported and dropped; a run of it that is going finishes.
        """
        dropped: list[tuple[_Job, str]] = []
        with self._cond:
            old = self._states
            new: dict[str, _HookState] = {}
            for hook in hooks:
                state = old.get(hook.name)
                if state is None:
                    new[hook.name] = _HookState(hook)
                    continue
                if replace(state.spec, source="") != replace(hook, source=""):  # changed, not only moved in the file
                    state.spec = hook
                    kept = []
                    for job in state.queue:
                        matched = matched_event(hook, job.notice)
                        if matched is None:
                            dropped.append((job, "not run: the hook changed and no longer matches this event"))
                        else:
                            kept.append(replace(job, hook=hook, matched=matched))
                    state.queue = kept
                new[hook.name] = state
            for name, state in old.items():
                if name in new:
                    continue
                dropped.extend((job, "not run: the hook was removed from the configuration") for job in state.queue)
                state.queue = []
                if state.running is not None:
                    self._retired.append(state)
            self._states = new
            self._cond.notify_all()
        for job, why in dropped:
            self._finished(job)
            self._on_error(f"hook {job.hook.name}: a queued run for {job.notice.client} {job.notice.event}: {why}")
            self._result(job, None, why)

    # ------------------------------------------------------------------ waiting and stopping

    def _all_states(self) -> list[_HookState]:
        return [*self._states.values(), *self._retired]

    def _idle(self, include_retries: bool = True) -> bool:
        now = self._clock()
        return not any(
            state.running is not None or any(include_retries or job.next_try <= now for job in state.queue)
            for state in self._all_states()
        )

    def wait_idle(self, timeout: float, include_retries: bool = True) -> bool:
        """Wait until every queued hook has run and its result is published; False on timeout.

        ``include_retries=False`` (``watch --once``): runs waiting for a retry delay do not
        count; they stay queued (and in the journal, for the next run).
        """
        with self._cond:
            return self._cond.wait_for(lambda: self._idle(include_retries), timeout=timeout)

    def stop(self, timeout: Optional[float] = None) -> bool:
        """Take no more events and end the workers.

        With a job store, queued runs stay in it for the next start; without one they are
        dropped (each reported as not run). A running hook gets ``timeout`` seconds to end
        by itself; then its processes are ended and, with a job store, it runs again at the
        next start. Returns False if some were still running after ``timeout`` (None: wait).
        """
        dropped: list[_Job] = []
        kept = 0
        with self._cond:
            self._stopped = True
            self._cond.notify_all()  # workers waiting for a retry time leave at once
            for state in self._all_states():
                if self._jobs is None:  # a run waiting for a retry was reported failed: given up quietly
                    dropped.extend(job for job in state.queue if job.attempt == 1)
                else:
                    kept += len(state.queue)
                state.queue = []
        for job in dropped:
            self._result(job, None, "not run: nimwatch stopped before its turn")
        if kept:
            self._on_error(f"{kept} queued hook run(s) kept in the state journal: they run at the next start")
        with self._cond:
            idle = self._cond.wait_for(self._idle, timeout=timeout)
            if not idle:  # ended now; kept in the journal, they run again at the next start
                for state in self._all_states():
                    state.cancel.set()
                self._cond.wait_for(self._idle, timeout=30)
            threads = [s.thread for s in self._all_states() if s.thread is not None]
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=30)
        return idle
