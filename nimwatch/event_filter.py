"""Which notices an alert sink or a hook takes: the one filter both use.

Owns :class:`EventFilter` and the hooks' shorthand event names
(:data:`SHORTHANDS`). A sink's ``events``/``severity``/``clients``/``benign``
and a hook's ``on``/``phases``/``clients``/``severity``/``rules``/``codes``/
``benign`` are the same filter on the typed notices of
:mod:`nimwatch.vocabulary`; the only difference, kept as it is documented, is
where the minimum severity applies: to every notice a sink takes, to the
findings only of a hook (a hook on ``run_failed`` with ``severity: error``
still runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Optional

from nimwatch.vocabulary import FINDING, PHASE_FINISHED, PHASE_STARTED, RUN_FINISHED, Notice, rank

SHORTHANDS: dict[str, tuple[str, Optional[int], Optional[str]]] = {
    "run_succeeded": (RUN_FINISHED.name, None, "succeeded"),
    "run_failed": (RUN_FINISHED.name, None, "failed"),
    "pre_migration": (PHASE_STARTED.name, 4, None),
    "post_migration": (PHASE_FINISHED.name, 7, None),
}
"""Shorthand -> (event kind, phase it requires, run outcome it requires).

run_succeeded and run_failed only match migrations: a clean-up (nimadm -C),
wake-up or sleep run that finishes is a ``run_finished`` with its ``operation``.

pre_migration is phase 4 starting (nimadm runs the ``-a`` script there) and
post_migration is phase 7 finishing, whatever its status (the ``-z`` script ran
in it); hooks read ``NIMWATCH_STATUS`` (done or failed) to tell them apart.
"""


def _shorthand_matches(name: str, notice: Notice) -> bool:
    event, phase, outcome = SHORTHANDS[name]
    if notice.event != event or (phase is not None and notice.phase != phase):
        return False
    if outcome is None:
        return True
    # a clean-up that succeeded migrated nothing: run_succeeded / run_failed are migrations only
    return bool(notice.get("outcome") == outcome and notice.get("operation", "migration") == "migration")


@dataclass(frozen=True)
class EventFilter:
    """One sink's or one hook's choice of notices."""

    on: Sequence[str]
    """Event kinds and shorthands; the most specific one a notice satisfies is the one it matched."""
    clients: Optional[Sequence[str]] = None
    """Globs on the client name (case-sensitive); None: every client."""
    phases: Sequence[int] = ()
    """Only notices of these phases (a notice without a phase never passes); empty: any."""
    severity: Optional[str] = None
    """The minimum severity."""
    severity_of_findings_only: bool = False
    """The minimum applies to findings only (hooks), not to every notice (sinks)."""
    benign: bool = False
    """Also take findings the catalog marks benign (else only when their rule is listed in ``rules``)."""
    rules: Sequence[str] = ()
    """Findings of these rules only; empty: any."""
    codes: Sequence[str] = ()
    """Findings with these message numbers only; empty: any."""

    def match(self, notice: Notice) -> Optional[str]:
        """The entry of ``on`` that ``notice`` satisfies (a shorthand before a plain kind), or None."""
        plain = notice.event if notice.event in self.on else None
        matched = next((name for name in self.on if name in SHORTHANDS and _shorthand_matches(name, notice)), plain)
        if matched is None or (self.phases and notice.phase not in self.phases):
            return None
        if self.clients is not None and not any(fnmatchcase(notice.client, glob) for glob in self.clients):
            return None
        finding = notice.kind is FINDING
        if finding and notice.get("benign") and not self.benign and notice.get("rule") not in self.rules:
            return None  # routine lines of a healthy run page nobody and run nothing unless asked for
        held = self.severity is not None and (finding or not self.severity_of_findings_only)
        if held and rank(notice.severity()) < rank(str(self.severity)):
            return None
        if finding and self.rules and notice.get("rule") not in self.rules:
            return None
        if finding and self.codes and notice.get("code") not in self.codes:
            return None
        return matched
