"""A hook that failed under ``watch`` is seen by ``status`` and the TUI's session beside it (from the journal).

Real processes: ``nimwatch watch --once`` runs a real failing hook over a real log and keeps its result in
the state journal; ``nimwatch status`` then shows it under its table, and a live session built as ``tui``
builds it reduces it into the run's state. The journal forgets a result with the log's content it is about.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

from hooks.hookkit import ROOT, failed_run_with_hook, nimwatch_env
from nimwatch import session as sessions
from nimwatch.config import load_config
from nimwatch.core.events import HookRan
from nimwatch.core.rules import RuleSet
from nimwatch.feed import FileIdentity
from nimwatch.journal import Journal
from nimwatch.sources.hook_results import keep_hook_result

SAMPLES = ROOT / "sample_logs"


def _nimwatch(*argv: str, cfg: Path, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", *argv], capture_output=True, text=True, env=nimwatch_env(cfg, state),
        cwd=str(cfg.parent), timeout=300,
    )  # fmt: skip


def test_status_shows_the_hook_that_failed_under_watch(tmp_path: Path) -> None:
    logs, cfg, state = failed_run_with_hook(tmp_path)
    watched = _nimwatch("watch", "--once", "--config", str(cfg), str(logs), cfg=cfg, state=state)
    assert watched.returncode == 1, watched.stderr  # a run failed
    journal = Journal.open(state, readonly=True)
    try:
        (key,) = journal.hook_results()
    finally:
        journal.close()
    assert '"notify"' in key and str((logs / "lpar7_alt_mig.log").resolve()) in key

    status = _nimwatch("status", "--config", str(cfg), str(logs), cfg=cfg, state=state)
    assert "hook notify failed: exit status 3 (attempt 1)" in status.stdout, status.stdout + status.stderr


def test_the_tuis_session_reduces_the_watchers_hook_results_into_the_run(tmp_path: Path, rules: RuleSet) -> None:
    logs, cfg, state = failed_run_with_hook(tmp_path)
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


def _keys(state: Path) -> list[tuple[str, int, str]]:
    """(log, run, hook) of each hook result the journal file holds."""
    journal = Journal.open(state, readonly=True)
    try:
        return sorted(tuple(json.loads(key)) for key in journal.hook_results())
    finally:
        journal.close()


def test_the_results_of_a_replaced_log_are_forgotten_with_its_old_content(tmp_path: Path) -> None:
    """The log is replaced by a migration that succeeds: the journal forgets the old content's result (the
    row stayed for good before, and ``status`` showed the old run's failed hook on the new run 1); another
    log's result stays."""
    logs, cfg, state = failed_run_with_hook(tmp_path)
    replaced, other = logs / "lpar7_alt_mig.log", logs / "lpar8_alt_mig.log"
    shutil.copy(replaced, other)
    assert _nimwatch("watch", "--once", "--config", str(cfg), str(logs), cfg=cfg, state=state).returncode == 1
    assert _keys(state) == [(str(replaced.resolve()), 1, "notify"), (str(other.resolve()), 1, "notify")]

    fresh = tmp_path / "fresh.log"
    shutil.copy(SAMPLES / "web73_alt_mig.log", fresh)
    os.replace(fresh, replaced)  # a new file under the name, while no watcher runs
    assert _nimwatch("watch", "--once", "--config", str(cfg), str(logs), cfg=cfg, state=state).returncode == 1
    assert _keys(state) == [(str(other.resolve()), 1, "notify")]
    status = _nimwatch("status", "--config", str(cfg), str(replaced), cfg=cfg, state=state)
    assert "1 succeeded" in status.stdout and "hook notify" not in status.stdout, status.stdout + status.stderr


def test_forgetting_old_generations_keeps_the_current_contents_results(tmp_path: Path) -> None:
    """Straight on a journal file: a log's results of contents before ``keep`` (or of none known) go; its
    results of the content kept and the other logs' results stay; a result about a content the journal has
    replaced is not kept."""
    state = tmp_path / "state.db"
    journal = Journal.open(state)
    log, other = str(tmp_path / "lpar1_alt_mig.log"), str(tmp_path / "lpar2_alt_mig.log")

    def kept(name: str, run: int, hook: str, generation: Optional[int] = None) -> None:
        if generation is None:  # (the position a result could have had before the log was recorded)
            assert journal.keep_hook_result(name, run, hook, {"exit_status": 1})
            return
        ran = HookRan(run, 2, "lpar", hook, "run_finished", "run_failed", 1, False, None, False, 1, False)
        keep_hook_result(journal, name, (generation, run), ran, 1000.0)

    try:
        kept(log, 1, "unknown")  # kept before the log was recorded: no generation
        for generation in (1, 2):
            journal.record_file(log, FileIdentity(1, 2, generation, 10, 5, "h", "p"), 1, 1000.0, checkpoint=False)
            kept(log, generation, f"gen{generation}", generation)
        kept(log, 1, "late", 1)  # a result about content 1 that ends after content 2 was recorded: refused
        journal.record_file(other, FileIdentity(1, 3, 1, 10, 5, "h", "p"), 1, 1000.0, checkpoint=False)
        kept(other, 1, "gen1", 1)
        journal.forget_generations(log, 2)
    finally:
        journal.close()
    assert _keys(state) == [(log, 2, "gen2"), (other, 1, "gen1")]
