"""Parsers of NIM output: ``lsnim -l``, ``lsnim -Z`` state records, ``/etc/niminfo``, NIM error numbers.

Formats (``nim_commands.md`` section 3): ``lsnim -l`` prints an ``name:`` line
and then indented ``attr = value`` lines (``=`` aligned per object, so split
on the first ``=``); ``lsnim -Z -a Cstate -a info -a Cstate_result`` prints a
``#name:Cstate:info:Cstate_result:`` header and one record per object that
ends with ``:``, where ``info`` may be empty or itself hold ``:`` (split from
both ends). ``/etc/niminfo`` is ``export KEY=value`` lines, values possibly
quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from nimwatch.aix.parse_common import lines

NIM_NO_OBJECT = "0042-053"
"""``lsnim: there is no NIM object named ...``"""
READY = "ready for a NIM operation"
"""The Cstate of a client that no NIM operation holds."""
RESOURCE_READY = "ready for use"
"""The Rstate of a usable NIM resource."""

_OBJECT = re.compile(r"^(\S+):$")
_ATTR = re.compile(r"^\s+(\S+)\s*=\s?(.*)$")
_NIM_ERROR = re.compile(r"\b(0042-\d{3})\b")


@dataclass
class NimObject:
    """One object of ``lsnim -l``: its attributes (first value) and every value of repeated ones."""

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    multi: dict[str, list[str]] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)
    """Attribute -> the line it was read from (evidence)."""

    def get(self, attr: str, default: str = "") -> str:
        return self.attrs.get(attr, default)

    @property
    def host(self) -> str:
        """The client's host name: field 2 of ``if1`` (``<network> <host> <mac or 0> [<adapter>]``)."""
        parts = self.get("if1").split()
        return parts[1] if len(parts) >= 2 else ""


def parse_lsnim_l(text: str) -> dict[str, NimObject]:
    """``lsnim -l [name...]`` -> name -> object."""
    objects: dict[str, NimObject] = {}
    current: Optional[NimObject] = None
    for line in lines(text):
        if not line.strip():
            continue
        match = _OBJECT.match(line)
        if match is not None and not line[0].isspace():
            current = NimObject(match.group(1))
            objects[current.name] = current
            continue
        attr = _ATTR.match(line)
        if attr is None or current is None:
            continue
        key, value = attr.group(1), attr.group(2).strip()
        current.multi.setdefault(key, []).append(value)
        if key not in current.attrs:
            current.attrs[key] = value
            current.lines[key] = f"{key} = {value}"
    return objects


def nim_error(text: str) -> Optional[str]:
    """The first NIM message number (``0042-NNN``) in ``text``."""
    match = _NIM_ERROR.search(text)
    return match.group(1) if match else None


@dataclass(frozen=True)
class NimState:
    """One record of ``lsnim -Z -a Cstate -a info -a Cstate_result``."""

    name: str
    cstate: str
    info: str
    result: str


def parse_lsnim_z(text: str) -> dict[str, NimState]:
    """``lsnim -Z -a Cstate -a info -a Cstate_result [name...]`` -> name -> state.

    The header names the columns; ``info`` is whatever lies between Cstate and
    the last field, so a ``:`` inside it does not shift Cstate_result.
    """
    out: dict[str, NimState] = {}
    for line in lines(text):
        if not line or line.startswith("#"):
            continue
        record = line[:-1] if line.endswith(":") else line
        parts = record.split(":", 2)
        if len(parts) < 3:
            continue
        name, cstate, rest = parts
        info, _, result = rest.rpartition(":")
        out[name] = NimState(name.strip(), cstate.strip(), info.strip(), result.strip())
    return out


def parse_niminfo(text: str) -> dict[str, str]:
    """``/etc/niminfo`` -> KEY -> value (``export`` and quotes removed; comments skipped)."""
    out: dict[str, str] = {}
    for line in lines(text):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").strip().partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key] = value
    return out
