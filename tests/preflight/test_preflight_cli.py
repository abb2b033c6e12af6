"""``nimwatch preflight`` through the real CLI on recorded outputs: a healthy master, then every failure condition.

Each scenario of ``recorded/`` overlays ``healthy.rec``; the table below says
which checks must fail or be unknown (every other check must pass), words the
summary or fix must hold, and the exit code. Every scenario runs in text and
in JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nimwatch.cli import main
from nimwatch.commands import preflight as preflight_command
from nimwatch.preflight.ids import CHECK_IDS

from .recorded_runner import RECORDED, RecordedRunner

BASE = ["preflight", "-c", "lpar1", "-s", "spot_7302", "-l", "lpp_7302", "-d", "hdisk1"]
CACHE = ["-j", "nimcachevg"]
REMOTE_AFTER_REACH = (
    "client-master",
    "client-level",
    "client-hardware",
    "target-disk-free",
    "leftover-alt-vg",
    "target-disk-size",
    "cache-vg",
    "no-multibos",
    "no-alt-lock",
)
UNREACHABLE = {"client-reachable": "fail", **{c: "unknown" for c in REMOTE_AFTER_REACH}}

# scenario -> (NFS mode?, {check: status} for every check that does not pass, words in that check's text, exit)
SCENARIOS: dict[str, tuple[bool, dict[str, str], dict[str, list[str]], int]] = {
    "client-undefined": (
        False,
        {"client-defined": "fail", "client-state": "unknown", **{c: "unknown" for c in UNREACHABLE}},
        {"client-defined": ["not a NIM object", "0042-053", "lsnim -t standalone"]},
        1,
    ),
    "client-busy": (False, {"client-state": "fail"}, {"client-state": ["nim -Fo reset lpar1", "deallocate"]}, 1),
    "unreachable": (False, UNREACHABLE, {"client-reachable": ["0042-006", "lssrc -s nimsh", "c_rsh"]}, 1),
    "unreachable-timeout": (False, UNREACHABLE, {"client-reachable": ["no answer within 300 s"]}, 1),
    "no-rc-trailer": (False, UNREACHABLE, {"client-reachable": ["returned no exit status", "0826-813"]}, 1),
    "alt-disk-master-missing": (
        False,
        {"alt-disk-master": "fail", "alt-disk-spot": "unknown"},
        {"alt-disk-master": ["not installed on the master", "0504-132"]},
        1,
    ),
    "alt-disk-spot-mismatch": (
        False,
        {"alt-disk-spot": "fail"},
        {"alt-disk-spot": ["7.3.2.0", "7.3.2.1", "nimadm -M -s spot_7302 -l lpp_7302"]},
        1,
    ),
    "alt-disk-spot-missing": (
        False,
        {"alt-disk-spot": "fail"},
        {"alt-disk-spot": ["not in SPOT spot_7302", "nim -o cust -a lpp_source=lpp_7302"]},
        1,
    ),
    "alt-disk-lpp-missing": (False, {"alt-disk-lpp-source": "fail"}, {"alt-disk-lpp-source": ["not in lpp_source"]}, 1),
    "alt-disk-lpp-newer": (
        False,
        {"alt-disk-lpp-source": "fail"},
        {"alt-disk-lpp-source": ["7.4.0.0", "newer release than the master"]},
        1,
    ),
    "spot-lpp-level": (
        False,
        {"spot-lpp-level": "fail"},
        {"spot-lpp-level": ["7.3 TL1", "7.3 TL2", "nim -o define -t spot"]},
        1,
    ),
    "spot-undefined": (
        False,
        {"spot-defined": "fail", "alt-disk-spot": "unknown", "spot-lpp-level": "unknown"},
        {"spot-defined": ["not a NIM object", "lsnim -t spot"]},
        1,
    ),
    "lpp-remote-server": (
        False,
        {"lpp-source-defined": "fail"},
        {"lpp-source-defined": ["served by nimsrv2", "local to the master"]},
        1,
    ),
    "showres-hangs": (
        False,
        {"alt-disk-spot": "unknown", "spot-lpp-level": "unknown"},
        {"alt-disk-spot": ["no answer within 600 s", "nim -o showres"]},
        3,
    ),
    "master-below-target": (
        False,
        {"master-level": "fail"},
        {"master-level": ["7300-01-03-2346", "below the target 7.3 TL2"]},
        1,
    ),
    "client-at-target": (False, {"client-level": "fail"}, {"client-level": ["already at 7.3", "nimadm -U"]}, 1),
    "client-too-old": (False, {"client-level": "fail"}, {"client-level": ["6100-09-12-1846", "older than 7.1"]}, 1),
    "client-power7": (False, {"client-hardware": "fail"}, {"client-hardware": ["POWER7", "POWER8"]}, 1),
    "disk-in-datavg": (
        False,
        {"target-disk-free": "fail"},
        {"target-disk-free": ["belongs to volume group datavg", "hdisk1 00f9c1d4e5f60718 datavg active"]},
        1,
    ),
    "disk-altinst": (
        False,
        {"target-disk-free": "fail"},
        {"target-disk-free": ["holds altinst_rootvg", "alt_rootvg_op -X altinst_rootvg"]},
        1,
    ),
    "disk-old-rootvg": (
        False,
        {"target-disk-free": "fail"},
        {"target-disk-free": ["holds old_rootvg", "alt_rootvg_op -X old_rootvg"]},
        1,
    ),
    "altinst-elsewhere": (
        False,
        {"leftover-alt-vg": "fail"},
        {"leftover-alt-vg": ["hdisk2", "alt_rootvg_op -X altinst_rootvg"]},
        1,
    ),
    "disk-too-small": (
        False,
        {"target-disk-size": "fail"},
        {"target-disk-size": ["20480 MB", "23232 MB", "500 MB"]},
        1,
    ),
    "cache-vg-short": (
        False,
        {"cache-vg": "fail"},
        {"cache-vg": ["12800 MB free", "17984 MB", "extendvg nimcachevg"]},
        1,
    ),
    "cache-vg-varied-off": (False, {"cache-vg": "fail"}, {"cache-vg": ["0516-010", "varyonvg nimcachevg"]}, 1),
    "multibos": (False, {"no-multibos": "fail"}, {"no-multibos": ["bos_hd5", "multibos -R"]}, 1),
    "stale-alt-lock": (False, {"no-alt-lock": "fail"}, {"no-alt-lock": ["stale /tmp/alt_lock", "nimadm -C"]}, 1),
    "alt-disk-running": (
        False,
        {"no-alt-lock": "fail"},
        {"no-alt-lock": ["PID 8126558", "alt_disk_copy -d hdisk2"]},
        1,
    ),
    "master-nfs-missing": (False, {"master-nfs": "fail"}, {"master-nfs": ["nfsd, rpc.mountd", "0513-086"]}, 1),
    "portmap-down": (False, {"master-nfs": "fail"}, {"master-nfs": ["portmap", "startsrc -s portmap"]}, 1),
    "netboot-off": (False, {"master-netboot": "fail"}, {"master-netboot": ["tftp, bootps", "refresh -s inetd"]}, 1),
    "client-nfs-missing": (True, {"client-nfs": "fail"}, {"client-nfs": ["missing on the client", "0513-086"]}, 1),
    "other-master": (False, {"client-master": "fail"}, {"client-master": ["nim02.example.com", "niminit"]}, 1),
}


def run_preflight(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], runner: RecordedRunner, args: list[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(preflight_command, "make_runner", lambda: runner)
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def statuses_from_text(out: str) -> dict[str, str]:
    marks = {"PASS": "pass", "FAIL": "fail", "??": "unknown"}
    found: dict[str, str] = {}
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 2 and line[:4].strip() in marks and words[1] in CHECK_IDS:
            found[words[1]] = marks[line[:4].strip()]
    return found


def test_every_recording_is_in_the_table_and_notes_its_origin() -> None:
    files = {p.stem for p in RECORDED.glob("*.rec")}
    assert files - {"healthy"} == set(SCENARIOS)
    for path in RECORDED.glob("*.rec"):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# "), f"{path.name} must say what it holds"
        records = text.count("\n=== ")
        assert records and text.count("\norigin: ") == records, f"{path.name}: every record names its origin"
        assert "composed" in text.split("\n=== ")[0], f"{path.name}: the header must say it was composed"


@pytest.mark.parametrize("nfs", [False, True], ids=["cache", "nfs"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_healthy_master_passes_everything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fmt: str, nfs: bool
) -> None:
    runner = RecordedRunner()
    code, out, err = run_preflight(monkeypatch, capsys, runner, [*BASE, *([] if nfs else CACHE), "--format", fmt])
    assert not runner.missing, runner.missing
    assert code == 0, out + err
    expected = [c for c in CHECK_IDS if c != ("cache-vg" if nfs else "client-nfs")]
    if fmt == "json":
        doc = json.loads(out)
        assert doc["schema"] == 1
        assert [c["id"] for c in doc["checks"]] == expected
        assert all(
            c["status"] == "pass" and c["evidence"] and c["commands"]
            for c in doc["checks"]
            if c["id"] not in ("leftover-alt-vg", "no-multibos", "no-alt-lock")
        ), doc
        assert doc["counts"] == {"pass": len(expected), "fail": 0, "unknown": 0} and doc["exit_code"] == 0
        assert doc["cache_vg"] == (None if nfs else "nimcachevg")
    else:
        assert statuses_from_text(out) == dict.fromkeys(expected, "pass")
        assert f"Result: {len(expected)} passed, 0 failed, 0 unknown (exit 0)" in out
        assert ("NFS mode (no -j)" in out) == nfs
    # each command ran once, whatever number of checks read it
    assert len(runner.calls) == len(set(runner.calls))


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_failure_condition(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], scenario: str, fmt: str
) -> None:
    nfs, bad, words, exit_code = SCENARIOS[scenario]
    runner = RecordedRunner(scenario)
    code, out, err = run_preflight(monkeypatch, capsys, runner, [*BASE, *([] if nfs else CACHE), "--format", fmt])
    assert not runner.missing, runner.missing
    assert code == exit_code, out + err
    applicable = [c for c in CHECK_IDS if c != ("cache-vg" if nfs else "client-nfs")]
    expected = {c: bad.get(c, "pass") for c in applicable}
    if fmt == "json":
        doc = json.loads(out)
        got = {c["id"]: c["status"] for c in doc["checks"]}
        assert got == expected
        assert doc["exit_code"] == exit_code
        by_id: dict[str, Any] = {c["id"]: c for c in doc["checks"]}
        for check, needed in words.items():
            entry = by_id[check]
            text = " ".join([entry["summary"], entry["fix"], *entry["evidence"]])
            for word in needed:
                assert word in text, (check, word, entry)
            assert entry["fix"], f"{check} failed without a fix"
    else:
        assert statuses_from_text(out) == expected
        for needed in words.values():
            for word in needed:
                assert word in out, (word, out)
        assert out.isascii()


def test_carriage_returns_from_the_client_change_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = RecordedRunner(crlf=True)
    code, out, _ = run_preflight(monkeypatch, capsys, runner, [*BASE, *CACHE, "--format", "json"])
    assert code == 0, out
    assert "\\r" not in out


def test_skip_leaves_a_check_out_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = RecordedRunner("netboot-off")
    code, out, _ = run_preflight(monkeypatch, capsys, runner, [*BASE, *CACHE, "--skip", "master-netboot"])
    assert code == 0
    assert "master-netboot" not in statuses_from_text(out)
    assert "Skipped: master-netboot" in out


def test_several_target_disks(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    runner = RecordedRunner("disk-in-datavg")
    code, out, _ = run_preflight(
        monkeypatch,
        capsys,
        runner,
        ["preflight", "-c", "lpar1", "-s", "spot_7302", "-l", "lpp_7302", "-d", "hdisk1 hdisk2", "--format", "json"],
    )
    doc = json.loads(out)
    free = next(c for c in doc["checks"] if c["id"] == "target-disk-free")
    assert free["status"] == "fail" and "hdisk1 belongs to volume group datavg" in free["summary"]
    assert "hdisk2" not in free["summary"]
    assert doc["disks"] == ["hdisk1", "hdisk2"]
    assert ("client", ("/usr/sbin/bootinfo", "-s", "hdisk2")) not in runner.records  # hence unknown size
    size = next(c for c in doc["checks"] if c["id"] == "target-disk-size")
    assert size["status"] == "unknown"
    assert code == 1


@pytest.mark.parametrize(
    "args",
    [
        ["preflight", "-s", "spot", "-l", "lpp", "-d", "hdisk1"],
        ["preflight", "-c", "lpar1;reboot", "-s", "spot", "-l", "lpp", "-d", "hdisk1"],
        ["preflight", "-c", "lpar1", "-s", "spot", "-l", "lpp", "-d", "../hdisk1"],
        ["preflight", "-c", "lpar1", "-s", "spot", "-l", "lpp", "-d", "hdisk1", "--timeout", "0"],
        ["preflight", "-c", "lpar1", "-s", "spot", "-l", "lpp", "-d", "hdisk1", "--skip", "nonsense"],
    ],
)
def test_usage_errors_exit_2_and_run_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    runner = RecordedRunner()
    code, _, err = run_preflight(monkeypatch, capsys, runner, args)
    assert code == 2
    assert err
    assert runner.calls == []


def test_control_characters_from_a_command_are_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runner = RecordedRunner("other-master")
    key = ("client", ("/usr/bin/cat", "/etc/niminfo"))
    record = runner.records[key]
    hostile = record.stdout.replace("nim02.example.com", "nim02\x1b[2J\x07.example.com\udce9")
    runner.records[key] = type(record)(**{**record.__dict__, "stdout": hostile})
    for fmt in ("text", "json"):
        code, out, _ = run_preflight(monkeypatch, capsys, runner, [*BASE, *CACHE, "--format", fmt])
        assert code == 1
        assert "\x1b" not in out and "\x07" not in out and out.isascii()
        assert "\\x1b[2J\\x07" in out.replace("\\\\", "\\")
        assert "\\xe9" in out.replace("\\\\", "\\")


def test_away_from_a_nim_master_the_real_runner_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    if Path("/usr/sbin/lsnim").exists():
        pytest.skip("this machine is a NIM master")
    code = main([*BASE])
    _, err = capsys.readouterr()
    assert code == 2
    assert "runs on the NIM master" in err


def test_the_command_lines_ids_are_the_checks_ids() -> None:
    from nimwatch.preflight.checks import ALL_CHECKS

    assert tuple(c.id for c in ALL_CHECKS) == CHECK_IDS
