"""Each sample log's expected report: a hand-written table (from sample_logs/README.md) and golden JSON.

The table is the contract in a reader's words; the golden files pin every
detail of the JSON report. Regenerate the golden files after a deliberate
change with ``NIMWATCH_UPDATE_GOLDEN=1 python -m pytest tests/core/test_sample_logs.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
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
    "running01": [
        E("incomplete", None, 6, None, frozenset({"cache"}), frozenset(), "7.3", ("hdisk1",), "do_not_reboot")
    ],
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
}


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
            assert all(s == "not_run" for s in statuses[exp.failed_phase :])
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
