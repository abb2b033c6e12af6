"""Each sample log's expected report: a hand-written table (from sample_logs/README.md) and golden JSON.

The table is the contract in a reader's words; the golden files pin every
detail of the JSON report. Regenerate the golden files after a deliberate
change with ``NIMWATCH_UPDATE_GOLDEN=1 python -m pytest tests/core/test_sample_logs.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, NamedTuple, Optional

import pytest
from helpers import ROOT, SAMPLE_LOGS

from nimwatch.core.rules import RuleSet
from nimwatch.sources.files import read_log
from nimwatch.views.report_data import report_records

GOLDEN = ROOT / "tests" / "golden"


class Expected(NamedTuple):
    outcome: str
    failed_phase: Optional[int]
    last_phase: int
    boot_disk: Optional[str]
    variants: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    """Rules that must be among the findings."""
    target_level: Optional[str] = None
    target_disks: tuple[str, ...] = ()
    reboot: Optional[str] = None


E = Expected
EXPECTED: dict[str, list[Expected]] = {
    "aixlpar53": [
        E(
            "succeeded",
            None,
            12,
            "hdisk1",
            frozenset({"nfs"}),
            frozenset({"src-subsystem-started"}),
            "6.1",
            ("hdisk1",),
            "safe",
        )
    ],
    "dbprod61": [
        E(
            "succeeded",
            None,
            12,
            "hdisk2",
            frozenset({"cache"}),
            frozenset({"alt-lock-missing-benign"}),
            "7.1",
            ("hdisk2", "hdisk3"),
            "safe",
        )
    ],
    "app72": [E("succeeded", None, 12, "hdisk1", frozenset({"cache"}), frozenset(), "7.2", ("hdisk1",), "safe")],
    "web73": [E("succeeded", None, 12, "hdisk4", frozenset({"cache"}), frozenset(), "7.3", ("hdisk4",), "safe")],
    "mksysb72": [
        E(
            "succeeded",
            None,
            12,
            None,
            frozenset({"mksysb", "mksysb_output"}),
            frozenset({"mksysb-backup-completed"}),
            None,
            (),
            "not_applicable",
        )
    ],
    "fail1lvm": [
        E(
            "failed",
            1,
            1,
            "hdisk0",
            frozenset(),
            frozenset({"target-disk-too-small", "nimadm-clone-failed"}),
            "7.2",
            ("hdisk1",),
            "do_not_reboot",
        )
    ],
    "fail2cache": [
        E(
            "failed",
            2,
            2,
            "hdisk0",
            frozenset({"cache"}),
            frozenset({"lvm-allocp-no-free-pps", "lvm-mklv-failed"}),
            "7.3",
            ("hdisk2",),
            "do_not_reboot",
        )
    ],
    "fail3nfs": [
        E(
            "failed",
            3,
            3,
            "hdisk0",
            frozenset({"nfs"}),
            frozenset({"nfs-mount-access-denied", "nfs-mount-giving-up"}),
            "7.1",
            ("hdisk1",),
            "do_not_reboot",
        )
    ],
    "fail6inst": [
        E(
            "failed",
            6,
            6,
            "hdisk0",
            frozenset({"cache"}),
            frozenset(
                {
                    "installp-fs-no-space",
                    "installp-requisite-failures",
                    "installp-summary-failed",
                    "installp-summary-cancelled",
                }
            ),
            "7.3",
            ("hdisk1",),
            "do_not_reboot",
        )
    ],
    "fail8boot": [
        E(
            "failed",
            8,
            8,
            "hdisk2",
            frozenset({"cache"}),
            frozenset({"bosboot-failed"}),
            "7.2",
            ("hdisk3",),
            "do_not_reboot",
        )
    ],
    "fail11mb": [
        E(
            "failed",
            11,
            11,
            "hdisk0",
            frozenset({"cache"}),
            frozenset({"multibos-standby-bos", "nimadm-clone-failed"}),
            "7.1",
            ("hdisk1",),
            "do_not_reboot",
        )
    ],
    # the log simply ends in phase 6: in progress (or stopped), wait before rebooting
    "running01": [E("incomplete", None, 6, None, frozenset({"cache"}), frozenset(), "7.3", ("hdisk1",), "wait")],
    "rerun02": [
        E(
            "failed",
            1,
            1,
            "hdisk0",
            frozenset(),
            frozenset({"nimadm-remote-exec-unexpected", "nimadm-clone-failed"}),
            "7.2",
            ("hdisk1",),
            "do_not_reboot",
        ),
        E("succeeded", None, 12, "hdisk1", frozenset({"cache"}), frozenset(), "7.2", ("hdisk1",), "safe"),
    ],
    "cleanup03": [E("succeeded", None, 0, "hdisk0", frozenset({"cleanup"}), frozenset(), "7.3", (), "not_applicable")],
    "big6": [E("succeeded", None, 12, "hdisk2", frozenset({"cache"}), frozenset(), "7.3", ("hdisk2",), "safe")],
    "partial04": [E("succeeded", None, 6, None, frozenset({"partial"}), frozenset(), None, (), "do_not_reboot")],
    "wakeup05": [E("succeeded", None, 0, None, frozenset({"wakeup"}), frozenset(), None, (), "not_applicable")],
    # issue 8: healthy but noisy phase 6 (SRC, sysck 3001-036, 0503-292, bosboot progress, RPM lines)
    "noisy73": [E("succeeded", None, 12, "hdisk4", frozenset({"cache"}), frozenset(), "7.3", ("hdisk4",), "safe")],
    # a FAILED fileset (sysck 3001-038 cause), nimadm went on to phase 12 and set the bootlist to the new disk
    "instfail12": [
        E(
            "failed",
            6,
            12,
            "hdisk4",
            frozenset({"cache"}),
            frozenset({"sysck-unknown-group", "installp-install-failed-part", "installp-summary-failed"}),
            "7.3",
            ("hdisk4",),
            "reset_bootlist",
        )
    ],
    "reqfail12": [
        E(
            "failed",
            6,
            12,
            "hdisk4",
            frozenset({"cache"}),
            frozenset({"installp-requisite-failures", "installp-missing-requisites"}),
            "7.3",
            ("hdisk4",),
            "reset_bootlist",
        )
    ],
    "bbverify12": [
        E(
            "failed",
            6,
            12,
            "hdisk4",
            frozenset({"cache"}),
            frozenset({"installp-bosboot-verify-error"}),
            "7.3",
            ("hdisk4",),
            "reset_bootlist",
        )
    ],
    # a migration killed in phase 6, then nimadm -C: two runs in one log
    "killclean": [
        E("incomplete", None, 6, None, frozenset({"cache"}), frozenset(), "7.3", ("hdisk1",), "do_not_reboot"),
        E("succeeded", None, 0, "hdisk0", frozenset({"cleanup"}), frozenset(), "7.3", (), "not_applicable"),
    ],
    "rshrefused": [
        E(
            "failed", 1, 1, None, frozenset(), frozenset({"remote-host-refused", "nimadm-clone-failed"}),
            "7.3", ("hdisk1",), "do_not_reboot",
        )
    ],
    "rshtimeout": [
        E(
            "failed", 3, 3, None, frozenset({"cache"}), frozenset({"remote-host-timeout"}),
            "7.3", ("hdisk4",), "do_not_reboot",
        )
    ],
    # a healthy run pasted into a change ticket whose prose quotes message numbers
    "ticket07": [
        E("succeeded", None, 12, "hdisk4", frozenset({"cache"}), frozenset({"mentioned-in-text"}), "7.3", ("hdisk4",), "safe")
    ],
}

HEALTHY = ("aixlpar53", "dbprod61", "app72", "web73", "mksysb72", "big6", "partial04", "wakeup05", "cleanup03",
           "noisy73", "ticket07")
"""Samples of runs that went well: not one warning or error finding."""

CLIENT_VERDICTS = {
    "running01": ("incomplete", "in progress (or stopped) in phase 6", 3),
    "cleanup03": ("other", "clean-up only, nothing migrated", 0),
    "killclean": ("incomplete", "incomplete (abandoned), cleaned up — not migrated", 3),
    "wakeup05": ("other", "wake-up only, nothing migrated", 0),
    "rerun02": ("succeeded", "succeeded", 0),
    "instfail12": ("failed", "failed in phase 6 (nimadm went on to phase 12)", 1),
    "reqfail12": ("failed", "failed in phase 6 (nimadm went on to phase 12)", 1),
    "bbverify12": ("failed", "failed in phase 6 (nimadm went on to phase 12)", 1),
    "rshrefused": ("failed", "failed in phase 1", 1),
    "rshtimeout": ("failed", "failed in phase 3", 1),
    "noisy73": ("succeeded", "succeeded", 0),
    "ticket07": ("succeeded", "succeeded", 0),
}
"""Client verdict per sample: status, summary, and the exit code of `nimwatch report` on it alone."""


def _records(rules: RuleSet, client: str) -> list[dict[str, Any]]:
    path = SAMPLE_LOGS / f"{client}_alt_mig.log"
    return report_records([read_log(path, rules)], rules)


def test_every_sample_log_has_an_expectation() -> None:
    logs = {p.name[: -len("_alt_mig.log")] for p in SAMPLE_LOGS.glob("*_alt_mig.log")}
    assert logs == set(EXPECTED)
    assert len(logs) >= 12


@pytest.mark.parametrize("client", sorted(EXPECTED))
def test_sample_log_report(rules: RuleSet, client: str) -> None:
    records = _records(rules, client)
    expected = EXPECTED[client]
    assert len(records) == len(expected), "one report entry per run in the file"
    for rec, exp in zip(records, expected):
        assert rec["client"] == client
        assert rec["outcome"] == exp.outcome
        assert rec["failed_phase"] == exp.failed_phase
        assert rec["last_phase"] == exp.last_phase
        assert rec["boot_disk"] == exp.boot_disk
        assert exp.variants <= set(rec["variants"])
        assert exp.rules <= {f["rule"] for f in rec["findings"]}
        assert rec["target_level"] == exp.target_level
        assert tuple(rec["target_disks"]) == exp.target_disks
        assert rec["reboot"]["verdict"] == exp.reboot
        statuses = [p["status"] for p in rec["phases"]]
        assert len(statuses) == 12
        if exp.outcome == "failed" and exp.failed_phase:
            assert statuses[exp.failed_phase - 1] == "failed"
            # nimadm stops after its failing phase, unless installp failed and it went on
            assert all(s == ("done" if exp.last_phase == 12 else "not_run") for s in statuses[exp.failed_phase :])
        if exp.outcome == "succeeded" and exp.last_phase == 12:
            assert statuses == ["done"] * 12
        # A successful run has no finding that fails it; a failed run has at least one.
        failing = [f for f in rec["findings"] if f["fails_run"]]
        assert bool(failing) == (exp.outcome == "failed")


def _normalise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for rec in records:
        rec["log"] = os.path.relpath(rec["log"], ROOT)
    return records


@pytest.mark.parametrize("client", sorted(EXPECTED))
def test_sample_log_golden_json(rules: RuleSet, client: str) -> None:
    records = _normalise(_records(rules, client))
    golden = GOLDEN / f"{client}.json"
    text = json.dumps(records, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("NIMWATCH_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"missing {golden}: run with NIMWATCH_UPDATE_GOLDEN=1 and review it"
    assert json.loads(golden.read_text(encoding="utf-8")) == json.loads(text)


def test_running_log_progress_inside_phase_6(rules: RuleSet) -> None:
    rec = _records(rules, "running01")[0]
    phase6 = rec["phases"][5]
    assert phase6["status"] == "running"
    assert phase6["progress"] == {"done": 102, "total": 244, "unit": "filesets"}


def test_progress_counts_in_long_phases(rules: RuleSet) -> None:
    rec = _records(rules, "dbprod61")[0]
    by_phase = {p["number"]: p.get("progress") for p in rec["phases"]}
    assert by_phase[5] is not None and by_phase[5]["unit"] == "merge methods"
    assert by_phase[6] is not None and by_phase[6]["unit"] == "filesets"
    assert by_phase[6]["done"] == by_phase[6]["total"]
    assert by_phase[9] is not None and by_phase[9]["done"] == by_phase[9]["total"]
    assert by_phase[1] is not None and by_phase[1]["done"] > 0


def test_customization_scripts_output_is_kept(rules: RuleSet) -> None:
    rec = _records(rules, "app72")[0]
    assert rec["facts"]["script_phase4"] == "pre_mig_check"
    assert rec["facts"]["script_rc_phase4"] == "0"
    assert rec["facts"]["script_phase7"] == "post_mig_fix"
    assert any("pre_mig.sh" in line for line in rec["script_output"]["4"])
    assert any("post_mig.sh" in line for line in rec["script_output"]["7"])
    plain = _records(rules, "dbprod61")[0]
    assert plain["facts"]["script_phase4"] == "none"
    assert plain["facts"]["script_phase7"] == "none"


# --------------------------------------------------------------------------- issue 8: verdicts an admin can trust


def test_every_sample_has_a_client_verdict_or_is_plain() -> None:
    assert set(CLIENT_VERDICTS) <= set(EXPECTED) and set(HEALTHY) <= set(EXPECTED)


@pytest.mark.parametrize("client", HEALTHY)
def test_healthy_samples_have_no_warning_or_error(rules: RuleSet, client: str) -> None:
    for rec in _records(rules, client):
        noisy = [(f["severity"], f["rule"], f["line"]) for f in rec["findings"] if f["severity"] != "info"]
        assert noisy == []
        assert not any(f["fails_run"] for f in rec["findings"])


@pytest.mark.parametrize("client", sorted(CLIENT_VERDICTS))
def test_client_verdict_through_the_real_cli(client: str) -> None:
    """`nimwatch report --format json` as a subprocess: the client's verdict, its summary and the exit code."""
    status, summary, code = CLIENT_VERDICTS[client]
    proc = subprocess.run(
        [sys.executable, "-m", "nimwatch", "report", "--format", "json", "--no-state",
         str(SAMPLE_LOGS / f"{client}_alt_mig.log")],
        capture_output=True, text=True, cwd=str(ROOT), timeout=120,
    )
    assert proc.returncode == code, proc.stderr
    (verdict,) = json.loads(proc.stdout)["clients"]
    assert verdict["status"] == status
    # a log that simply ends is judged against the file's age: "in progress (or stopped)" or "stopped"
    assert verdict["summary"].startswith(summary) or (client == "running01" and verdict["summary"].startswith("stopped"))


