"""End to end: ``nimwatch watch --once --config FILE DIR`` over a failing and two clean logs runs exactly
the matching hooks, with the right argv and env, inside their timeouts, and not again on a second pass."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nimwatch.core.rules import RuleSet

from .hookkit import Kit, pid_alive, wait_for, write_script

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_logs"
NASTY = "a;b$(touch pwned)'\""

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("nimwatch.commands.watch") is None,
    reason="`nimwatch watch` (nimwatch/commands/watch.py) is not written yet",
)


def _config(kit: Kit, state: Path) -> Path:
    slow = write_script(
        kit.tmp / "slow.sh",
        f"#!/bin/sh\nsleep 300 & echo $! > {kit.tmp}/slow-child.pid\necho $$ > {kit.tmp}/slow.pid\nwait\n",
    )
    rec = str(kit.recorder)
    env = f"{{RECORD_DIR: '{kit.records_dir}'}}"
    cfg = kit.tmp / "nimwatch.yaml"
    cfg.write_text(
        f"""
state: {state}
hooks:
  - name: pre
    on: [pre_migration]
    run: ['{rec}', pre, '{{client}}', '{{phase}}']
    env: {env}
  - name: post
    on: [post_migration]
    run: ['{rec}', post, '{{client}}', '{{phase_name}}']
    env: {env}
  - name: failed
    on: [run_failed]
    run: ['{rec}', failed, '{{client}}', '{{phase}}', '{{outcome}}', '{{log}}']
    env: {env}
  - name: succeeded-web
    on: [run_succeeded]
    clients: ["web*"]
    run: ['{rec}', succeeded, '{{client}}']
    env: {env}
  - name: space
    on: [finding]
    severity: error
    codes: ["0503-008"]
    run: ['{rec}', space, '{{client}}', '{{code}}', '{{rule}}', '{{line}}']
    env: {env}
  - name: nobody
    on: [finding, run_finished]
    clients: ["no-such-client*"]
    run: ['{rec}', nobody]
    env: {env}
  - name: slow
    on: [run_failed]
    run: ['{slow}']
    timeout: 1
    retries: 0
"""
    )
    cfg.chmod(0o644)
    return cfg


def _watch(cfg: Path, logs: Path, state: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "NIMWATCH_STATE": str(state),
        "NIMWATCH_CONFIG": str(cfg),
    }
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", "watch", "--once", "--config", str(cfg), str(logs)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(cfg.parent),
        timeout=300,
    )


def _json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def test_watch_once_runs_exactly_the_matching_hooks(kit: Kit, rules: RuleSet) -> None:
    fail = sorted(SAMPLES.glob("fail6inst_alt_mig.log"))
    clean = SAMPLES / "web73_alt_mig.log"
    if not fail or not clean.is_file():
        pytest.skip("sample_logs/fail6inst_alt_mig.log or web73_alt_mig.log is missing")
    logs = kit.tmp / "logs"
    logs.mkdir()
    shutil.copy(fail[0], logs / "fail6inst_alt_mig.log")
    shutil.copy(clean, logs / "web73_alt_mig.log")
    shutil.copy(clean, logs / f"{NASTY}_alt_mig.log")
    state = kit.tmp / "state" / "state.db"
    cfg = _config(kit, state)

    done = _watch(cfg, logs, state)
    assert done.returncode == 1, done.stderr  # a run failed
    calls = sorted(tuple(r["argv"][1:]) for r in kit.records())
    (phase7,) = [p.name for p in rules.model.phases if p.number == 7]
    fail_log = str(logs / "fail6inst_alt_mig.log")
    assert calls == sorted(
        [
            ("pre", "fail6inst", "4"),
            ("pre", "web73", "4"),
            ("pre", NASTY, "4"),
            ("post", "web73", phase7),
            ("post", NASTY, phase7),
            ("failed", "fail6inst", "6", "failed", fail_log),
            ("succeeded", "web73"),
            ("space", "fail6inst", "0503-008", "installp-fs-no-space", "1403"),
        ]
    )
    by_name = {(r["argv"][1], r["env"]["NIMWATCH_CLIENT"]): r["env"] for r in kit.records()}
    assert by_name[("failed", "fail6inst")]["NIMWATCH_EVENT"] == "run_finished"
    assert by_name[("failed", "fail6inst")]["NIMWATCH_OUTCOME"] == "failed"
    assert by_name[("post", "web73")]["NIMWATCH_PHASE"] == "7"
    assert by_name[("post", "web73")]["NIMWATCH_STATUS"] == "done"
    assert by_name[("space", "fail6inst")]["NIMWATCH_SEVERITY"] == "error"
    assert by_name[("pre", NASTY)]["NIMWATCH_LOG"] == str(logs / f"{NASTY}_alt_mig.log")
    assert not list(kit.tmp.rglob("pwned")) and not (ROOT / "pwned").exists()

    results = [e for e in _json_lines(done.stdout) if e.get("event") == "hook_result"]
    assert sorted(r["hook"] for r in results) == sorted(
        ["pre", "pre", "pre", "post", "post", "failed", "succeeded-web", "space", "slow"]
    )
    (slow,) = [r for r in results if r["hook"] == "slow"]
    assert slow["timed_out"] is True
    for pidfile in ("slow.pid", "slow-child.pid"):
        pid = int((kit.tmp / pidfile).read_text())
        wait_for(lambda pid=pid: not pid_alive(pid), what=f"{pidfile} process gone")  # type: ignore[misc]
    assert all(r["exit_status"] == 0 for r in results if r["hook"] != "slow")

    again = _watch(cfg, logs, state)
    assert again.returncode == 1, again.stderr
    assert len(kit.records()) == len(calls)  # a second watcher over the same logs fires nothing again
    assert not [e for e in _json_lines(again.stdout) if e.get("event") == "hook_result"]


def test_a_log_rewritten_between_two_watchers_fires_its_hooks_again(kit: Kit) -> None:
    """nimadm rewrites a client's log for a new run: its run is numbered 1 again, yet it is a new event."""
    logs = kit.tmp / "logs"
    logs.mkdir()
    log = logs / "lpar7_alt_mig.log"
    first = (SAMPLES / "fail1lvm_alt_mig.log").read_text(encoding="utf-8")
    log.write_text(first, encoding="utf-8")
    state = kit.tmp / "state" / "state.db"
    rec = str(kit.recorder)
    cfg = kit.tmp / "nimwatch.yaml"
    cfg.write_text(
        f"state: {state}\nhooks:\n  - name: failed\n    on: [run_failed]\n"
        f"    run: ['{rec}', failed, '{{client}}']\n    env: {{RECORD_DIR: '{kit.records_dir}'}}\n"
        f"  - name: once\n    on: [run_started, run_failed]\n    once_per_run: true\n"
        f"    run: ['{rec}', once, '{{client}}']\n    env: {{RECORD_DIR: '{kit.records_dir}'}}\n",
        encoding="utf-8",
    )
    assert _watch(cfg, logs, state).returncode == 1
    assert sorted(r["argv"][1] for r in kit.records()) == ["failed", "once"]
    # The same failure again, written anew (truncate + rewrite, new inode content): same run number, same lines.
    log.write_text(first.replace("hdisk1", "hdisk4"), encoding="utf-8")
    assert _watch(cfg, logs, state).returncode == 1
    assert sorted(r["argv"][1] for r in kit.records()) == ["failed", "failed", "once", "once"]
    # Nothing new: nothing fires.
    assert _watch(cfg, logs, state).returncode == 1
    assert len(kit.records()) == 4
