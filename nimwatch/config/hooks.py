"""The ``hooks:`` section, declared once: :class:`HookSpec`, the events a hook reacts to, its placeholders.

Owns the hook keys (types, ranges, defaults, help), the events allowed in ``on`` with the
``pre_migration`` / ``post_migration`` / ``run_succeeded`` / ``run_failed`` shorthands, the
placeholders allowed in ``run``, and the checks between keys: the finding filters need ``finding``
in ``on``, names are unique, the command exists and may be run. Problems read ``file:line: hook
'name': key: message``.

Security rules enforced here (the runner and the manager enforce the rest): ``run`` is an argv
list, never a shell line; ``run[0]`` cannot hold a placeholder, so no log or client name can choose
what runs; running as root, an executable that group or others can write, or that another user
owns, is refused (:mod:`nimwatch.trust`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional

from nimwatch.config.checks import CLIENTS, PHASE, SEVERITIES, Argv, command_problem, env_map
from nimwatch.config.schema import At, Choice, File, Flag, Many, Num, Section, Sections, Text, key, line_of
from nimwatch.event_filter import SHORTHANDS, EventFilter
from nimwatch.vocabulary import FINDING, HOOK_EVENTS

EVENTS = (*HOOK_EVENTS, *SHORTHANDS)
"""Every name allowed in ``on``."""
PLACEHOLDERS = ("client", "phase", "phase_name", "event", "code", "rule", "severity", "log", "line", "outcome",
                "operation")  # fmt: skip
"""Names allowed as ``{name}`` in the elements of ``run`` (filled in one pass, never re-scanned)."""
DEFAULT_TIMEOUT = 60.0
"""Seconds a hook may run before its whole process group is killed."""
DEFAULT_RETRIES = 0
"""A failed hook run is reported and not tried again unless the hook asks for ``retries``
(a timed-out or failed check is usually its own answer, and a retry doubles the wait)."""
DEFAULT_RETRY_DELAY = 5.0
MAX_RETRIES = 10
FINDING_FILTERS = ("severity", "rules", "codes", "benign")
SECONDS = Num(above=0, unit="seconds")
NOT_A_CODE = "{value!r} does not look like NNNN-NNN (e.g. 0505-126); quote it in YAML"
NOT_A_RULE = "{value!r} is not a rule id (lowercase letters, digits, '.', '_', '-')"
CODE = Text("message code", r"^[0-9]{4}-[0-9]{3}$", message=NOT_A_CODE)
RULE = Text("rule id", r"^[a-z0-9][a-z0-9._-]*$", message=NOT_A_RULE)
SHELL = "must be a list of arguments, not a string: nimwatch never uses a shell (e.g. run: [{example}])"


@dataclass(frozen=True)
class HookSpec:
    """A command run when something happens in a migration: a hook."""

    name: str = key(
        Text("non-empty one-line string", r"^[^\n]*\S[^\n]*$", message="must be a non-empty one-line string"),
        required=True,
        help="Unique among the hooks; in results, messages and NIMWATCH_HOOK.",
    )
    on: tuple[str, ...] = key(Many(Choice(EVENTS, "event"), "event"), required=True, help="The events that run it.")
    run: tuple[str, ...] = key(
        Argv(SHELL, PLACEHOLDERS), required=True, help="The command as an argv list; {placeholders} only in arguments."
    )
    phases: frozenset[int] = key(Many(PHASE, "phase number (1-12)", frozenset), frozenset(), help="Only these phases.")
    clients: tuple[str, ...] = key(CLIENTS, (), help="Only clients matching one of these globs.")
    severity: Optional[str] = key(
        Choice(SEVERITIES, message="{value!r} is not a severity: use info, warning or error"),
        None,
        help="Minimum severity of a finding.",
    )
    rules: frozenset[str] = key(Many(RULE, "rule id", frozenset), frozenset(), help="Only findings of these rules.")
    codes: frozenset[str] = key(
        Many(CODE, "message code", frozenset), frozenset(), help='Only findings with these codes (quote: "0505-126").'
    )
    env: Mapping[str, str] = key(env_map("event"), {}, help="Extra environment; NIMWATCH_* names are reserved.")
    cwd: Optional[str] = key(File("directory path", must="dir"), None, help="Working directory.")
    timeout: float = key(SECONDS, DEFAULT_TIMEOUT, help="Seconds before every process of the run is killed.")
    overlap: str = key(
        Choice(("queue", "skip"), message="must be skip or queue, not {value!r}"),
        "queue",
        help="An event while the hook runs: queue it, or skip it.",
    )
    once_per_run: bool = key(Flag(), False, help="Fire at most once for each run of each log.")
    retries: int = key(Num(whole=True, least=0, most=MAX_RETRIES), DEFAULT_RETRIES, help="Attempts after a failed one.")
    retry_delay: float = key(SECONDS, DEFAULT_RETRY_DELAY, help="Seconds before the first retry; doubles after.")
    benign: bool = key(Flag(), False, help="Also run for findings the catalog marks benign.")
    source: str = ""
    """``file:line`` of the hook in its config, for messages."""

    @cached_property
    def filter(self) -> EventFilter:
        """Which notices run it (the filter alert sinks use too)."""
        return EventFilter(
            self.on, self.clients or None, tuple(self.phases), self.severity, True, self.benign,
            tuple(self.rules), tuple(self.codes),
        )  # fmt: skip


def _check_hook(values: dict[str, Any], at: At) -> None:
    name, raw = values.get("name"), at.raw
    if name is not None and name in at.seen:
        at.child("name").add(f"duplicate hook name (first at line {at.seen[name]})")
    elif name is not None:
        at.seen[name] = raw.line_of("name")
    on = values.get("on", ())
    if on and FINDING.name not in on:
        for found in (k for k in FINDING_FILTERS if k in raw):
            at.child(found).add("only applies to finding events: add 'finding' to on, or drop this filter")
    problem = command_problem(values["run"][0], values.get("env", {})) if "run" in values else None
    if problem:
        at.at(line_of(raw["run"], 0), at.child("run[0]").key).add(problem)
    values["source"] = f"{at.problems.source}:{raw.line}"


def _label(index: int, raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"hook '{name}': " if isinstance(name, str) and name else f"hooks[{index}]."


HOOKS = Sections(Section(HookSpec, _check_hook), "hook", _label)

