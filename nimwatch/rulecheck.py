"""Checking failure signatures against their own examples, through the real parser.

Owns :func:`check_signatures`: every signature's example lines must produce a
finding of that signature when they arrive in a phase where it applies, and
none of its near misses may. This catches a wrong pattern, a wrong phase
scope, a signature shadowed by an earlier one (catalog order: first match
wins) and a trigger the scanner cannot find. Used by ``nimwatch check-rules``
and by the catalog's own tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nimwatch.core.events import Finding
from nimwatch.core.reader import LogReader
from nimwatch.core.rules import RuleSet, Signature
from nimwatch.core.scanset import ScannerSet, build_scanner

RULE = "+" + "-" * 77 + "+"


@dataclass(frozen=True)
class Problem:
    rule: str
    origin: str
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: signature '{self.rule}': {self.message}"


def phase_for(sig: Signature) -> int:
    """The phase an example is tried in: the signature's first, else phase 6."""
    return min(sig.phases) if sig.phases else 6


def findings_for(rules: RuleSet, line: str, phase: int, scanner: ScannerSet) -> list[tuple[str, str, int]]:
    """``(rule, text, phase)`` of every finding ``line`` gives when it arrives in ``phase`` (``scanner``:
    the scanners of ``rules``, shared by the calls of one check)."""
    text = "Initializing the NIM master.\nStarting Alternate Disk Migration.\n"
    if phase:
        text += f"{RULE}\nExecuting nimadm phase {phase}.\n{RULE}\n"
    text += "An ordinary line.\n" + line + "\n"
    events = LogReader(rules, "check", scanner).feed(text.encode("utf-8"))
    return [(e.rule, e.text, e.phase) for e in events if isinstance(e, Finding)]


def check_signatures(rules: RuleSet, signatures: Iterable[Signature]) -> list[Problem]:
    """The problems of ``signatures`` (from ``rules``) with their examples and near misses."""
    problems: list[Problem] = []
    scanner = build_scanner(rules)
    for sig in signatures:
        phase = phase_for(sig)
        for example in sig.examples:
            found = [f for f in findings_for(rules, example, phase, scanner) if f[1] == example.strip()]
            if not found:
                problems.append(Problem(sig.id, sig.origin, f"example gives no finding in phase {phase}: {example!r}"))
            elif found[0][0] != sig.id:
                message = f"example is taken by the earlier signature '{found[0][0]}': {example!r}"
                problems.append(Problem(sig.id, sig.origin, message))
        for near in sig.near_misses:
            if any(f[0] == sig.id for f in findings_for(rules, near, phase, scanner)):
                problems.append(Problem(sig.id, sig.origin, f"near miss matches: {near!r}"))
    return problems
