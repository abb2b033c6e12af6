"""Hook results kept in the journal by ``watch``, for the views that do not run hooks (``status``, ``tui``).

Owns :func:`keep_hook_result` (the watcher's side: the last result of each
hook per log and run, one journal row each, written when the ``hook_result``
notice is published, forgotten with the log's content it is about:
:meth:`~nimwatch.journal.Journal.keep_hook_result`) and
:class:`HookResultFollower` (a view's side: each new row becomes a
:class:`~nimwatch.core.events.HookRan` given to the engine's ``report``, once
the log has been read to its end, so the run it names exists). The views
then read a failed or timed-out hook from the run's state as the watcher's
own metrics do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any, Callable, Optional

from nimwatch.core.events import HookRan
from nimwatch.engine import Notice
from nimwatch.ticker import LogFollower
from nimwatch.vocabulary import HOOK_RESULT

log = logging.getLogger(__name__)
ContentRun = Callable[[str, int], Optional[tuple[int, int]]]
"""(log, run) -> (content generation, nth run within it), None for a run of a replaced content."""

TICK = 5.0
"""Seconds between two looks at the journal (hooks run for seconds to minutes)."""
OUTPUT_KEPT = 2000
"""Characters of the hook's output tail kept in the journal."""
RESULT_FIELDS = ("exit_status", "timed_out", "error", "skipped", "attempt", "will_retry", "argv", "duration")


def keep_hook_result(journal: Any, notice: Notice, content_run: Optional[ContentRun] = None) -> None:
    """Keep a ``hook_result`` notice about a run in the journal (others are ignored); a problem is logged.

    The row names the run by its place in the log's content (``content_run``: the recorder's
    :meth:`~nimwatch.recorder.Recorder.content_run`): a watcher that saw the log rewritten numbers the new
    content's runs on from the old ones, a view that reads only the new content from 1. A result about a
    content replaced since (a hook that ended after nimadm began the log anew) is not kept.
    """
    if notice.kind is not HOOK_RESULT or notice.run is None or not notice.log:
        return
    run, generation = notice.run, None
    if content_run is not None:
        found = content_run(notice.log, notice.run)
        if found is None:
            log.info("%s: a hook result of a replaced content is not kept", notice.log)
            return
        generation, run = found
    fields = dict(notice.fields)
    hook = str(fields.pop("hook", ""))
    trigger, on = str(fields.pop("trigger", "")), str(fields.pop("on", ""))
    result = {k: fields.pop(k, None) for k in RESULT_FIELDS}
    result["output_tail"] = str(fields.pop("output_tail", "") or "")[-OUTPUT_KEPT:]
    row = {"at": notice.ts, "client": notice.client, "phase": notice.phase, "trigger": trigger, "on": on}
    row.update(result, trigger_fields=fields)
    try:
        journal.keep_hook_result(notice.log, run, hook, row, generation)
    except Exception as exc:  # the journal's trouble must not stop the hook worker that reports
        log.warning("could not keep the result of hook %s in the journal: %s", hook, exc)


def hook_event(run: int, hook: str, row: dict[str, Any]) -> HookRan:
    """The :class:`HookRan` a journal row stands for."""
    return HookRan(
        run=run,
        phase=row.get("phase"),
        client=str(row.get("client") or ""),
        hook=hook,
        trigger=str(row.get("trigger") or ""),
        on=str(row.get("on") or ""),
        exit_status=row.get("exit_status"),
        timed_out=bool(row.get("timed_out")),
        error=row.get("error"),
        skipped=bool(row.get("skipped")),
        attempt=int(row.get("attempt") or 1),
        will_retry=bool(row.get("will_retry")),
        argv=tuple(row.get("argv") or ()),
        duration=float(row.get("duration") or 0.0),
        output_tail=str(row.get("output_tail") or ""),
        trigger_fields=dict(row.get("trigger_fields") or {}),
    )


class HookResultFollower(LogFollower):
    """Gives the engine the hook results ``watch`` kept in the journal (``source``, read-only is enough), each once.

    A changed row is a newer result, given again.
    """

    NAME = "nimwatch-hook-results"
    EVERY = TICK

    def items(self) -> Iterator[tuple[str, object, str, Any]]:
        for key, text in sorted(self.source.hook_results().items()):
            parsed = None if self._given.get(key) == text else _row(key, text)
            if parsed is not None:
                real, run, hook, row = parsed
                yield key, text, real, (run, hook, row)

    def event(self, item: Any, log: str) -> tuple[HookRan, float]:
        nth, hook, row = item  # the nth run of the log's content: this engine may number it on from older ones
        run = self.engine.content_run(log, nth)
        return hook_event(nth if run is None else run, hook, row), float(row.get("at") or 0.0)


def _row(key: str, text: str) -> Optional[tuple[str, int, str, dict[str, Any]]]:
    """(log, run, hook, result) of one journal row; None for a row this version cannot read."""
    try:
        name, run, hook = json.loads(key)
        row = json.loads(text)
    except (ValueError, TypeError):
        return None
    if not isinstance(row, dict) or not isinstance(run, int) or not isinstance(name, str):
        return None
    return name, run, str(hook), row
