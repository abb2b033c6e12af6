"""Parser behaviour: run boundaries, robustness to odd input, facts and the reboot verdict."""

from __future__ import annotations

import pytest
from helpers import REFERENCE, SAMPLE_LOGS, banner, parse_bytes, parse_text

from nimwatch.core.events import Outcome, PhaseStatus
from nimwatch.core.parser import LogParser
from nimwatch.core.rules import RuleSet
from nimwatch.core.verdict import reboot_verdict

PREAMBLE = (
    "Initializing the NIM master.\n"
    "Initializing NIM client lpar1.\n"
    "Verifying alt_disk_migration eligibility.\n"
    "Initializing log: /var/adm/ras/alt_mig/lpar1_alt_mig.log\n"
    "Starting Alternate Disk Migration.\n"
)
PHASE1 = 'Cloning altinst_rootvg on client, Phase 1.\nClient alt_disk_install command: alt_disk_copy -j -M 7.2 -P1 -d "hdisk1"\n'
PHASE11 = (
    "Cloning altinst_rootvg on client, Phase 3.\n"
    'Client alt_disk_install command: alt_disk_copy -j -M 7.2 -P3 -d "hdisk1"\n'
    "Bootlist is set to the boot disk: hdisk1 blv=hd5\n"
)
CLEANUP = "Cleaning up alt_disk_migration on the NIM master.\nCleaning up alt_disk_migration on client lpar1.\n"


def good_run() -> str:
    body = PREAMBLE
    for n in range(1, 13):
        body += banner(n)
        if n == 1:
            body += PHASE1
        if n == 11:
            body += PHASE11
        if n == 12:
            body += CLEANUP
    return body


def failed_in(phase: int) -> str:
    body = PREAMBLE
    for n in range(1, phase + 1):
        body += banner(n)
        if n == 1:
            body += PHASE1
    return (
        body
        + "0505-187 nimadm: Error cloning altinst_rootvg on client.\n"
        + CLEANUP
        + "Client alt_disk_install command: alt_disk_install -M 7.2 -X\n"
        + "Bootlist is set to the boot disk: hdisk0 blv=hd5\n"
    )


def test_good_run(rules: RuleSet) -> None:
    state = parse_text(rules, good_run())
    (run,) = state.runs
    assert run.outcome is Outcome.SUCCEEDED
    assert [p.status for p in run.phases] == [PhaseStatus.DONE] * 12
    assert run.boot_disk == "hdisk1" and run.target_disks == ["hdisk1"]
    assert run.facts["target_level"] == "7.2"
    assert reboot_verdict(run).verdict == "safe"


def test_cleanup_before_phase_12_fails_the_current_phase(rules: RuleSet) -> None:
    state = parse_text(rules, failed_in(11))
    (run,) = state.runs
    assert run.outcome is Outcome.FAILED
    assert run.failed_phase == 11
    assert run.phase(11).status is PhaseStatus.FAILED
    assert run.boot_disk == "hdisk0"
    verdict = reboot_verdict(run)
    assert verdict.verdict == "do_not_reboot" and "original rootvg" in verdict.summary


def test_abort_without_a_known_error_still_fails_with_a_finding(rules: RuleSet) -> None:
    text = PREAMBLE + banner(1) + banner(2) + banner(3) + "Syncing client data to cache ...\n" + CLEANUP
    (run,) = parse_text(rules, text).runs
    assert run.outcome is Outcome.FAILED and run.failed_phase == 3
    assert [f.rule for f in run.findings] == ["nimadm-aborted"]


def test_appended_rerun_is_a_separate_run(rules: RuleSet) -> None:
    state = parse_text(rules, failed_in(1) + good_run())
    assert [r.outcome for r in state.runs] == [Outcome.FAILED, Outcome.SUCCEEDED]
    assert [r.index for r in state.runs] == [1, 2]
    assert state.runs[1].start_line > state.runs[0].start_line


def test_banner_going_back_starts_a_new_run(rules: RuleSet) -> None:
    text = PREAMBLE + banner(1) + banner(2) + banner(3) + banner(1) + banner(2)
    state = parse_text(rules, text)
    assert len(state.runs) == 2
    assert state.runs[0].outcome is Outcome.INCOMPLETE
    assert state.runs[1].current_phase == 2


def test_log_that_starts_mid_run(rules: RuleSet) -> None:
    text = "Running migration merge method: passwd_mig.\nRunning migration merge method: user_mrg.\n"
    text += banner(6) + "Installing and migrating software.\n"
    (run,) = parse_text(rules, text).runs
    assert run.mid_run
    assert run.phase(5).status is PhaseStatus.DONE
    assert run.phase(1).status is PhaseStatus.DONE and run.phase(1).inferred
    assert run.phase(6).status is PhaseStatus.RUNNING
    assert run.outcome is Outcome.INCOMPLETE


