"""A hook result kept by a ``watch`` that saw nimadm begin a log anew names the run as the views read it.

nimadm starts a client's log afresh for each migration ("Initializing log"), so a watcher that runs for
weeks sees the same name hold one content after another and numbers the runs on (the second migration
is its run 2); ``status`` and the TUI read only the log's current content (that migration is their run
1). Real processes: a long-running ``nimwatch watch`` with a real hook, the log rewritten under it, then
``nimwatch status``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import IO, Any, Callable

import pytest
from watch.watchkit import wait_for

from hooks.hookkit import FAILING_NOTIFY, ROOT, failed_run_with_hook, nimwatch_env
from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.journal import Journal
from nimwatch.sources.hook_results import HookResultFollower

SAMPLES = ROOT / "sample_logs"
DEADLINE = 120.0  # real processes on a loaded machine


def _setup(tmp_path: Path, hook: str) -> tuple[Path, Path, Path]:
    return failed_run_with_hook(tmp_path, hook, extra="    timeout: 300\n")


def _watch(logs: Path, cfg: Path, state: Path, out: IO[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nimwatch", "watch", "--poll", "0.2", "--config", str(cfg), str(logs)],
        stdout=out, stderr=subprocess.DEVNULL, text=True, env=nimwatch_env(cfg, state), cwd=str(cfg.parent),
    )  # fmt: skip


def _stop(watch: subprocess.Popen[str]) -> None:
    if watch.poll() is None:
        watch.send_signal(signal.SIGTERM)
    watch.wait(DEADLINE)


def _events(out: Path, event: str) -> list[dict[str, object]]:
    text = out.read_text() if out.exists() else ""
    lines = text[: text.rfind("\n") + 1].splitlines()  # whole lines only: the last may be half written
    return [row for row in map(json.loads, lines) if row.get("event") == event]


def _poll(predicate: Callable[[], Any], what: str) -> Any:
    """``wait_for`` at a pace fit for opening the journal each time (a loaded machine)."""
    end = time.monotonic() + DEADLINE
    while not (found := predicate()):
        assert time.monotonic() < end, f"timed out after {DEADLINE:g} s waiting for {what}"
        time.sleep(0.1)
    return found


def _rows(state: Path) -> dict[tuple[str, int, str], dict[str, object]]:
    if not state.exists():
        return {}
    journal = Journal.open(state, readonly=True)
    try:
        return {tuple(json.loads(k)): json.loads(v) for k, v in journal.hook_results().items()}  # type: ignore[misc]
    finally:
        journal.close()


def _generation(state: Path, log: Path) -> object:
    journal = Journal.open(state, readonly=True)
    try:
        return journal.generation(str(log))
    finally:
        journal.close()


def _status(logs: Path, cfg: Path, state: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "nimwatch", "status", "--config", str(cfg), str(logs)],
        capture_output=True, text=True, env=nimwatch_env(cfg, state), cwd=str(cfg.parent), timeout=DEADLINE,
    )  # fmt: skip
    return done.stdout + done.stderr


def test_status_shows_the_failed_hook_of_a_rerun_the_watcher_numbers_on(tmp_path: Path) -> None:
    """Before: the watcher kept the result as run 2, ``status`` (run 1) did not show the failed hook."""
    logs, cfg, state = _setup(tmp_path, FAILING_NOTIFY)
    log, out = logs / "lpar7_alt_mig.log", tmp_path / "watch.out"
    with out.open("w") as stdout:
        watch = _watch(logs, cfg, state, stdout)
        try:
            wait_for(lambda: len(_events(out, "hook_result")) == 1, DEADLINE, "the first migration's hook")
            # the rerun: nimadm begins the log anew, and fails again (the NFS export this time)
            log.write_bytes((SAMPLES / "fail3nfs_alt_mig.log").read_bytes())
            second = wait_for(lambda: _events(out, "hook_result")[1:], DEADLINE, "the rerun's hook")
        finally:
            _stop(watch)
    assert second[0]["run"] == 2  # the watcher numbers on
    rows = _rows(state)
    assert sorted(rows) == [(str(log.resolve()), 1, "notify")]  # the first run of the new content
    assert rows[(str(log.resolve()), 1, "notify")]["generation"] == 2

    shown = _status(logs, cfg, state)
    assert "lpar7: hook notify failed: exit status 3 (attempt 1)" in shown, shown
    assert "1831-011" in shown  # the rerun's cause: the row is about the content status reads


def test_a_hook_that_ends_after_the_log_was_begun_anew_is_not_kept_for_the_new_run(tmp_path: Path) -> None:
    """The first migration's hook is still running when nimadm begins the log anew and succeeds; its
    failed result comes after. Before: it was kept as run 1 of the new content, and ``status`` showed the
    old failure under the migration that succeeded."""
    release = tmp_path / "release"
    logs, cfg, state = _setup(
        tmp_path, f"#!/bin/sh\nwhile [ ! -e '{release}' ]; do sleep 0.05; done\necho refused >&2\nexit 3\n"
    )
    log, out = logs / "lpar7_alt_mig.log", tmp_path / "watch.out"
    with out.open("w") as stdout:
        watch = _watch(logs, cfg, state, stdout)
        try:
            wait_for(lambda: _events(out, "run_finished"), DEADLINE, "the first migration's end")
            log.write_bytes((SAMPLES / "web73_alt_mig.log").read_bytes().replace(b"web73", b"lpar7"))
            _poll(lambda: _generation(state, log) == 2, "the new content to be recorded")
            wait_for(
                lambda: [e for e in _events(out, "run_finished") if e.get("outcome") == "succeeded"],
                DEADLINE, "the rerun's success",
            )  # fmt: skip
            release.touch()
            (late,) = wait_for(lambda: _events(out, "hook_result"), DEADLINE, "the late hook result")
        finally:
            release.touch()
            _stop(watch)
    assert late["run"] == 1 and late["exit_status"] == 3  # said on stdout, about the old run
    assert _rows(state) == {}  # but not kept as the new content's run 1

    shown = _status(logs, cfg, state)
    assert "1 succeeded" in shown and "hook notify" not in shown, shown


class _Rows:
    """The journal side of :class:`HookResultFollower`: the rows ``watch`` kept."""

    def __init__(self, rows: dict[str, str]) -> None:
        self.rows = rows

    def hook_results(self) -> dict[str, str]:
        return self.rows


def test_a_view_that_saw_the_log_begun_anew_puts_the_result_on_its_own_number_of_the_run(rules: RuleSet) -> None:
    """The TUI, open through both migrations, numbers the rerun 2 as the watcher does; the row says "the
    first run of the content": it lands on run 2, not on the first migration's run 1."""
    log = "/var/adm/ras/alt_mig/lpar7_alt_mig.log"
    engine = Engine(rules)
    engine.add_log(log)
    engine.feed(log, (SAMPLES / "fail1lvm_alt_mig.log").read_bytes(), 1000.0)
    engine.restart(log, "the file was begun anew", 2000.0)
    engine.feed(log, (SAMPLES / "fail3nfs_alt_mig.log").read_bytes(), 2000.0)
    row = {"client": "lpar7", "phase": 3, "trigger": "run_finished", "on": "run_failed", "exit_status": 3,
           "attempt": 1, "at": 2100.0, "generation": 2}  # fmt: skip
    follower = HookResultFollower(engine, _Rows({json.dumps([log, 1, "notify"]): json.dumps(row)}), lambda n: True)

    assert follower.tick() == 1
    state = engine.logs[log]
    assert [len(state.run(n).failed_hooks) for n in (1, 2)] == [0, 1]


