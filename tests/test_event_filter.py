"""Alert sinks and hooks choose their notices with one filter (nimwatch.event_filter).

The same settings given to a sink (``events``, ``clients``, ``severity``,
``benign``) and to a hook (``on``, ``clients``, ``severity``, ``benign``) take
the same notices, except where the documented difference applies: a hook's
``severity`` holds findings only, a sink's every notice.
"""

from __future__ import annotations

from itertools import product
from typing import Any, Optional

import pytest
from helpers import KeptSink

from nimwatch.config.alerts import SinkSpec
from nimwatch.config.hooks import HookSpec
from nimwatch.event_filter import EventFilter
from nimwatch.hooks.payload import matched_event
from nimwatch.vocabulary import FINDING, PHASE_STARTED, RUN_FINISHED, STALLED, Notice, rank


def _notice(event: str, client: str = "web73", phase: Optional[int] = 6, **fields: Any) -> Notice:
    return Notice(event, 1.0, f"/var/adm/ras/alt_mig/{client}_alt_mig.log", client, 1, phase, None, fields)


NOTICES = [
    _notice(FINDING.name, client=client, severity=severity, benign=benign, rule="r1", code="0503-008")
    for client, severity, benign in product(("web73", "db01"), ("info", "warning", "error"), (False, True))
] + [
    _notice(STALLED.name),
    _notice(PHASE_STARTED.name, phase=4),
    _notice(RUN_FINISHED.name, phase=None, outcome="failed"),
    _notice(RUN_FINISHED.name, phase=None, outcome="succeeded", operation="cleanup"),
]
SETTINGS = list(product((("finding",), ("finding", "stalled", "run_finished")), (("*",), ("web*",)),
                        ("info", "warning", "error"), (False, True)))  # fmt: skip


@pytest.mark.parametrize(("events", "clients", "severity", "benign"), SETTINGS)
def test_a_sink_and_a_hook_with_the_same_settings_take_the_same_notices(
    events: tuple[str, ...], clients: tuple[str, ...], severity: str, benign: bool
) -> None:
    sink = KeptSink(SinkSpec(name="s", type="command", events=events, clients=clients, severity=severity, benign=benign))
    hook = HookSpec(name="h", on=events, run=("/bin/true",), clients=clients, severity=severity, benign=benign)
    assert isinstance(sink.filter, EventFilter) and isinstance(hook.filter, EventFilter)
    for notice in NOTICES:
        by_sink, by_hook = sink.wants(notice), matched_event(hook, notice) is not None
        if notice.kind is FINDING or rank(notice.severity()) >= rank(severity):
            assert by_sink == by_hook, notice
        else:  # a stall or a run's end below the sink's minimum: the hook still runs (its severity is for findings)
            assert by_hook == (notice.event in events and not by_sink), notice


def test_shorthands_match_migrations_only_and_the_most_specific_entry_wins() -> None:
    failed, cleaned = NOTICES[-2], NOTICES[-1]
    both = EventFilter(("run_finished", "run_failed"))
    assert both.match(failed) == "run_failed" and both.match(cleaned) == "run_finished"
    assert EventFilter(("run_succeeded",)).match(cleaned) is None  # a clean-up that succeeded migrated nothing
    assert EventFilter(("pre_migration",)).match(NOTICES[-3]) == "pre_migration"
    assert EventFilter(("pre_migration",)).match(_notice(PHASE_STARTED.name, phase=5)) is None


def test_findings_only_keys_and_phases() -> None:
    finding = _notice(FINDING.name, severity="error", rule="r1", code="0503-008", benign=True)
    assert EventFilter(("finding",)).match(finding) is None, "benign findings are left out by default"
    assert EventFilter(("finding",), rules=("r1",)).match(finding) == "finding", "unless their rule is listed"
    assert EventFilter(("finding",), benign=True, codes=("0505-126",)).match(finding) is None
    assert EventFilter(("finding",), benign=True, phases=(6,)).match(finding) == "finding"
    assert EventFilter(("run_finished",), phases=(6,)).match(NOTICES[-2]) is None, "no phase never passes phases"