def test_cleanup_mode_is_not_a_failure(rules: RuleSet) -> None:
    text = PREAMBLE + CLEANUP + "Client alt_disk_install command: alt_disk_install -M 7.2 -X\n"
    (run,) = parse_text(rules, text).runs
    assert run.outcome is Outcome.SUCCEEDED
    assert "cleanup" in run.variants
    assert reboot_verdict(run).verdict == "not_applicable"


def test_partial_run(rules: RuleSet) -> None:
    text = PREAMBLE + banner(4) + "nimadm: There is no user customization script specified for this phase.\n"
    text += banner(5) + "Saving system configuration files.\n"
    (run,) = parse_text(rules, text).runs
    assert "partial" in run.variants
    assert run.outcome is Outcome.SUCCEEDED
    assert run.phase(1).status is PhaseStatus.NOT_RUN
    assert reboot_verdict(run).verdict == "do_not_reboot"


def test_crlf_nul_and_latin1(rules: RuleSet) -> None:
    text = good_run().replace("\n", "\r\n").encode("ascii")
    text = text.replace(b"Starting Alternate", b"Starting\x00 Alternate".replace(b"\x00 ", b" \x00"))
    text += "0599-001 prog: Fehler beim Schreiben: Datei gel\u00f6scht\r\n".encode("latin-1")
    state = parse_bytes(rules, text)
    (run,) = state.runs
    assert run.outcome is Outcome.SUCCEEDED
    assert run.findings[-1].text.endswith("Datei gel\u00f6scht")


def test_utf8_is_kept_as_utf8(rules: RuleSet) -> None:
    data = (good_run() + "0599-002 prog: caf\u00e9 \u2713\n").encode("utf-8")
    state = parse_bytes(rules, data)
    assert state.runs[0].findings[-1].text.endswith("caf\u00e9 \u2713")


def test_huge_line_is_cut_reported_and_parsing_goes_on(rules: RuleSet) -> None:
    huge = b"x" * (3 * 1024 * 1024)
    text = PREAMBLE.encode() + banner(1).encode() + huge + b"\n" + banner(2).encode()
    state = parse_bytes(rules, text, chunks=[100, 70000, 1 << 20])
    (run,) = state.runs
    assert run.current_phase == 2
    assert len(state.bad_lines) == 1 and "cut" in state.bad_lines[0].reason
    assert state.bad_lines[0].line == 9


@pytest.mark.parametrize("chunks", [None, [1000, 40000, 30000], [70000]])
@pytest.mark.parametrize("over", [0, 1])
def test_a_line_is_read_up_to_64_kib_and_cut_past_it(rules: RuleSet, over: int, chunks: list[int]) -> None:
    from nimwatch.core.decoder import MAX_LINE_BYTES

    assert MAX_LINE_BYTES == 64 * 1024
    tail = "x: 0503-999"  # a message number at the very end: its last digit is the line's last byte
    line = "x" * (MAX_LINE_BYTES + over - len(tail)) + tail
    head = PREAMBLE + banner(1) + banner(6)
    state = parse_bytes(rules, (head + line + "\nafter the long line\n" + banner(7)).encode(), chunks=chunks)
    (run,) = state.runs
    assert run.current_phase == 7
    codes = [f.code for f in run.findings]
    line_no = head.count("\n") + 1
    if over:  # cut to 64 KiB: the number lost its last digit, the cut is reported with its line
        assert codes == [] and [b.line for b in state.bad_lines] == [line_no]
        assert str(MAX_LINE_BYTES + over) in state.bad_lines[0].reason
    else:  # exactly 64 KiB: kept whole
        assert codes == ["0503-999"] and not state.bad_lines
        assert run.findings[0].line == line_no


def test_partial_last_line_is_held_until_its_newline(rules: RuleSet) -> None:
    from nimwatch.core.reader import LogReader

    reader = LogReader(rules, "lpar1")
    first = reader.feed((PREAMBLE + "Executing nimadm pha").encode())
    assert not any(e.kind == "phase_started" for e in first)
    second = reader.feed(b"se 1.\n")
    assert [e.kind for e in second if e.kind == "phase_started"] == ["phase_started"]


