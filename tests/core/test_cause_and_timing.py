"""The dashboard's answers from the core: each run's root finding (the Cause), the reboot verdict in a word,
phase durations, and each phase against the fleet's median (the heatmap)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from helpers import SAMPLE_LOGS

from nimwatch.core.events import Finding, Outcome, PhaseStatus, Severity
from nimwatch.core.rules import RuleSet, build_signatures
from nimwatch.core.state import PhaseState, RunState
from nimwatch.core.timing import FAST, SLOW, VERY_SLOW, heat_rows, phase_seconds, slowness
from nimwatch.core.verdict import REBOOT_WORDS, cause_label, client_verdict, root_finding
from nimwatch.errors import ConfigError
from nimwatch.sources.files import read_log
from nimwatch.yamlfile import load_yaml

EXPECTED_CAUSES = {
    "bbverify12": "0503-497 bosboot verify failed",
    "fail11mb": "0505-218 multibos standby BOS",
    "fail1lvm": "0505-111 target disk too small",
    "fail2cache": "0516-404 VG full: no free PPs",
    "fail3nfs": "1831-011 NFS mount access denied",
    "fail6inst": "installp: requisite failures",
    "fail8boot": "0301-158 mkboot failed",
    "instfail12": "3001-038 sysck: no group printq",
    "reqfail12": "installp: requisite failures",
    "rshrefused": "rsh refused by rshrefused",
    "rshtimeout": "rsh to rshtimeout timed out",
}


def finding(line: int, severity: Severity, rule: str = "r", fails: bool = False, benign: bool = False) -> Finding:
    return Finding(1, 6, line, rule, None, severity, fails, f"text {line}", f"title {line}", "", "", benign=benign)


@pytest.mark.parametrize("client", sorted(EXPECTED_CAUSES))
def test_every_failed_sample_names_its_cause(rules: RuleSet, client: str) -> None:
    state = read_log(SAMPLE_LOGS / f"{client}_alt_mig.log", rules)
    verdict = client_verdict(state.runs)
    run = state.run(verdict.run or 1)
    root = root_finding(run)
    assert verdict.status == "failed" and root is not None
    assert cause_label(root, run, rules) == EXPECTED_CAUSES[client]


def test_root_finding_rules() -> None:
    run = RunState(1, "lpar1", 1)
    run.outcome = Outcome.FAILED
    generic = finding(30, Severity.ERROR, "nimadm-error-coded", fails=True)
    run.findings = [finding(5, Severity.INFO, benign=True), generic, finding(20, Severity.WARNING)]
    assert root_finding(run) is generic  # only a generic one fails the run: it is the cause
    specific = finding(25, Severity.ERROR, "lvm-allocp-no-free-pps", fails=True)
    run.findings.append(specific)
    assert root_finding(run) is specific  # a specific one says why, even after the generic one
    run.findings = [finding(5, Severity.INFO), finding(6, Severity.WARNING), finding(7, Severity.WARNING)]
    assert root_finding(run) is run.findings[1]  # no finding fails it: the first of the worst
    run.outcome = Outcome.SUCCEEDED
    run.findings = [finding(5, Severity.INFO)]
    assert root_finding(run) is None  # a healthy run has no cause
    run.outcome = Outcome.RUNNING
    run.findings = [finding(5, Severity.WARNING), finding(9, Severity.WARNING), finding(12, Severity.INFO)]
    assert root_finding(run) is run.findings[1]  # a running run: its latest warning


def test_short_titles_fill_what_the_log_told_and_leave_out_the_rest(rules: RuleSet) -> None:
    sig = next(s for s in rules.signatures if s.id == "lvm-allocp-no-free-pps")
    custom = replace(sig, short="cache VG <cachevg> full")
    rules_with = RuleSet(rules.model, (custom, *(s for s in rules.signatures if s.id != sig.id)))
    found = replace(finding(10, Severity.ERROR, sig.id, fails=True), code="0516-404")
    run = RunState(1, "lpar1", 1)
    run.facts["cache_vg"] = "nimvg"
    assert cause_label(found, run, rules_with) == "0516-404 cache VG nimvg full"
    assert cause_label(found, RunState(1, "lpar1", 1), rules_with) == "0516-404 cache VG full"
    unknown_rule = replace(found, rule="not-in-the-catalog", title="A title")
    assert cause_label(unknown_rule, run, rules_with) == "0516-404 A title"


def test_short_must_be_text_in_a_catalog(tmp_path: Path) -> None:
    entry = "signatures:\n  - id: x-one\n    pattern: XONE\n    severity: error\n    explanation: e\n    advice: a\n"
    good = tmp_path / "good.yaml"
    good.write_text(entry + "    short: x one\n")
    assert build_signatures(load_yaml(good), str(good))[0].short == "x one"
    bad = tmp_path / "bad.yaml"
    bad.write_text(entry + "    short: [not, text]\n")
    with pytest.raises(ConfigError, match="short: must be a string"):
        build_signatures(load_yaml(bad), str(bad))


EXPECTED_REBOOT = {
    "aixlpar53": "ready",  # succeeded, the bootlist names the migrated disk
    "running01": "wait",
    "fail2cache": "do not",  # failed early: the client still boots its old disk
    "bbverify12": "reset bootlist",  # failed in phase 6 with the bootlist already on the new disk
    "cleanup03": "-",  # a clean-up only: nothing to reboot into
}


@pytest.mark.parametrize("client", sorted(EXPECTED_REBOOT))
def test_reboot_words(rules: RuleSet, client: str) -> None:
    state = read_log(SAMPLE_LOGS / f"{client}_alt_mig.log", rules)
    reboot = client_verdict(state.runs).reboot
    assert reboot.word == EXPECTED_REBOOT[client] == REBOOT_WORDS[reboot.verdict]
    assert set(REBOOT_WORDS) >= {"safe", "wait", "do_not_reboot", "check_bootlist", "reset_bootlist"}


def timed_run(durations: dict[int, float], running: int = 0, start: float = 0.0) -> RunState:
    run = RunState(1, "c", 1)
    t = start
    for ps in run.phases:
        if ps.number in durations:
            ps.status, ps.started_at, ps.finished_at = PhaseStatus.DONE, t, t + durations[ps.number]
            t += durations[ps.number]
        elif ps.number == running:
            ps.status, ps.started_at = PhaseStatus.RUNNING, t
    run.current_phase = running
    run.started_at = start
    return run


def test_phase_times() -> None:
    run = timed_run({1: 100.0, 2: 50.0}, running=3)
    assert phase_seconds(run.phase(1), 1000.0) == 100.0
    assert phase_seconds(run.phase(3), 1000.0) == 850.0  # a running phase: so far
    assert phase_seconds(run.phase(1), 1000.0, timed=False) is None
    assert phase_seconds(PhaseState(4), 1000.0) is None


def test_heat_rows_compare_each_phase_with_the_other_clients_median() -> None:
    usual = {n: 600.0 for n in range(1, 13)}
    runs = {
        "a": (timed_run(usual), True),
        "b": (timed_run(usual), True),
        "f": (timed_run(usual), True),
        "g": (timed_run({**usual, 6: 550.0}), True),
        "c": (timed_run({**usual, 6: 3000.0}), True),  # a slow phase 6
        "d": (timed_run({1: 600.0, 2: 600.0}, running=3), True),
        "e": (timed_run(usual), False),  # times unknown: not compared
    }
    cells = heat_rows(runs, now=1200.0 + 700.0)
    assert cells["c"][5].ratio == 5.0 and cells["c"][5].pace == "very slow"
    assert cells["a"][5].ratio == 1.0 and cells["a"][5].pace == "usual"  # b, c, f, g: 600, 3000, 600, 550
    assert cells["d"][2].status is PhaseStatus.RUNNING and cells["d"][2].seconds == 700.0
    assert cells["d"][3].status is PhaseStatus.NOT_RUN and cells["d"][3].ratio is None
    assert all(cell.ratio is None for cell in cells["e"])
    assert [slowness(r) for r in (None, FAST, 1.0, SLOW, VERY_SLOW)] == ["", "fast", "usual", "slow", "very slow"]