def test_installp_results_per_run(rules: RuleSet) -> None:
    def inst(client: str, run: int = 0) -> dict[str, Any]:
        result = _records(rules, client)[run]["installp"]
        assert result is not None
        return result

    big = inst("big6")
    assert (big["invocations"], big["total"], big["failed"], big["cancelled"]) == (3, 1193, [], [])
    assert big["filesets_ok"] == 1 + 1193 + 430  # summed over installp's runs: utilities, migration, updates
    failed = inst("fail6inst")
    assert failed["failed"] == ["Java8_64.jre", "Java8_64.sdk"] and failed["cancelled"] == ["lwi.runtime"]
    assert failed["requisite_failures"] == [
        "bos.net.ipsec.keymgt", "bos.net.tcp.bind", "bos.net.tcp.bind_utils", "bos.net.tcp.dhcpd"
    ]
    assert failed["missing_requisites"] == ["bos.net.tcp.server_core", "bos.net.ipsec.rte"]
    assert inst("instfail12")["failed"] == ["bos.rte.printers"]
    req = inst("reqfail12")
    assert (req["requisite_failures"], req["missing_requisites"]) == (["sysmgt.cfgassist"], ["Java8_64.sdk"])
    assert inst("bbverify12")["bosboot_failure"] is True
    healthy = inst("noisy73")
    assert healthy["failing"] is False and healthy["already_installed"] == 2
    assert _records(rules, "cleanup03")[0]["installp"] is None


