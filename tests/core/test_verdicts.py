"""Issue 8 in the core: installp's result model, benign and softened findings, text around a log, the lines
after a finding, filled advice, and the one client verdict every view uses."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import ROOT, SAMPLE_LOGS, banner, parse_text

from nimwatch.core.advice import advice_values, fill_advice
from nimwatch.core.events import Outcome, PhaseStatus, Severity
from nimwatch.core.rules import RuleSet, build_phase_model, build_signatures
from nimwatch.core.state import RunState
from nimwatch.core.validation import Problems
from nimwatch.core.verdict import client_verdict, operation_of, reboot_verdict, run_label
from nimwatch.errors import ConfigError
from nimwatch.rulefiles import builtin_rules_dir
from nimwatch.yamlfile import load_yaml, parse_yaml

HEAD = "Initializing the NIM master.\nInitializing NIM client lpar1.\nStarting Alternate Disk Migration.\n"
INVOCATION = (
    "Installing software with the installp installer.\n"
    "+-----------------------------------------------------------------------------+\n"
    "                    Pre-installation Verification...\n"
    "+-----------------------------------------------------------------------------+\n"
    "Verifying selections...done\n"
)
SUMMARY_HEAD = (
    "Installation Summary\n"
    "--------------------\n"
    "Name                        Level           Part        Event       Result\n"
    "-------------------------------------------------------------------------------\n"
)


def in_phase(phase: int, body: str) -> str:
    return HEAD + "".join(banner(n) for n in range(1, phase + 1)) + body


def findings(rules: RuleSet, text: str) -> list[tuple[str, str]]:
    state = parse_text(rules, text)
    return [(f.rule, f.severity.value) for run in state.runs for f in run.findings]


# --------------------------------------------------------------------------- installp result model


def test_summary_rows_failed_cancelled_and_cleanup(rules: RuleSet) -> None:
    rows = (
        "bos.a                       7.3.0.0         USR         APPLY       SUCCESS\n"
        "bos.a                       7.3.0.0         ROOT        APPLY       SUCCESS\n"
        "bos.b                       7.3.0.0         USR         APPLY       FAILED\n"
        "bos.b                       7.3.0.0         USR         CLEANUP     SUCCESS\n"
        "bos.c                       7.3.0.0         USR         APPLY       CANCELLED\n"
        "bos.d                       7.3.0.0         USR         APPLY       CANCELLED\n"
        "bos.d                       7.3.0.0         ROOT        APPLY       FAILED\n"
        "a.very.long.fileset.name.that.is.cut 7.3.0.0         USR         APPLY       SUCCESS\n"
    )
    text = in_phase(6, INVOCATION + SUMMARY_HEAD + rows + "install_all_updates: Result = SUCCESS\n")
    text += banner(7)
    (run,) = parse_text(rules, text).runs
    assert run.installp is not None
    assert run.installp.failed == ("bos.b", "bos.d") and run.installp.cancelled == ("bos.c",)
    assert run.installp.filesets_ok == 2 and run.installp.invocations == 1
    assert run.failed_phase == 6
    assert run.phase(6).status is PhaseStatus.FAILED  # ended failed when nimadm left it...
    assert run.phase(6).end_line == text.count("\n") - 1  # ...at the phase 7 banner
    assert run.phase(7).status is not PhaseStatus.FAILED


def test_failures_section_lists_and_pre_installation_summary(rules: RuleSet) -> None:
    body = INVOCATION + (
        "FAILURES\n--------\n"
        "  Filesets listed in this section failed pre-installation verification\n"
        "  and will not be installed.\n\n"
        "  Requisite Failures\n  ------------------\n"
        "  SELECTED FILESETS:  The following is a list of filesets that you asked to\n"
        "  install.  They cannot be installed until all of their requisite filesets\n"
        "  are also installed.  See subsequent lists for details of requisites.\n\n"
        "    bos.msg.ca_ES.mls.rte 7.2.4.0             # Trusted AIX Messages - Catalan\n\n"
        "  MISSING REQUISITES:  The following filesets are required by one or more\n"
        "  of the selected filesets listed above.  They are not currently installed\n"
        "  and could not be found on the installation media.\n\n"
        "    bos.rte v=6                               # Base Level Fileset\n"
        "  AVAILABLE REQUISITES:  The following filesets are requisites\n"
        "    bos.avail.one 7.2.4.0                     # Base Level Fileset\n\n"
        "  Missing Filesets\n  ----------------\n"
        "    bos.not.on.media 7.2.4.0\n\n"
        "  << End of Failure Section >>\n\n"
        "SUCCESSES\n---------\n  bos.fine 7.2.4.0                         # Fine\n"
        "  << End of Success Section >>\n"
        "FILESET STATISTICS\n------------------\n"
        "    4  Selected to be installed, of which:\n"
        "        1  Passed pre-installation verification\n"
        "        3  FAILED pre-installation verification\n"
        "  ----\n    1  Total to be installed\n"
        "Pre-installation Failure/Warning Summary\n----------------------------------------\n"
        "Name                      Level           Pre-installation Failure/Warning\n"
        "-------------------------------------------------------------------------------\n"
        "bos.msg.ca_ES.mls.rte     7.2.4.0         Requisite failure\n"
        "bos.other                 7.2.4.0         Not found on the installation media\n"
        "bos.there                 7.2.4.0         Already installed\n"
    )
    (run,) = parse_text(rules, in_phase(6, body)).runs
    result = run.installp
    assert result is not None
    assert result.requisite_failures == ("bos.msg.ca_ES.mls.rte",)
    assert result.missing_requisites == ("bos.rte",)
    assert result.verification_failures == ("bos.not.on.media", "bos.other")
    assert result.failed_verification == 3 and result.total == 1
    assert "bos.fine" not in result.requisite_failures and "bos.avail.one" not in result.missing_requisites


def test_progress_follows_the_largest_installp_run_however_the_log_is_cut(rules: RuleSet) -> None:
    from helpers import parse_bytes

    body = (
        "    1  Total to be installed\nFilesets processed:  1 of 1  (Total time:  3 secs).\n"
        "  500  Total to be installed\n"
        + "".join(f"Filesets processed:  {n} of 500  (Total time:  3 secs).\n" for n in (10, 250, 500))
        + "   40  Total to be installed\n"
        + "".join(f"Filesets processed:  {n} of 40  (Total time:  3 secs).\n" for n in (5, 40))
    )
    data = in_phase(6, body).encode()
    for chunks in ([], [len(data) // 2], list(range(1, len(data), 97))):
        sizes = [b - a for a, b in zip([0, *chunks], chunks)]
        run = parse_bytes(rules, data, chunks=sizes).runs[0]
        assert (run.phase(6).progress_done, run.phase(6).progress_total) == (500, 500), chunks


# --------------------------------------------------------------------------- benign, softened, quoted


def test_unknown_code_inside_installp_is_info_unless_a_neighbour_failed(rules: RuleSet) -> None:
    unknown = "0599-123 someprog: a message nobody catalogued.\n"
    assert findings(rules, in_phase(6, INVOCATION + unknown)) == [("unknown-message-code", "info")]
    assert findings(rules, in_phase(6, unknown)) == [("unknown-message-code", "warning")]  # not in installp's output
    assert findings(rules, in_phase(5, unknown)) == [("unknown-message-code", "warning")]
    before = INVOCATION + "installp:  Cleaning up the FAILED filesets.\n" + unknown
    assert ("unknown-message-code", "warning") in findings(rules, in_phase(6, before))
    # the lines after it say it failed: its severity comes back once they are read
    after = INVOCATION + unknown + "        Cannot open the file /usr/lib/x.\n"
    state = parse_text(rules, in_phase(6, after))
    (finding,) = state.runs[0].findings
    assert finding.severity is Severity.WARNING and finding.text.endswith("Cannot open the file /usr/lib/x.")
    assert state.runs[0].finding_counts == {"info": 0, "warning": 1, "error": 0}


def test_routine_phase_6_lines_are_benign_info(rules: RuleSet) -> None:
    lines = (
        "0513-071 The sshd Subsystem has been added.\n"
        "0513-095 The request for subsystem refresh was completed successfully.\n"
        "sysck: 3001-036 WARNING:  File /etc/ssh/moduli\n"
        "        is also owned by fileset openssh.base.server.\n"
        "0503-292 This update will not fully take effect until after a\n"
        "        system reboot.\n"
        "  bos.rte.serv_aid 7.3.0.0                   # Error Log Service Aids\n"
        "install_all_updates: Result = SUCCESS\n"
    )
    state = parse_text(rules, in_phase(6, INVOCATION + lines))
    found = state.runs[0].findings
    assert [f.rule for f in found] == [
        "src-fileset-script",
        "src-fileset-script",
        "sysck-file-shared",
        "installp-reboot-notice",
        "installp-fileset-description",
        "install-all-updates-success",
    ]
    assert all(f.benign and f.severity is Severity.INFO and not f.fails_run for f in found)
    assert found[2].text.endswith("is also owned by fileset openssh.base.server.")
    assert found[3].text.endswith("system reboot.")


def test_text_around_a_log_gives_mentions_only(rules: RuleSet) -> None:
    text = (
        "Ticket: attempt 1 failed with 0505-218, see below.\n"
        "0505-187 nimadm: Error cloning altinst_rootvg on client.\n"  # quoted before the log starts
        + HEAD
        + banner(1)
        + "Working, as the notes said no 0516-404 this time.\n"
        + banner(12)
        + "Cleaning up alt_disk_migration on the NIM master.\nCleaning up alt_disk_migration on client lpar1.\n"
        + "0505-187 nimadm: Error cloning altinst_rootvg on client.\n"  # quoted after the run's end
    )
    state = parse_text(rules, text)
    (run,) = state.runs
    assert run.outcome is Outcome.SUCCEEDED and run.start_line == 3
    assert [(f.rule, f.code, f.line) for f in run.findings] == [
        ("mentioned-in-text", "0505-218", 1),
        ("mentioned-in-text", "0505-187", 2),
        ("mentioned-in-text", "0516-404", 9),
        ("mentioned-in-text", "0505-187", 15),
    ]
    assert all(f.benign and f.severity is Severity.INFO for f in run.findings)


def test_a_log_of_prose_only_has_no_run(rules: RuleSet) -> None:
    state = parse_text(rules, "We saw 0505-187 and 0503-464 in the old migration.\nNothing else.\n")
    assert state.runs == []


def test_an_aborted_run_still_reports_its_client_clean_up(rules: RuleSet) -> None:
    text = (
        HEAD + banner(1) + "0505-187 nimadm: Error cloning altinst_rootvg on client.\n"
        "Cleaning up alt_disk_migration on the NIM master.\nCleaning up alt_disk_migration on client lpar1.\n"
        "lpar1: A remote host did not respond within the timeout period.\n"
    )
    (run,) = parse_text(rules, text).runs
    assert [f.rule for f in run.findings][-1] == "remote-host-timeout"


def test_pasted_lines_are_not_cut_before_a_number_quoted_in_a_sentence(rules: RuleSet) -> None:
    prose = "Our notes: phase 6 went fine and the usual messages such as 0503-292 appeared, nothing else. " * 3
    state = parse_text(rules, HEAD + banner(6) + prose + "\n")
    # one pasted segment: one mention, and no finding of the run
    assert [(f.rule, f.severity.value) for f in state.runs[0].findings] == [("mentioned-in-text", "info")]


# --------------------------------------------------------------------------- the lines after a finding


def test_continuation_lines_and_context_after(rules: RuleSet) -> None:
    text = in_phase(
        2,
        "0516-404 allocp: This system cannot fulfill the allocation request.\n"
        "        There are not enough free partitions or not enough physical volumes\n"
        "        to keep strictness and satisfy allocation requests.\n"
        "0516-822 mklv: Unable to create logical volume.\n"
        "Next line.\n",
    )
    first, second = parse_text(rules, text).runs[0].findings
    assert first.text.endswith("to keep strictness and satisfy allocation requests.")
    assert first.context_after == ("0516-822 mklv: Unable to create logical volume.", "Next line.")
    assert second.context_after == ("Next line.",)


def test_cause_advice_comes_first(rules: RuleSet) -> None:
    text = in_phase(
        6,
        "sysck: 3001-038 The name mail is not a known group for entry /usr/bin/bellmail.\n"
        '0503-464 installp:  The installation has FAILED for the "usr" part\n',
    )
    part = parse_text(rules, text).runs[0].findings[-1]
    assert part.advice.startswith("The line ") and "3001-038" in part.advice.splitlines()[0]
    alone = parse_text(rules, in_phase(6, '0503-464 installp:  The installation has FAILED for the "usr" part\n'))
    assert not alone.runs[0].findings[0].advice.startswith("The line ")


def test_advice_fills_what_the_log_told(rules: RuleSet) -> None:
    text = (
        "# nimadm -c lpar1 -l lpp_7300 -s spot_7300 -j nimvg -d hdisk1 -Y\n"
        + in_phase(2, "Creating nimadm cache file systems on volume group nimvg.\n")
    )
    run = parse_text(rules, text).runs[0]
    values = advice_values(run, "lpar1", (("fileset", "bos.rte"),))
    assert values["spot"] == "spot_7300" and values["cachevg"] == "nimvg" and values["client"] == "lpar1"
    filled = fill_advice("lsvg <cachevg>; nimadm -C -c <client> -s <spot>; grep <fileset>; <hdiskN> <unknown>", values)
    assert filled == "lsvg nimvg; nimadm -C -c lpar1 -s spot_7300; grep bos.rte; <hdiskN> <unknown>"
    assert fill_advice("nimadm -C -c <client> -s <spot>", {"client": "x"}) == "nimadm -C -c x -s <spot>"


# --------------------------------------------------------------------------- verdicts


def run_of(outcome: Outcome, variants: tuple[str, ...] = (), phase: int = 6, index: int = 1) -> RunState:
    run = RunState(index, "lpar1", 1)
    run.outcome = outcome
    run.variants = list(variants)
    if phase:
        run.phase(phase).status = PhaseStatus.RUNNING
        run.current_phase = phase
    return run


def test_client_verdicts() -> None:
    killed = run_of(Outcome.INCOMPLETE)
    cleanup = run_of(Outcome.SUCCEEDED, ("cleanup",), phase=0, index=2)
    cleanup.facts["boot_disk"] = "hdisk0"
    verdict = client_verdict([killed, cleanup])
    assert (verdict.status, verdict.summary, verdict.run, verdict.cleaned_up) == (
        "incomplete", "incomplete (abandoned), cleaned up — not migrated", 1, True,
    )
    assert "hdisk0" in verdict.reboot.summary
    only = client_verdict([run_of(Outcome.SUCCEEDED, ("cleanup",), phase=0)])
    assert (only.status, only.summary, only.operation) == ("other", "clean-up only, nothing migrated", "cleanup")
    failed = run_of(Outcome.FAILED)
    failed.failed_phase = 6
    assert client_verdict([failed, cleanup]).summary == "failed in phase 6, cleaned up — not migrated"
    assert client_verdict([failed, cleanup]).status == "failed"
    good = run_of(Outcome.SUCCEEDED, phase=12)
    assert client_verdict([failed, good]).status == "succeeded"  # a re-run that worked
    assert client_verdict([good, cleanup]).summary == "migrated, then removed by nimadm -C — not migrated"
    assert client_verdict([run_of(Outcome.RUNNING)]).status == "running"
    assert operation_of(run_of(Outcome.SUCCEEDED, ("wakeup",), phase=0)) == "wakeup"


def test_a_log_that_simply_ends_is_waited_for_until_stalled() -> None:
    run = run_of(Outcome.INCOMPLETE)
    run.open_end = True
    run.last_line_at = 1000.0
    assert run_label(run, last_line_at="2026-01-02 03:04") == (
        "in progress (or stopped) in phase 6 — last line at 2026-01-02 03:04"
    )
    assert reboot_verdict(run).verdict == "wait"
    assert reboot_verdict(run, stalled=True).verdict == "do_not_reboot"
    assert run_label(run, stalled=True).startswith("stopped in phase 6")
    run.open_end = False  # ended because a new run started: not waiting any more
    assert reboot_verdict(run).verdict == "do_not_reboot"


# --------------------------------------------------------------------------- rule files


def test_rule_file_mistakes_in_the_new_keys_are_named(tmp_path: object) -> None:
    bad = parse_yaml(
        "signatures:\n"
        "  - id: x\n    pattern: 'abc'\n    severity: error\n    benign: true\n"
        "    explanation: e\n    advice: a\n"
        "    causes:\n      - after: ['Not An Id']\n        advice: a\n",
        "mine.yaml",
    )
    with pytest.raises(ConfigError) as exc:
        build_signatures(bad, "mine.yaml")
    text = str(exc.value.problems)
    assert "a benign signature is info" in text and "not rule ids" in text
    model = load_yaml(builtin_rules_dir() / "nimadm.yaml")
    model["installp"]["lists"]["requisite_failurez"] = "^X"
    with pytest.raises(ConfigError) as exc:
        build_phase_model(model, "nimadm.yaml", Problems("nimadm.yaml"))
    assert "unknown bucket (did you mean 'requisite_failures'?)" in str(exc.value.problems)


# --------------------------------------------------------------------------- reports


def report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", "report", "--no-state", *args],
        capture_output=True, text=True, cwd=str(ROOT), timeout=120,
    )


def test_text_report_folds_benign_findings_and_verbose_lists_them() -> None:
    log = str(SAMPLE_LOGS / "noisy73_alt_mig.log")
    folded = report(log)
    assert folded.returncode == 0, folded.stderr
    assert "Findings: none" in folded.stdout
    assert "Routine lines (24, benign; --verbose lists them):" in folded.stdout
    assert "9 x 0513-004/0513-044/0513-059/0513-071/... A fileset's install script" in folded.stdout
    assert "installp: 3 installp runs, 314 filesets installed; 2 already installed" in folded.stdout
    verbose = report("--verbose", log)
    assert "Findings (24):" in verbose.stdout and "Routine lines" not in verbose.stdout
    lines = folded.stdout.count("\n")
    assert lines < verbose.stdout.count("\n") / 3  # the benign notes no longer fill the report
    markdown = report("-f", "markdown", log)
    assert "Routine lines (benign, 24):" in markdown.stdout and "- **noisy73**: succeeded (reboot: safe)" in markdown.stdout


def test_text_report_header_says_a_clean_up_is_not_a_migration() -> None:
    done = report(str(SAMPLE_LOGS / "killclean_alt_mig.log"))
    assert done.returncode == 3
    assert "Verdict: incomplete (abandoned), cleaned up — not migrated (judged on run 1, the last migration)" in done.stdout
    assert "Operation: clean-up done (nimadm -C): nothing migrated" in done.stdout
    assert "1 client(s) by their last migration: 1 incomplete" in done.stdout
    only = report(str(SAMPLE_LOGS / "cleanup03_alt_mig.log"))
    assert only.returncode == 0 and "Verdict: clean-up only, nothing migrated" in only.stdout
    assert "SUCCEEDED" not in only.stdout.split("Verdict:")[1].splitlines()[1]


def test_the_engine_sends_a_raised_finding_again(rules: RuleSet) -> None:
    """An info finding whose following lines show a failure becomes a warning: watch, alerts and hooks hear of it."""
    from nimwatch.engine import Engine

    engine = Engine(rules)
    unknown = "0599-123 someprog: a message nobody catalogued.\n        Cannot open /x.\n"
    text = in_phase(6, INVOCATION + unknown + "Next.\nAnd next.\nAnd after.\n")  # 3 lines after: the look-ahead ends
    notices = engine.feed("/l/lpar1_alt_mig.log", text.encode(), at=1.0)
    found = [(n.event, n.get("severity"), n.get("severity_raised")) for n in notices if n.get("rule")]
    assert found == [("finding", "info", None), ("finding", "warning", True)]
    raised = next(n for n in notices if n.get("severity_raised"))
    assert raised.get("text").endswith("Cannot open /x.")
    assert raised.get("context_after") == ["Next.", "And next.", "And after."] and raised.public
