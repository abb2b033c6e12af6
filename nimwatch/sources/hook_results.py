"""Hook results kept in the journal by ``watch``, for the views that do not run hooks (``status``, ``tui``).

Owns :func:`keep_hook_result` (the watcher's side: the last result of each
hook per log and nth run of the log's content, one journal row each, handed
over by the hook manager, forgotten with the content it is about:
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
from typing import Any, Optional

from nimwatch.core.events import HookRan
from nimwatch.ticker import LogFollower

log = logging.getLogger(__name__)

TICK = 5.0
"""Seconds between two looks at the journal (hooks run for seconds to minutes)."""
OUTPUT_KEPT = 2000
"""Characters of the hook's output tail kept in the journal."""
RESULT_FIELDS = ("exit_status", "timed_out", "error", "skipped", "attempt", "will_retry", "argv", "duration")


def keep_hook_result(journal: Any, path: str, content: Optional[tuple[int, int]], ran: HookRan, at: float) -> None:
    """Keep a hook's result in the journal (the hook manager's keeper); a problem is logged.

    ``content`` is (generation, nth run) of the log's content the triggering event was about, taken
    from its journal key when it was queued (kept with the job across restarts): a watcher that saw
    the log begun anew numbers its runs on from the old content's, a view reading only the new
    content from 1, so the row names the nth run. A result about a content the journal has replaced
    since (a hook that ended after nimadm began the log anew, or ran after a restart that found the log
    replaced) is not kept, nor one without a position (an event before the log had any content).
    """
    if content is None or ran.run is None:
        return
    generation, nth = content
    row = {"at": at, "client": ran.client, "phase": ran.phase, "trigger": ran.trigger, "on": ran.on}
    row.update({k: getattr(ran, k) for k in RESULT_FIELDS}, output_tail=ran.output_tail[-OUTPUT_KEPT:])
    row.update(trigger_fields=dict(ran.trigger_fields))
    try:
        if not journal.keep_hook_result(path, nth, ran.hook, row, generation):
            log.info("%s: the result of hook %s is about a replaced content: not kept", path, ran.hook)
    except Exception as exc:  # the journal's trouble must not stop the hook worker that reports
        log.warning("could not keep the result of hook %s in the journal: %s", ran.hook, exc)


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
