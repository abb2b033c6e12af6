"""Every pre-flight check in the order they are shown, and :func:`run_checks` that runs the applicable ones."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

from nimwatch.aix.runner import Runner
from nimwatch.aix.text import clean_line
from nimwatch.preflight import checks_client, checks_nim, checks_services
from nimwatch.preflight.base import Check
from nimwatch.preflight.model import CheckResult, Request
from nimwatch.preflight.probe import Probe

ALL_CHECKS: tuple[Check, ...] = (*checks_nim.CHECKS, *checks_client.CHECKS, *checks_services.CHECKS)


def run_checks(
    runner: Runner, request: Request, *, skip: Iterable[str] = (), timeout: Optional[float] = None
) -> list[CheckResult]:
    """Run every check that applies to ``request`` (except ``skip``), each command once, in display order."""
    probe = Probe(runner, request, timeout)
    skipped = set(skip)
    results: list[CheckResult] = []
    for check in ALL_CHECKS:
        if check.id in skipped or not check.applies(request):
            continue
        probe.begin()
        verdict = check.run(probe)
        results.append(
            CheckResult(
                id=check.id,
                title=check.title,
                status=verdict.status,
                summary=clean_line(verdict.summary),
                evidence=[clean_line(e) for e in verdict.evidence],
                fix=clean_line(verdict.fix),
                commands=[clean_line(c) for c in probe.used],
            )
        )
    return results