@pytest.mark.parametrize("replaced", [False, True], ids=["same-log", "log-replaced-while-down"])
def test_a_hook_run_kept_over_a_restart_keeps_the_position_of_its_run(tmp_path: Path, replaced: bool) -> None:
    """The watcher is killed while a hook runs; the run is kept in the journal and runs again at the next
    start, before the logs are read. Its result names the run it was queued for: kept for the same log
    (before: dropped, the restarted watcher had no content for it yet), not kept when nimadm began the log
    anew meanwhile (before: shown under the new migration that succeeded)."""
    release, pid = tmp_path / "release", tmp_path / "hook.pid"
    logs, cfg, state = _setup(
        tmp_path,
        f"#!/bin/sh\necho $$ > '{pid}'\nwhile [ ! -e '{release}' ]; do sleep 0.05; done\necho refused >&2\nexit 3\n",
    )
    log, out = logs / "lpar7_alt_mig.log", tmp_path / "watch.out"
    with out.open("w") as stdout:
        watch = _watch(logs, cfg, state, stdout)
        try:
            wait_for(lambda: pid.exists() and pid.read_text().strip(), DEADLINE, "the hook to start")
            watch.kill()
            watch.wait(DEADLINE)
        finally:
            _stop(watch)
    os.kill(int(pid.read_text()), signal.SIGKILL)
    journal = Journal.open(state, readonly=True)
    try:
        assert len(journal.hook_jobs()) == 1  # kept for the next start
    finally:
        journal.close()
    if replaced:
        fresh = tmp_path / "fresh.log"
        fresh.write_bytes((SAMPLES / "web73_alt_mig.log").read_bytes().replace(b"web73", b"lpar7"))
        os.replace(fresh, log)
    release.touch()

    again = subprocess.run(
        [sys.executable, "-m", "nimwatch", "watch", "--once", "--config", str(cfg), str(logs)],
        capture_output=True, text=True, env=nimwatch_env(cfg, state), cwd=str(cfg.parent), timeout=DEADLINE,
    )  # fmt: skip
    assert [e["exit_status"] for e in map(json.loads, again.stdout.splitlines()) if e["event"] == "hook_result"] == [3]
    shown = _status(logs, cfg, state)
    if replaced:
        assert _rows(state) == {}
        assert "1 succeeded" in shown and "hook notify" not in shown, shown
    else:
        assert [row["generation"] for row in _rows(state).values()] == [1]
        assert "lpar7: hook notify failed: exit status 3 (attempt 1)" in shown, shown


