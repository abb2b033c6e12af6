"""Parsers of system output: ``lslpp -lc``/``-Lc``, ``installp -L``, ``oslevel``, ``prtconf``, ``lssrc``, ``ps``.

Formats (``nim_commands.md`` section 3): ``lslpp -lc`` data lines are
``path:fileset:level:PTF:state:type:description:efix`` (the ``#`` header names
one field fewer); ``lslpp -Lc`` has 18 fields, the fileset second, the level
third, the state letter sixth; ``nim -o showres -a installp_flags=L`` prints
``package:fileset:level:...`` (``installp -L``). ``lssrc`` rows are
``Subsystem Group PID Status`` where an inoperative subsystem has no PID (and
some have no group), so fields are read from both ends. In ``lssrc -ls inetd``
other lines also end in ``active``: services are matched by their first word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from nimwatch.aix.levels import FilesetLevel, OsLevel
from nimwatch.aix.parse_common import lines, squeeze

NOT_ON_FILE = "0513-085"
"""``lssrc``: the subsystem is not defined (``is not on file``)."""
_MESSAGE = re.compile(r"^\d{4}-\d{3}$")
_POWER = re.compile(r"Processor Type:\s*PowerPC_POWER(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Fileset:
    """A fileset line of ``lslpp -lc``, ``lslpp -Lc`` or ``installp -L``."""

    name: str
    level: Optional[FilesetLevel]
    raw_level: str
    state: str
    where: str
    """The ODM path (``lslpp -lc``) or the package name (``-Lc``, ``installp -L``)."""
    line: str


def _fields(text: str, minimum: int) -> list[tuple[list[str], str]]:
    return [
        (line.split(":"), line.strip())
        for line in lines(text)
        if line.strip() and not line.lstrip().startswith("#") and line.count(":") >= minimum - 1
    ]


def parse_lslpp_lc(text: str) -> list[Fileset]:
    """``lslpp -lc`` (path:fileset:level:PTF:state:type:description[:efix])."""
    return [
        Fileset(f[1].strip(), FilesetLevel.parse(f[2]), f[2].strip(), f[4].strip(), f[0].strip(), line)
        for f, line in _fields(text, 7)
    ]


def parse_lslpp_Lc(text: str) -> list[Fileset]:
    """``lslpp -Lc`` (package:fileset:level:...:state letter in field 6:type in field 7:...)."""
    return [
        Fileset(f[1].strip(), FilesetLevel.parse(f[2]), f[2].strip(), f[5].strip(), f[0].strip(), line)
        for f, line in _fields(text, 7)
    ]


def parse_installp_L(text: str) -> list[Fileset]:
    """``installp -L`` / ``nim -o showres -a installp_flags=L`` (package:fileset:level:...).

    Lines whose third field is not a ``V.R.M.F`` level (a heading, RPM
    packages) are left out.
    """
    return [
        Fileset(f[1].strip(), level, f[2].strip(), "", f[0].strip(), line)
        for f, line in _fields(text, 3)
        if (level := FilesetLevel.parse(f[2])) is not None
    ]


def find_fileset(filesets: list[Fileset], name: str) -> list[Fileset]:
    """Every line of ``name`` (``lslpp -lc`` has one per ODM path)."""
    return [f for f in filesets if f.name == name]


def parse_oslevel(text: str) -> Optional[OsLevel]:
    """``oslevel -s`` / ``oslevel -r`` -> the level (the first line that is one)."""
    return next((level for level in map(OsLevel.parse, lines(text)) if level is not None), None)


def parse_power_generation(text: str) -> tuple[Optional[int], str]:
    """``prtconf`` -> (POWER generation from ``Processor Type: PowerPC_POWERn``, that line)."""
    for line in lines(text):
        match = _POWER.search(line)
        if match:
            return int(match.group(1)), squeeze(line)
    return None, ""


@dataclass(frozen=True)
class Subsystem:
    """One ``lssrc`` row."""

    name: str
    group: str
    pid: Optional[int]
    status: str
    line: str


def parse_lssrc(text: str) -> dict[str, Subsystem]:
    """``lssrc -s X`` / ``-g G`` / ``-a`` -> subsystem -> row (header skipped; PID may be missing)."""
    out: dict[str, Subsystem] = {}
    for line in lines(text):
        tokens = line.split()
        if len(tokens) < 2 or tokens[0] == "Subsystem" or _MESSAGE.match(tokens[0]):
            continue
        name, status, middle = tokens[0], tokens[-1], tokens[1:-1]
        pid: Optional[int] = None
        if middle and middle[-1].isdigit():
            pid = int(middle.pop())
        group = middle[0] if middle else ""
        out[name] = Subsystem(name, group, pid, status, squeeze(line))
    return out


def parse_inetd_services(text: str) -> dict[str, tuple[str, str]]:
    """``lssrc -ls inetd`` -> subserver -> (status, line), for lines whose status is the last word."""
    out: dict[str, tuple[str, str]] = {}
    for line in lines(text):
        tokens = line.split()
        if len(tokens) >= 3 and tokens[-1] in ("active", "inactive") and tokens[0] not in out:
            out[tokens[0]] = (tokens[-1], squeeze(line))
    return out


@dataclass(frozen=True)
class Process:
    pid: int
    args: str


def parse_ps(text: str) -> list[Process]:
    """``ps -e -o pid,args`` -> processes (the header, if any, skipped)."""
    rows = (line.strip().split(None, 1) for line in lines(text))
    return [Process(int(row[0]), row[1]) for row in rows if len(row) == 2 and row[0].isdigit()]


def parse_hostname(text: str) -> str:
    return next((line.strip() for line in lines(text) if line.strip()), "")
