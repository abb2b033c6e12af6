"""The failure catalog, entry by entry, through the real parser.

Every signature's examples must produce a finding of that signature when the
line arrives in a phase where it applies, and no near miss may. This checks the
pattern, the phase scoping, the catalog order (no example shadowed by an
earlier signature) and the scanner's literal prefilter together.
"""

from __future__ import annotations

import re

import pytest
from helpers import banner, parse_text

from nimwatch.core.rules import RuleSet, Signature
from nimwatch.rulecheck import check_signatures, phase_for
from nimwatch.rulefiles import builtin_rules_dir, load_rules

CATALOG = load_rules().signatures


def _log_with(line: str, phase: int) -> str:
    head = "Initializing the NIM master.\nStarting Alternate Disk Migration.\n"
    return head + (banner(phase) if phase else "") + "Some ordinary line.\n" + line + "\n"


def test_catalog_size_and_required_families() -> None:
    assert len(CATALOG) >= 40
    codes = {s.code for s in CATALOG if s.code}
    for code in (
        "0505-187",
        "0505-218",
        "0505-158",
        "0505-111",
        "0505-205",
        "0516-404",
        "0516-822",
        "0516-787",
        "0516-788",
        "0503-008",
        "0042-053",
        "0513-029",
        "0513-059",
        "0301-165",
    ):
        assert code in codes, code
    families = {s.pattern.pattern[:4] for s in CATALOG} | {(s.code or "")[:4] for s in CATALOG}
    for family in ("0301", "0505", "1831", "0042", "0511", "0516", "0503"):
        assert family in families, family
    ids = [s.id for s in CATALOG]
    assert len(ids) == len(set(ids))
    for sig in CATALOG:
        assert sig.explanation and sig.advice and sig.source, sig.id
        assert sig.examples and sig.near_misses, sig.id


@pytest.mark.parametrize("sig", CATALOG, ids=[s.id for s in CATALOG])
def test_signature_examples_match_and_near_misses_do_not(rules: RuleSet, sig: Signature) -> None:
    assert [str(p) for p in check_signatures(rules, [sig])] == []
    phase = phase_for(sig)
    for example in sig.examples:
        state = parse_text(rules, _log_with(example, phase))
        (finding,) = [f for run in state.runs for f in run.findings if f.text == example.strip()]
        assert finding.severity is sig.severity
        assert finding.phase == phase
        assert finding.fails_run is sig.fails_run


def test_the_check_catches_a_shadowed_and_a_loose_signature(rules: RuleSet) -> None:
    from dataclasses import replace

    shadowed = replace(rules.signatures[0], id="late-copy", origin="mine.yaml")
    loose = replace(rules.signatures[0], id="loose", near_misses=(rules.signatures[0].examples[0],), origin="mine.yaml")
    with_loose = RuleSet(rules.model, (loose, *rules.signatures))
    problems = [str(p) for p in check_signatures(with_loose, [shadowed, loose])]
    assert any("late-copy" in p and "taken by the earlier signature" in p for p in problems)
    assert any("loose" in p and "near miss matches" in p for p in problems)


def test_alt_lock_line_in_phase_3_is_benign_info(rules: RuleSet) -> None:
    line = "cannot access ./tmp/alt_lock: A file or directory in the path name does not exist."
    state = parse_text(rules, _log_with(line, 3))
    (finding,) = [f for f in state.runs[0].findings]
    assert finding.severity.value == "info" and finding.benign
    assert not finding.fails_run
    assert "benign" in (finding.title + finding.explanation).lower()
    assert state.runs[0].phase(3).status.value != "failed"


def test_stale_alt_lock_that_stops_a_run_is_an_error(rules: RuleSet) -> None:
    stale = rules.signature("alt-lock-stale")
    assert stale is not None and stale.severity.value == "error" and stale.fails_run
    state = parse_text(rules, _log_with(stale.examples[0], 1))
    assert any(f.rule == "alt-lock-stale" for f in state.runs[0].findings)
    assert state.runs[0].phase(1).status.value == "failed"


def test_unknown_message_code_is_a_warning_with_its_line(rules: RuleSet) -> None:
    line = "0599-777 someprog: Something nobody catalogued happened."
    state = parse_text(rules, _log_with(line, 5))
    (finding,) = state.runs[0].findings
    assert finding.rule == "unknown-message-code"
    assert finding.code == "0599-777"
    assert finding.severity.value == "warning"
    assert finding.text == line
    assert finding.line == 7
    assert finding.context[-1] == "Some ordinary line."


def test_copyright_years_and_levels_are_not_message_codes(rules: RuleSet) -> None:
    lines = [
        "   Copyright International Business Machines Corp. 1988-1993.",
        "install_all_updates: Executing /usr/bin/oslevel -rf, Result = 7300-02",
        "        bos.rte.install 7.3.2.0",
        " 5765-G03 (C) Copyright IBM Corp. 2019.",
    ]
    state = parse_text(rules, _log_with("\n".join(lines), 6))
    assert state.runs[0].findings == []


def test_user_signatures_override_and_extend(tmp_path: pytest.TempPathFactory) -> None:
    own = tmp_path / "mine.yaml"  # type: ignore[operator]
    own.write_text(
        "signatures:\n"
        "  - id: site-app-check\n"
        "    pattern: 'APPCHK-\\d+ failed'\n"
        "    severity: error\n"
        "    explanation: Our application check failed.\n"
        "    advice: Call the app team.\n"
        "    examples: ['APPCHK-12 failed']\n"
        "  - id: src-subsystem-started\n"
        "    pattern: '0513-059 The \\S+ Subsystem has been started'\n"
        "    severity: warning\n"
        "    fails_run: false\n"
        "    explanation: We want to see these.\n"
        "    advice: none\n",
        encoding="utf-8",
    )
    merged = load_rules([own])
    ids = [s.id for s in merged.signatures]
    assert ids[:2] == ["site-app-check", "src-subsystem-started"]
    assert ids.count("src-subsystem-started") == 1
    state = parse_text(merged, _log_with("APPCHK-12 failed\n0513-059 The nfsd Subsystem has been started.", 1))
    found = {f.rule: f for f in state.runs[0].findings}
    assert found["site-app-check"].fails_run
    assert found["src-subsystem-started"].severity.value == "warning"


def test_builtin_rules_ship_next_to_the_package() -> None:
    assert (builtin_rules_dir() / "failures.yaml").is_file()
    assert re.search(r"phases|_phases", str(builtin_rules_dir()))
