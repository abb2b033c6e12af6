"""Which notices a hook takes, and what a hook run receives.

Owns the matching of a notice against a hook's ``on`` list and filters
(:func:`matched_event`), the once-store key (:func:`once_key`), what the
command gets (its argv with placeholders filled in one pass, the
``NIMWATCH_*`` environment, the event as JSON on stdin) and the JSON a queued
run is kept as in the journal. Nothing from a notice is executed or
interpreted: a value holding ``{phase}`` or ``$(...)`` stays as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from nimwatch.config.checks import PLACEHOLDER_RE
from nimwatch.config.hooks import PLACEHOLDERS, HookSpec
from nimwatch.process.runner import base_env
from nimwatch.vocabulary import EventKey, Notice

# --------------------------------------------------------------------------- matching


def matched_event(hook: HookSpec, notice: Notice) -> Optional[str]:
    """The ``on`` entry of ``hook`` that ``notice`` satisfies (the most specific), or None.

    Filters (:class:`~nimwatch.event_filter.EventFilter`): ``phases`` (a notice
    without a phase never passes), ``clients`` (fnmatch, case-sensitive), and
    for findings only ``severity`` (minimum), ``rules``, ``codes`` and ``benign``.
    """
    return hook.filter.match(notice) if notice.kind.hook else None  # (hooks take few kinds)


def once_key(hook: HookSpec, notice: Notice, event_key: Optional[str] = None) -> str:
    """The once-store key: stable for one event of one log (or one run, with ``once_per_run``).

    ``event_key`` is the watcher's journal key of the event (log, file identity and
    generation, run within that content, event, phase, line, rule, occurrence); it
    stays right when a log is truncated and its runs are numbered anew.
    """
    if isinstance(event_key, EventKey) and hook.once_per_run:
        return json.dumps(["run", hook.name, *event_key.run_part])
    if event_key is not None and not hook.once_per_run:
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
    return "" if value is None else str(value).replace("\0", "")


def placeholder_values(notice: Notice) -> dict[str, str]:
    """The value of each ``run`` placeholder for ``notice``: its attribute, else its field (empty when neither)."""
    attributes = ("client", "phase", "phase_name", "event", "log")
    return {name: _text(getattr(notice, name) if name in attributes else notice.get(name)) for name in PLACEHOLDERS}


def fill_argv(run: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Replace ``{name}`` by its value in each element, in one pass: inserted text is never re-read."""

    def one(match: Any) -> str:
        return values.get(match.group(1), str(match.group(0)))

    return [PLACEHOLDER_RE.sub(one, arg) for arg in run]


def hook_env(hook: HookSpec, notice: Notice, matched: str) -> dict[str, str]:
    """The whole environment of one hook run: base, the hook's ``env``, then the NIMWATCH_* variables.

    Every ``run`` placeholder is also ``NIMWATCH_<NAME>`` (``{phase_name}``: ``NIMWATCH_PHASE_NAME``).
    """
    return {
        **base_env(),
        **hook.env,
        **{f"NIMWATCH_{name.upper()}": value for name, value in placeholder_values(notice).items()},
        "NIMWATCH_ON": matched,
        "NIMWATCH_HOOK": hook.name,
        "NIMWATCH_RUN": _text(notice.run),
        "NIMWATCH_STATUS": _text(notice.get("status")),
        "NIMWATCH_MESSAGE": notice.summary().replace("\0", ""),
        "NIMWATCH_TEXT": _text(notice.get("text")),
    }


def event_json(notice: Notice) -> bytes:
    """The event as one JSON line for the hook's stdin (ASCII-escaped, so always valid)."""
    return (json.dumps(notice.as_json(), ensure_ascii=True, default=str) + "\n").encode("ascii")


# --------------------------------------------------------------------------- kept in the journal


def notice_record(notice: Notice, content: Optional[tuple[int, int]] = None) -> str:
    """A notice as JSON, to keep a queued run in the journal (with the position of its run in its log's content)."""
    return json.dumps(
        {
            "content": content,
            "event": notice.event,
            "ts": notice.ts,
            "log": notice.log,
            "client": notice.client,
            "run": notice.run,
            "phase": notice.phase,
            "phase_name": notice.phase_name,
            "fields": dict(notice.fields),
        },
        ensure_ascii=True,
        default=str,
    )


def content_from_record(text: str) -> Optional[tuple[int, int]]:
    """The (generation, nth run) kept with a queued run; None for a run kept by an older nimwatch."""
    found = json.loads(text).get("content")
    return (int(found[0]), int(found[1])) if isinstance(found, list) and len(found) == 2 else None


def notice_from_record(text: str) -> Notice:
    data = json.loads(text)
    attributes = {name: data[name] for name in ("log", "client", "run", "phase", "phase_name")}
    return Notice(data["event"], float(data["ts"]), **attributes, fields=data.get("fields") or {})