def test_phase_6_progress_follows_the_main_installp_run(rules: RuleSet) -> None:
    phase6 = _records(rules, "big6")[0]["phases"][5]
    assert phase6["progress"] == {"done": 1193, "total": 1193, "unit": "filesets"}


def test_operations(rules: RuleSet) -> None:
    ops = {c: [r["operation"] for r in _records(rules, c)] for c in ("cleanup03", "killclean", "wakeup05", "web73")}
    assert ops == {
        "cleanup03": ["cleanup"],
        "killclean": ["migration", "cleanup"],
        "wakeup05": ["wakeup"],
        "web73": ["migration"],
    }


def test_failed_fileset_reboot_verdict_names_the_cause_and_the_way_back(rules: RuleSet) -> None:
    rec = _records(rules, "instfail12")[0]
    reboot = rec["reboot"]
    assert reboot["verdict"] == "reset_bootlist"
    assert "bos.rte.printers" in reboot["summary"] and "hdisk4" in reboot["summary"]
    assert "bootlist -m normal <original disk>" in reboot["detail"] and "lspv" in reboot["detail"]
    # the 0503-464 advice points at the sysck cause that came before it
    (part,) = [f for f in rec["findings"] if f["rule"] == "installp-install-failed-part"]
    assert part["advice"].startswith("The line ") and "3001-017" in part["advice"].splitlines()[0]
    assert "It is sysck's" in part["advice"]
    assert part["text"].endswith("bos.rte.printers 7.3.2.0")  # continuation lines joined
    assert part["context_after"][0].startswith("installp:  Cleaning up software for:")


