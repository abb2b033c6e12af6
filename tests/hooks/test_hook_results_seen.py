"""A hook that failed under ``watch`` is seen by ``status`` and the TUI's session beside it (from the journal).

Real processes: ``nimwatch watch --once`` runs a real failing hook over a real log and keeps its result in
the state journal; ``nimwatch status`` then shows it under its table, and a live session built as ``tui``
builds it reduces it into the run's state.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from nimwatch import session as sessions
from nimwatch.config import load_config
from nimwatch.core.rules import RuleSet
from nimwatch.journal import Journal
from nimwatch.sources.hook_results import NS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_logs"


def _nimwatch(*argv: str, cfg: Path, state: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "NIMWATCH_STATE": str(state),
        "NIMWATCH_CONFIG": str(cfg),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", *argv], capture_output=True, text=True, env=env, cwd=str(cfg.parent),
        timeout=300,
    )  # fmt: skip


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(SAMPLES / "fail1lvm_alt_mig.log", logs / "lpar7_alt_mig.log")
    script = tmp_path / "notify.sh"
    script.write_text("#!/bin/sh\necho 'mail relay refused' >&2\nexit 3\n")
    script.chmod(0o755)
    state = tmp_path / "state" / "state.db"
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text(
        f"state: {state}\nhooks:\n  - name: notify\n    on: [run_failed]\n    run: ['{script}', '{{client}}']\n"
        "    retries: 0\n"
    )
    cfg.chmod(0o600)
    return logs, cfg, state


def test_status_shows_the_hook_that_failed_under_watch(tmp_path: Path) -> None:
    logs, cfg, state = _setup(tmp_path)
    watched = _nimwatch("watch", "--once", "--config", str(cfg), str(logs), cfg=cfg, state=state)
    assert watched.returncode == 1, watched.stderr  # a run failed
    journal = Journal.open(state, readonly=True)
    try:
        (key,) = journal.kv_items(NS)
    finally:
        journal.close()
    assert '"notify"' in key and str((logs / "lpar7_alt_mig.log").resolve()) in key

    status = _nimwatch("status", "--config", str(cfg), str(logs), cfg=cfg, state=state)
    assert "hook notify failed: exit status 3 (attempt 1)" in status.stdout, status.stdout + status.stderr


def test_the_tuis_session_reduces_the_watchers_hook_results_into_the_run(tmp_path: Path, rules: RuleSet) -> None:
    logs, cfg, state = _setup(tmp_path)
    assert _nimwatch("watch", "--once", "--config", str(cfg), str(logs), cfg=cfg, state=state).returncode == 1
    config = load_config(cfg)
    session = sessions.live(config, rules, [logs])  # as `nimwatch tui` builds it: no sink, the read-only journal
    try:
        assert session.hook_results is not None and session.hook_results in session.outside
        assert session.hook_results.tick() == 0  # the log is not read yet: its run does not exist
        session.tailer.scan_once()
        assert session.hook_results.tick() == 1
        assert session.hook_results.tick() == 0  # each result once
        (state_of_log,) = session.engine.logs.values()
        (failed,) = state_of_log.run(1).failed_hooks
        assert (failed.hook, failed.exit_status, failed.trigger) == ("notify", 3, "run_finished")
    finally:
        session.tailer.stop()
        if session.journal is not None:
            session.journal.close()
