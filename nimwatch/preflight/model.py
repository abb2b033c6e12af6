"""The vocabulary of a pre-flight: what was asked, each check's verdict, and the exit code they add up to."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Optional

from nimwatch.errors import ExitCode


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    """The check could not run or its answer could not be read."""


@dataclass(frozen=True)
class Request:
    """What nimadm is about to be asked to do (the preflight's arguments)."""

    client: str
    spot: str
    lpp_source: str
    disks: tuple[str, ...]
    cache_vg: Optional[str] = None
    """``-j VG`` (local disk caching on the master); None for NFS mode."""


@dataclass
class CheckResult:
    """One check's verdict."""

    id: str
    title: str
    status: Status
    summary: str
    evidence: list[str] = field(default_factory=list)
    """Lines of command output (or the error) the verdict rests on."""
    fix: str = ""
    """What to do when the check did not pass."""
    commands: list[str] = field(default_factory=list)
    """The commands consulted, as an admin would type them."""

    def as_json(self) -> dict[str, Any]:
        """Every field, in order (the status as its value)."""
        return {**asdict(self), "status": self.status.value}


def exit_code(results: list[CheckResult]) -> ExitCode:
    """0 all passed; 1 a check failed (even if others could not run); 3 none failed but one could not run."""
    statuses = {r.status for r in results}
    if Status.FAIL in statuses:
        return ExitCode.FAILED
    if Status.UNKNOWN in statuses:
        return ExitCode.INCOMPLETE
    return ExitCode.OK
