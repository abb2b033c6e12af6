"""The scanners of a rule set, one per parser situation, built lazily and shared by every log.

Owns :class:`ScannerSet` and :func:`build_scanner`: which rules can matter in
each situation (before phase 1, in phase N, or all of them to split pasted
lines) compiled into a text :class:`~nimwatch.core.scanner.Scanner` (which
rule items to try on a line), a byte-level
:class:`~nimwatch.core.bytescan.ByteScanner` (which lines of a block of bytes
to look at) and the phase's progress counters. Building costs milliseconds per
situation, so one set serves every log of a process (``report`` over 200 logs,
``watch``), each situation compiled the first time a log reaches it.
"""

from __future__ import annotations

import re
from typing import Optional

from nimwatch.core.anchors import AnchorData
from nimwatch.core.bytescan import ByteScannerSet
from nimwatch.core.progress import CompiledCounter, compile_counter
from nimwatch.core.rules import RuleSet
from nimwatch.core.scanner import Item, LiteralIndex, Scanner

SPLITTER = -1
"""The scanner key holding every rule: used to find where lines begin in pasted text."""


class ScannerSet:
    """One scanner per parser situation, so that a block is only scanned for what can matter.

    Before a run has a phase (key 0) every rule is scanned for, phase markers
    included (they place a log that starts mid-run). Inside phase N only the
    structural lines, facts, variants, the signatures that apply in phase N and
    message numbers can change anything. Progress counters are not scanned for
    line by line: they are counted over each stretch of a block that belongs
    to one phase (:meth:`counters`). The choice depends only on the parser's
    state, so results never depend on chunking.

    ``anchors`` is the byte scan's measured data (``phases/anchors.yaml``; by default
    the ones the rules carry); without any the byte scan estimates its anchors
    (exact, slower).
    """

    def __init__(self, rules: RuleSet, anchors: Optional[AnchorData] = None) -> None:
        self.rules = rules
        self._scanners: dict[int, Scanner] = {}
        self._counters: dict[int, list[CompiledCounter]] = {}
        self.bytes = ByteScannerSet(self.for_phase, rules.anchors if anchors is None else anchors)
        """The byte-level candidate scan of each situation (built lazily on top of :meth:`for_phase`)."""

    def for_phase(self, phase: int) -> Scanner:
        scanner = self._scanners.get(phase)
        if scanner is None:
            # Every rule is in the splitter: its literal index serves every situation.
            index = None if phase == SPLITTER else self.for_phase(SPLITTER).index
            scanner = self._scanners[phase] = _build_scanner(self.rules, phase, index)
        return scanner

    def counters(self, phase: int) -> list[CompiledCounter]:
        """Phase ``phase``'s progress counters, compiled to count in whole blocks (pasted lines too)."""
        if phase not in self._counters:
            counters = self.rules.model.phase(phase).counters if 1 <= phase <= 12 else ()
            self._counters[phase] = [compile_counter(counter) for counter in counters]
        return self._counters[phase]


build_scanner = ScannerSet
"""The scanners for a rule set (built lazily, one per situation, shared by every log)."""


_INSTALLP_KEYS = (
    "invocation",
    "failures",
    "already_installed",
    "failed_verification",
    "total",
    "preinstall",
    "summary",
    "builddate_failure",
    "bosboot_failure",
)


def _build_scanner(rules: RuleSet, phase: int, index: Optional[LiteralIndex]) -> Scanner:
    model = rules.model
    lines = model.lines
    items: list[Item] = []

    def add(kind: str, pattern: re.Pattern[str], payload: object = None, literal: Optional[str] = None) -> None:
        items.append(Item(len(items), kind, pattern, payload, literal))

    add("banner", lines.banner)
    for pat in lines.run_start:
        add("run_start", pat)
    add("cleanup_master", lines.cleanup_master)
    add("cleanup_client", lines.cleanup_client)
    add("no_script", lines.no_script)
    add("script_start", lines.script_start)
    add("script_end", lines.script_end)
    add("review", lines.review)
    if model.installp is not None and phase != 0:
        for key in _INSTALLP_KEYS:
            add("installp", getattr(model.installp, key), key)
    for fact in model.facts:
        if not fact.phases or phase in fact.phases or phase == SPLITTER:
            add("fact", fact.pattern, fact)
    for variant in model.variants:
        for pat in variant.detect:
            add("variant", pat, variant.id)
    if phase <= 0:
        for pat in lines.line_starts:
            add("line_start", pat)
        for spec in model.phases:
            for pat in spec.markers:
                add("marker", pat, spec.number)
    for sig in rules.signatures:
        if sig.applies_in(phase) or phase == SPLITTER:
            add("signature", sig.pattern, sig, sig.trigger)
    code = Item(len(items), "code", lines.message_code)
    return Scanner([*items, code], code_item=code, index=index)
