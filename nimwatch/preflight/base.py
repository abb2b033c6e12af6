"""What a check is: an id, a title, when it applies, and a function from the probe to a verdict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nimwatch.aix.runner import CommandResult
from nimwatch.preflight.model import Request, Status
from nimwatch.preflight.probe import Probe


@dataclass
class Verdict:
    status: Status
    summary: str
    evidence: list[str] = field(default_factory=list)
    fix: str = ""


def passed(summary: str, *evidence: str) -> Verdict:
    return Verdict(Status.PASS, summary, [e for e in evidence if e])


def failed(summary: str, fix: str, *evidence: str) -> Verdict:
    return Verdict(Status.FAIL, summary, [e for e in evidence if e], fix)


def unknown(summary: str, fix: str, *evidence: str) -> Verdict:
    return Verdict(Status.UNKNOWN, summary, [e for e in evidence if e], fix)


def could_not_run(result: CommandResult, what: str) -> Verdict:
    """The command behind a check gave no usable answer: say which and how to look by hand."""
    where = f" on {result.host}" if result.host else ""
    if result.error.startswith("not run: "):
        return unknown(f"not checked ({what}): {result.error[len('not run: ') :]}", "")
    return unknown(
        f"could not check {what}",
        f"run `{' '.join(result.argv)}`{where} by hand once the cause is fixed",
        result.why_not(),
    )


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    run: Callable[[Probe], Verdict]
    applies: Callable[[Request], bool] = lambda request: True