def test_pasted_log_from_a_web_page_is_understood(rules: RuleSet) -> None:
    seed = REFERENCE / "seeds" / "003_cad126e63ee5607b.txt"
    if not seed.is_file():
        pytest.skip(f"{seed} is not beside this checkout (CI has it)")
    data = seed.read_bytes()
    state = parse_bytes(rules, data, client="")
    (run,) = state.runs
    assert run.client == "webmanual01"
    assert run.outcome is Outcome.SUCCEEDED
    assert [p.status for p in run.phases] == [PhaseStatus.DONE] * 12
    assert run.facts["cache_vg"] == "nimvg"
    assert run.boot_disk == "hdisk0"
    alt_lock = [f for f in run.findings if "alt_lock" in f.text]
    assert alt_lock and not alt_lock[0].fails_run and alt_lock[0].phase == 3
    assert run.phase(5).progress_done == 27


def test_our_own_log_pasted_into_a_ticket_is_understood(rules: RuleSet) -> None:
    """Every block of a sample log joined onto one line, with prose around it, as a ticket or web page shows it."""
    lines = (SAMPLE_LOGS / "dbprod61_alt_mig.log").read_text(encoding="utf-8").splitlines()
    pasted = ["Hi team, here is the output of last night's migration, as requested:"]
    block: list[str] = []
    for line in lines:
        if line.startswith("+---") and block and not block[-1].startswith("+---"):
            pasted.append(" ".join(block) + " Explanation: the next phase starts here.")
            block = []
        block.append(line.strip())
    pasted.append(" ".join(block))
    pasted.append("Regards, the AIX team")
    state = parse_text(rules, "\n".join(pasted) + "\n", client="")
    (run,) = state.runs
    assert run.client == "dbprod61"
    assert run.outcome is Outcome.SUCCEEDED
    assert [p.status for p in run.phases] == [PhaseStatus.DONE] * 12
    assert run.facts["cache_vg"] == "nimvg"
    assert run.target_disks == ["hdisk2", "hdisk3"]
    assert run.boot_disk == "hdisk2"
    assert run.phase(5).progress_done == 27
    assert not [f for f in run.findings if f.fails_run]


def test_client_from_the_log_when_the_file_name_says_nothing(rules: RuleSet) -> None:
    state = parse_text(rules, good_run(), client="")
    assert state.runs[0].client == "lpar1"


def test_spot_and_lpp_source_when_printed(rules: RuleSet) -> None:
    text = "# nimadm -c lpar1 -l lpp_7300 -s spot_7300 -j nimvg -d hdisk1 -Y\n" + good_run()
    (run,) = parse_text(rules, text).runs
    assert run.facts["spot"] == "spot_7300"
    assert run.facts["lpp_source"] == "lpp_7300"


def test_bootlist_left_alone_means_check_it(rules: RuleSet) -> None:
    (run,) = parse_text(rules, good_run().replace("Bootlist is set to the boot disk: hdisk1 blv=hd5\n", "")).runs
    assert run.outcome is Outcome.SUCCEEDED
    assert reboot_verdict(run).verdict == "check_bootlist"


def test_failed_run_whose_bootlist_names_the_new_disk_must_be_reset(rules: RuleSet) -> None:
    text = good_run().replace(CLEANUP, "0301-165 bosboot: WARNING! bosboot failed - do not attempt to boot device.\n")
    text = text.replace(banner(12), "")
    (run,) = parse_text(rules, text).runs
    assert run.outcome is Outcome.FAILED
    assert reboot_verdict(run).verdict == "reset_bootlist"


def test_events_are_the_same_fed_line_by_line(rules: RuleSet) -> None:
    text = (SAMPLE_LOGS / "fail6inst_alt_mig.log").read_text(encoding="utf-8")
    whole = LogParser(rules, "x")
    by_line = LogParser(rules, "x")
    events_whole = [e for e in whole.feed_bytes(text.encode()) if e.kind not in ("lines_read", "progress")]
    events_lines = []
    for line in text.splitlines():
        events_lines.extend(e for e in by_line.feed_bytes(f"{line}\n".encode()) if e.kind not in ("lines_read", "progress"))
    assert events_lines == events_whole


def test_runs_that_end_without_a_client_cleanup_finish_live(rules: RuleSet) -> None:
    """A followed log must not wait for end-of-file to know these runs are over."""
    from nimwatch.core.reader import LogReader
    from nimwatch.core.state import LogState

    for name in ("mksysb72", "wakeup05", "cleanup03", "dbprod61"):
        reader = LogReader(rules, name)
        state = LogState(name, name)
        for event in reader.feed((SAMPLE_LOGS / f"{name}_alt_mig.log").read_bytes()):  # no close()
            state.apply(event)
        assert state.runs[-1].outcome is Outcome.SUCCEEDED, name