@pytest.mark.parametrize("how", ["in-place", "renamed-over"])
def test_a_view_holds_a_result_until_its_tailer_has_seen_the_log_begun_anew(
    tmp_path: Path, rules: RuleSet, how: str
) -> None:
    """The TUI read lpar7's failed migration (NFS); nimadm begins the log anew (truncated and written again, or a
    new file renamed over it) and the watcher keeps a hook result about the new content's run 1 before the
    TUI's own poll has looked at the file. The result waits for that look, then lands on the new run (2 in
    this view), never on the old migration's run 1 (before: given at once, the old offset being past the
    new, shorter file's end)."""
    from nimwatch.launcher.exits import read_to_end
    from nimwatch.sources.tail import Tailer

    log = tmp_path / "lpar7_alt_mig.log"
    log.write_bytes((SAMPLES / "fail3nfs_alt_mig.log").read_bytes())
    engine = Engine(rules)
    tailer = Tailer(engine, [tmp_path], retrying=False)
    tailer.scan_once()
    (name,) = engine.logs
    assert read_to_end(tailer, name)
    rerun = (SAMPLES / "fail1lvm_alt_mig.log").read_bytes()
    assert len(rerun) < log.stat().st_size  # a new migration's log begins shorter than the finished one
    if how == "in-place":
        with log.open("r+b") as handle:
            handle.truncate(0)
            handle.write(rerun)
    else:
        fresh = tmp_path / "fresh.tmp"
        fresh.write_bytes(rerun)
        os.replace(fresh, log)
    row = {"client": "lpar7", "phase": 3, "trigger": "run_finished", "on": "run_failed", "exit_status": 3,
           "attempt": 1, "at": 2100.0, "generation": 2}  # fmt: skip
    rows = _Rows({json.dumps([os.path.realpath(name), 1, "notify"]): json.dumps(row)})
    follower = HookResultFollower(engine, rows, partial(read_to_end, tailer))

    assert follower.tick() == 0  # held: this view has not seen the new content yet
    assert not engine.logs[name].run(1).failed_hooks
    tailer.scan_once()
    assert follower.tick() == 1
    state = engine.logs[name]
    assert [len(state.run(n).failed_hooks) for n in (1, 2)] == [0, 1]
