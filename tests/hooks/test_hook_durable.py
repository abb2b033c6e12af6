"""Hook work is durable: queued runs survive SIGTERM, a crash and SIGHUP; retries do not hold ``--once``.

The manager-level tests use the real state journal as the job store; the end-to-end ones run
``nimwatch watch`` as a process over 30 logs (360 ``phase_started`` events, one hook run each) and
stop or reload it while most runs are still queued.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from nimwatch.config.hooks import HookSpec
from nimwatch.hooks.manager import HookManager
from nimwatch.journal import Journal

from .hookkit import Kit, notice, wait_for, write_script

ROOT = Path(__file__).resolve().parents[2]
RULE = "+" + "-" * 77 + "+"


def _finding(line: int) -> object:
    return notice("finding", phase=6, line=line, rule="r", code=None, severity="error", text=f"line {line}")


GATED = """#!/bin/sh
echo "$NIMWATCH_LINE" >> {ran}
while [ ! -e {gate} ]; do sleep 0.01; done
"""


def _gated_hook(kit: Kit, name: str = "gated", **kw: object) -> HookSpec:
    script = write_script(kit.tmp / f"{name}.sh", GATED.format(ran=kit.tmp / f"{name}.ran", gate=kit.tmp / "gate"))
    return HookSpec(name=name, on=("finding",), run=(str(script),), timeout=60, **kw)  # type: ignore[arg-type]


def _ran(kit: Kit, name: str = "gated") -> list[str]:
    path = kit.tmp / f"{name}.ran"
    return path.read_text().split() if path.exists() else []


def test_stop_keeps_queued_runs_in_the_journal_and_a_new_manager_runs_them(kit: Kit) -> None:
    journal = Journal.open(kit.tmp / "state.db")
    try:
        hook = _gated_hook(kit)
        m = HookManager([hook], kit.publish, journal, jobs=journal)
        for line in (1, 2, 3, 4):
            m.handle(_finding(line))  # type: ignore[arg-type]
        wait_for(lambda: _ran(kit) == ["1"], what="the first run")
        (kit.tmp / "gate").touch()  # the running one may finish; the queued ones must be kept
        assert m.stop(timeout=30)
        done_before = len(_ran(kit))
        assert len(journal.hook_jobs()) == 4 - done_before
        again = HookManager([hook], kit.publish, journal, jobs=journal)
        assert again.resume() == 4 - done_before
        assert again.wait_idle(60)
        assert sorted(_ran(kit)) == ["1", "2", "3", "4"]
        assert journal.hook_jobs() == []
        again.stop()
    finally:
        journal.close()


def test_a_run_ended_at_stop_runs_again_at_the_next_start(kit: Kit) -> None:
    journal = Journal.open(kit.tmp / "state.db")
    try:
        hook = _gated_hook(kit)
        m = HookManager([hook], kit.publish, journal, jobs=journal)
        m.handle(_finding(7))  # type: ignore[arg-type]
        wait_for(lambda: _ran(kit) == ["7"], what="the run to start")
        assert not m.stop(timeout=0.5)  # still running: its processes are ended, the run is kept
        (result,) = kit.results()
        assert "cancelled" in result.fields["error"] and result.fields["will_retry"] is True
        (kit.tmp / "gate").touch()
        again = HookManager([hook], kit.publish, journal, jobs=journal)
        assert again.resume() == 1 and again.wait_idle(60)
        assert _ran(kit) == ["7", "7"]
        again.stop()
    finally:
        journal.close()


def test_a_reload_keeps_the_queue_of_an_unchanged_hook_and_rematches_a_changed_one(kit: Kit) -> None:
    journal = Journal.open(kit.tmp / "state.db")
    try:
        gated = _gated_hook(kit)
        other = _gated_hook(kit, "other")
        gone = _gated_hook(kit, "gone")
        m = HookManager([gated, other, gone], kit.publish, journal, jobs=journal)
        for line in (1, 2, 3):
            m.handle(_finding(line))  # type: ignore[arg-type]
        wait_for(lambda: _ran(kit) == ["1"] and _ran(kit, "other") == ["1"], what="the first runs")
        # the same 'gated' (written elsewhere in the file), 'other' now only for warnings, 'gone' removed
        m.reconfigure([replace(gated, source="x.yaml:40"), replace(other, severity="warning", codes=frozenset())])
        (kit.tmp / "gate").touch()
        assert m.wait_idle(60)
        assert _ran(kit) == ["1", "2", "3"]  # nothing of its queue lost, the running one not interrupted
        assert _ran(kit, "other") == ["1", "2", "3"]  # error findings still match a warning minimum
        assert _ran(kit, "gone") == ["1"]
        dropped = [r.fields for r in kit.results() if r.fields["skipped"]]
        assert sorted((d["hook"], d["line"]) for d in dropped) == [("gone", 2), ("gone", 3)]
        assert all("removed from the configuration" in d["error"] for d in dropped)
        assert journal.hook_jobs() == []
        m.stop()
    finally:
        journal.close()


def test_retries_default_to_zero_and_once_does_not_wait_for_a_retry_delay(kit: Kit) -> None:
    assert HookSpec(name="x", on=("finding",), run=("/bin/true",)).retries == 0
    journal = Journal.open(kit.tmp / "state.db")
    try:
        script = write_script(kit.tmp / "down.sh", "#!/bin/sh\nexit 1\n")
        hook = HookSpec(name="down", on=("finding",), run=(str(script),), retries=2, retry_delay=600)
        m = HookManager([hook], kit.publish, journal, jobs=journal)
        m.handle(_finding(1))  # type: ignore[arg-type]
        assert m.wait_idle(60, include_retries=False)  # the first attempt ran; its retry is 600 s away
        assert not m.wait_idle(0)
        ((_, name, _, _, attempt, next_try),) = journal.hook_jobs()
        assert (name, attempt) == ("down", 2) and next_try > kit.results()[0].ts + 500
        assert m.stop(timeout=10)
        assert len(journal.hook_jobs()) == 1  # kept for the next run, when it is due
    finally:
        journal.close()


# ---------------------------------------------------------------------- nimwatch watch, end to end


def _burst(logs: Path, clients: int = 30) -> int:
    """Logs whose 12 phases start at once: a burst of ``clients * 12`` hook runs."""
    for i in range(clients):
        text = "Initializing the NIM master.\n" + "".join(
            f"{RULE}\nExecuting nimadm phase {p}.\n{RULE}\nworking\n" for p in range(1, 13)
        )
        (logs / f"lpar{i:02d}_alt_mig.log").write_text(text)
    return clients * 12


def _config(tmp: Path) -> Path:
    ran = tmp / "ran"
    script = write_script(tmp / "note.sh", f'#!/bin/sh\necho "$NIMWATCH_CLIENT $NIMWATCH_PHASE" >> {ran}\n')
    cfg = tmp / "nimwatch.yaml"
    cfg.write_text(f"hooks:\n  - name: note\n    on: [phase_started]\n    run: [{script}]\n")
    cfg.chmod(0o600)
    return cfg


def _runs(tmp: Path) -> list[str]:
    path = tmp / "ran"
    return path.read_text().splitlines() if path.exists() else []


def _start(tmp: Path, cfg: Path, logs: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NIMWATCH_STATE": str(tmp / "state.db"), "NIMWATCH_CONFIG": str(cfg)}
    return subprocess.Popen(
        [sys.executable, "-m", "nimwatch", "watch", str(logs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(tmp),
    )


def test_sigterm_mid_burst_loses_no_queued_hook_run(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    proc = _start(tmp_path, cfg, logs)
    want = _burst(logs)
    wait_for(lambda: len(_runs(tmp_path)) >= 20, timeout=120, what="the burst to start running")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    ran_before = len(set(_runs(tmp_path)))
    assert ran_before < want and "kept in the state journal" in err  # the rest was still queued
    proc = _start(tmp_path, cfg, logs)
    try:
        wait_for(lambda: len(set(_runs(tmp_path))) == want, timeout=180, what="every queued run after the restart")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    assert "queued again" in err
    assert len(_runs(tmp_path)) == want  # and none twice


def test_sighup_mid_burst_with_the_same_config_loses_no_queued_hook_run(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    proc = _start(tmp_path, cfg, logs)
    try:
        want = _burst(logs)
        wait_for(lambda: len(_runs(tmp_path)) >= 20, timeout=120, what="the burst to start running")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: len(set(_runs(tmp_path))) == want, timeout=180, what="every run despite the reload")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    assert "configuration reloaded" in err
    assert len(_runs(tmp_path)) == want
