"""Following what the file really is: a truncation the reader never saw, a log replaced while nimwatch was down."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Optional

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.feed import Chunk, FileIdentity
from nimwatch.sources.tail import EngineSink, Tailer

from .proc import run_once
from .servers import HttpReceiver
from .watchkit import Collector, append, failing_run, running_run, wait_for

NO_RESCAN = 3600.0


class GatedSink(EngineSink):
    """The engine sink, but feeding ``gated_log`` waits for ``release``: the reader thread is kept busy."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.gated_log: Optional[str] = None
        self.inside = threading.Event()
        self.release = threading.Event()

    def feed(self, log: str, data: bytes, at: float, chunk: Chunk) -> None:
        if log == self.gated_log:
            self.inside.set()
            assert self.release.wait(60)
        super().feed(log, data, at, chunk)

    def restart(self, log: str, reason: str, at: float, old: FileIdentity, new: FileIdentity) -> None:
        super().restart(log, reason, at, old, new)


def test_truncate_and_identical_rewrite_is_a_new_run_even_when_the_reader_never_saw_it_short(
    rules: RuleSet, tmp_path: Path, poll: Optional[float]
) -> None:
    """A re-run that fails exactly like the last one rewrites the log with the same bytes. The reader is busy
    elsewhere the whole time, so it only ever sees the file at its old size; the watcher saw the size drop."""
    engine = Engine(rules)
    notices = Collector(engine)
    sink = GatedSink(engine)
    tailer = Tailer(engine, [tmp_path], poll=poll, sink=sink, rescan=NO_RESCAN)
    log = tmp_path / "lpar1_alt_mig.log"
    other = tmp_path / "lpar2_alt_mig.log"
    text = failing_run("lpar1", 1)
    tailer.start()
    try:
        append(log, text)
        append(other, running_run("lpar2", 1))
        wait_for(lambda: len(notices.events("run_finished", log=str(log))) == 1, what="the first run's end")
        wait_for(lambda: notices.events("run_started", log=str(other)), what="the other log")
        sink.gated_log = str(other)
        append(other, "one more line\n")
        assert sink.inside.wait(30)  # the reader is held inside the other log's feed from now on
        with open(log, "w", encoding="utf-8"):
            pass  # truncated to 0
        wait_for(lambda: tailer.truncation_seen(str(log)), what="the size drop to be seen")
        log.write_text(text, encoding="utf-8")  # the same bytes again: same size, same first and last lines
        sink.release.set()
        wait_for(lambda: len(notices.events("run_finished", log=str(log))) == 2, what="the second run's end")
    finally:
        sink.release.set()
        tailer.stop()
    assert [str(n.get("reason")) for n in notices.events("log_restarted", log=str(log))] == ["truncated"]
    assert [n.run for n in notices.events("run_started", log=str(log))] == [1, 2]


def _events(done: Any) -> list[dict[str, Any]]:
    assert "Traceback" not in done.stderr, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_log_rotated_while_nimwatch_was_down_is_read_to_its_end_then_the_new_one(tmp_path: Path) -> None:
    http = HttpReceiver()
    config = tmp_path / "nimwatch.yaml"
    config.write_text(f"alerts:\n  - type: webhook\n    url: {http.url}/a\n    events: [run_finished]\n")
    config.chmod(0o600)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    state = tmp_path / "state.db"
    append(log, running_run("lpar1", 2))
    try:
        assert [e["event"] for e in _events(run_once([str(logs)], config, state, tmp_path))][-1] == "phase_started"
        # while nimwatch is down: the run fails, then the log is rotated and a new run starts
        append(log, "0505-111 alt_disk_install: There is not enough disk space on target disks specified.\n"
                    "0505-187 nimadm: Error cloning altinst_rootvg on client.\n"
                    "Cleaning up alt_disk_migration on the NIM master.\nCleaning up alt_disk_migration on client lpar1.\n")
        os.rename(log, logs / "lpar1_alt_mig.log.1")
        append(log, running_run("lpar1", 1))
        events = _events(run_once([str(logs)], config, state, tmp_path))
        names = [e["event"] for e in events]
        assert names[0] == "log_replaced"
        assert events[0]["rotated_to"] == str(logs / "lpar1_alt_mig.log.1") and events[0]["log"] == str(log)
        failed = names.index("run_finished")
        assert events[failed]["outcome"] == "failed" and events[failed]["run"] == 1  # the rotated file's end
        assert [(e["event"], e["run"]) for e in events[failed + 1 :]] == [
            ("run_started", 2),
            ("phase_started", 2),
        ]
        wait_for(lambda: [b["outcome"] for b in http.bodies()] == ["failed"], what="the alert for the failed run")
    finally:
        http.close()


def test_a_log_replaced_while_nimwatch_was_down_without_its_old_file_is_said_to_be_so(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "lpar1_alt_mig.log"
    state = tmp_path / "state.db"
    append(log, running_run("lpar1", 2))
    _events(run_once([str(logs)], None, state, tmp_path))
    os.rename(log, tmp_path / "elsewhere.log")  # rotated out of the directory (or compressed)
    append(log, running_run("lpar1", 1))
    done = run_once([str(logs)], None, state, tmp_path)
    events = _events(done)
    assert events[0]["event"] == "log_replaced" and events[0]["rotated_to"] is None
    assert "lost" in events[0]["reason"] and "log replaced" not in done.stderr and "lost" in done.stderr
    assert [(e["event"], e["phase"]) for e in events[1:]] == [("run_started", None), ("phase_started", 1)]
