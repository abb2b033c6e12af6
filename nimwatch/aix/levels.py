"""AIX levels: fileset levels (V.R.M.F) and ``oslevel -s`` levels (VVRR-TL-SP-YYWW), and their order.

A fileset level such as ``7.3.2.0`` and an OS level such as
``7300-02-01-2346`` are compared on what they share: version, release and
technology level (for ``bos.rte`` the modification level is the TL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

_VRMF = re.compile(r"^(\d+)\.(\d+)\.(\d+)\.(\d+)$")
_OSLEVEL = re.compile(r"^(\d)(\d)00-(\d{2})(?:-(\d{2})(?:-(\d{4}))?)?$")


@dataclass(frozen=True, order=True)
class FilesetLevel:
    """``V.R.M.F`` of a fileset."""

    version: int
    release: int
    modification: int
    fix: int

    @classmethod
    def parse(cls, text: str) -> Optional[FilesetLevel]:
        match = _VRMF.match(text.strip())
        return cls(*map(int, match.groups())) if match else None

    @property
    def vr(self) -> tuple[int, int]:
        return (self.version, self.release)

    @property
    def vrm(self) -> tuple[int, int, int]:
        return (self.version, self.release, self.modification)

    def __str__(self) -> str:
        return f"{self.version}.{self.release}.{self.modification}.{self.fix}"


@dataclass(frozen=True, order=True)
class OsLevel:
    """What ``oslevel -s`` (``7300-02-01-2346``) or ``oslevel -r`` (``7300-02``) prints."""

    version: int
    release: int
    tl: int
    sp: Optional[int] = None
    build: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> Optional[OsLevel]:
        match = _OSLEVEL.match(text.strip())
        if match is None:
            return None
        v, r, tl, sp, build = match.groups()
        return cls(int(v), int(r), int(tl), int(sp) if sp is not None else None, build)

    @property
    def vr(self) -> tuple[int, int]:
        return (self.version, self.release)

    @property
    def vrtl(self) -> tuple[int, int, int]:
        return (self.version, self.release, self.tl)

    def __str__(self) -> str:
        text = f"{self.version}{self.release}00-{self.tl:02d}"
        if self.sp is not None:
            text += f"-{self.sp:02d}"
            if self.build:
                text += f"-{self.build}"
        return text


def release_name(vr: tuple[int, ...]) -> str:
    """``(7, 3)`` -> ``7.3``; ``(7, 3, 2)`` -> ``7.3 TL2``."""
    text = f"{vr[0]}.{vr[1]}"
    return text + (f" TL{vr[2]}" if len(vr) > 2 else "")
