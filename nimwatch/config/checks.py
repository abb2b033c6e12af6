"""What several config sections check alike, and what a pattern cannot express.

Owns :func:`bad_glob` (a client glob that fnmatch would take but that matches nothing meant),
:func:`template_problem` (``{name}`` templates over alert fields),
:func:`url_problem`, :func:`command_problem` (the command of a hook or a command sink), and the
kinds and names sections share: :data:`SEVERITIES` (the core's), :data:`PHASE`, :func:`env_map`.
Each check returns what is wrong, or None.
"""

from __future__ import annotations

import dataclasses
import os
import re
import string
from collections.abc import Mapping
from typing import Optional
from urllib.parse import urlsplit

from nimwatch.config.schema import Many, Map, Num, Text
from nimwatch.core.events import Severity
from nimwatch.core.validation import did_you_mean, glob_problem, glob_suggestion
from nimwatch.trust import executable_problem, hook_path, resolve_executable

SEVERITIES = tuple(s.value for s in Severity)
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
RESERVED_ENV = "^NIMWATCH_"
"""``NIMWATCH_*`` variables describe the event to a hook or a command sink: the config cannot set them."""
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


def reserved_env(name: str, what: str) -> Optional[str]:
    return f"NIMWATCH_* variables describe the {what} and cannot be set here" if re.match(RESERVED_ENV, name) else None


def env_map(what: str, scalars: bool = False) -> Map:
    """``env:`` of a hook or a command sink: names that are not NIMWATCH_*, string values."""
    name = Text(
        pattern=ENV_NAME,
        message="not a valid environment variable name",
        check=lambda n: reserved_env(n, what),
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