def test_rsh_errno_texts_are_the_cause(rules: RuleSet) -> None:
    refused = _records(rules, "rshrefused")[0]
    first = refused["findings"][[f["severity"] for f in refused["findings"]].index("error")]
    assert first["rule"] == "remote-host-refused" and first["fails_run"]
    assert "rsh rshrefused hostname" in first["advice"]  # the client is filled in
    timeout = _records(rules, "rshtimeout")[0]
    errors = [f["rule"] for f in timeout["findings"] if f["severity"] == "error"]
    assert errors == ["remote-host-timeout", "remote-host-timeout"]  # the client's clean-up timed out too
    assert timeout["findings"][-1]["context"][-1] == "Cleaning up alt_disk_migration on client rshtimeout."


def test_a_pasted_ticket_quoting_message_numbers_gives_only_mentions(rules: RuleSet) -> None:
    (rec,) = _records(rules, "ticket07")
    mentions = [f for f in rec["findings"] if f["rule"] == "mentioned-in-text"]
    assert {f["code"] for f in mentions} >= {"0505-218", "0516-404", "0503-464", "0505-187", "0503-292"}
    assert all(f["severity"] == "info" and f["benign"] and not f["fails_run"] for f in mentions)
    assert rec["start_line"] == 10  # the ticket's prose before the log does not start the run
    assert rec["outcome"] == "succeeded" and rec["reboot"]["verdict"] == "safe"
