"""What several config sections check alike, and what a pattern cannot express.

Owns :func:`bad_glob` (a client glob that fnmatch would take but that matches nothing meant),
:func:`template_problem` (``{name}`` templates over alert fields),
:func:`url_problem`, :class:`Argv` and :func:`command_problem` (the command of a hook or a command sink), the
kinds and names sections share: :data:`SEVERITIES` (the core's), :data:`PHASE`, :func:`env_map`.
Each check returns what is wrong, or None.
"""

from __future__ import annotations

import dataclasses
import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

from nimwatch.config.schema import BAD, At, Kind, Many, Map, Num, Text, line_of, not_text
from nimwatch.core.events import Severity
from nimwatch.core.validation import did_you_mean, glob_problem, glob_suggestion, type_name
from nimwatch.trust import executable_problem, hook_path, resolve_executable

SEVERITIES = tuple(s.value for s in Severity)
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
RESERVED_ENV = "^NIMWATCH_"
"""``NIMWATCH_*`` variables describe the event to a hook or a command sink: the config cannot set them."""
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""What counts as a placeholder in an argv: ``{identifier}``; other braces (``awk '{print $1}'``) are literal text."""
PHASE = Num(whole=True, least=1, most=12, message="{value!r} is not a phase number (1-12)")
ENV_VALUE = Text("string", pattern=r"^[^\x00]*$", empty=True, message="cannot hold a NUL character")


def bad_glob(pattern: str) -> Optional[str]:
    """:func:`glob_problem` as said in a config problem, with the nearest valid glob."""
    problem = glob_problem(pattern)
    if problem is None:
        return None
    suggestion = glob_suggestion(pattern)
    return f"bad glob {problem}" + (f" (did you mean '{suggestion}'?)" if suggestion else "")


TEMPLATE_FIELDS = ("id", "event", "client", "log", "run", "phase", "phase_name", "rule", "code", "severity", "line",
                   "outcome", "summary")
"""Names allowed as ``{name}`` in an alert's ``dedupe_key`` and an email ``subject``."""


def template_problem(text: str) -> Optional[str]:
    """Why ``text`` is not a usable template over :data:`TEMPLATE_FIELDS`, or None."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"not a valid template: {exc}"
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            fields = ", ".join(TEMPLATE_FIELDS)
            return f"unknown field {{{name}}}" + did_you_mean(name, TEMPLATE_FIELDS) + f"; fields: {fields}"
        if spec or conv:
            return f"{{{name}}}: format specs and conversions are not supported"
    return None


def url_problem(url: str) -> Optional[str]:
    try:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            return None
    except ValueError:
        pass
    return "must be an http:// or https:// URL with a host"


def env_map(what: str, scalars: bool = False) -> Map:
    """``env:`` of a hook or a command sink: names that are not NIMWATCH_*, string values."""
    reserved = f"NIMWATCH_* variables describe the {what} and cannot be set here"
    name = Text(
        pattern=ENV_NAME,
        message="not a valid environment variable name",
        check=lambda n: reserved if re.match(RESERVED_ENV, n) else None,
        extra={"not": {"pattern": RESERVED_ENV}},
    )
    return Map(name, dataclasses.replace(ENV_VALUE, scalars=True) if scalars else ENV_VALUE, "variable names to values")


def command_problem(command: str, env: Mapping[str, str], missing_ok: bool = False) -> Optional[str]:
    """Why the command of a hook or a command sink may not run (not found, not executable, not trusted)."""
    resolved = resolve_executable(command, hook_path(env))
    if resolved is None or (missing_ok and not os.path.exists(resolved)):
        return None if missing_ok else f"'{command}' is not found in PATH ({hook_path(env)})"
    return executable_problem(resolved)


CLIENTS = Many(Text("client glob", check=bad_glob), "client glob")
TEMPLATE = Text(check=template_problem)


@dataclass(frozen=True)
class Argv(Kind):
    """A command as an argv list, never a shell line; ``run[0]`` with a '/' is relative to the config."""

    shell: str  # said when a string is given
    placeholders: tuple[str, ...] = ()  # names allowed as {name} in the arguments, never in the command
    scalars: bool = False

    def read(self, value: Any, at: At) -> Any:
        if isinstance(value, str):
            return self.fail(at, self.shell.format(example=", ".join(value.split()[:2]) or "/path/to/script"), value)
        if not isinstance(value, list) or not value:
            return self.fail(at, f"must be a non-empty list of arguments, not {type_name(value)}", value)
        count, argv = at.count, []
        for i, arg in enumerate(value):
            where = at.at(line_of(value, i), f"{at.key}[{i}]")
            arg = str(arg) if self.scalars and isinstance(arg, (int, float)) and not isinstance(arg, bool) else arg
            if not isinstance(arg, str):
                where.add(not_text(arg, "string"))
                continue
            names = PLACEHOLDER_RE.findall(arg) if self.placeholders else []
            if i == 0 and not arg:
                where.add("the command is empty")
            elif i == 0 and names:
                where.add("the command cannot hold a placeholder: a log or client name must never choose what runs")
            for name in [n for n in names if n not in self.placeholders] if i else ():
                where.add(f"unknown placeholder {{{name}}}" + did_you_mean(name, self.placeholders))
            argv.append(os.path.normpath(at.base / arg) if i == 0 and "/" in arg else arg)
        return tuple(argv) if at.count == count else BAD

    def json(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "items": {"type": ["string", "number"] if self.scalars else "string"}}
