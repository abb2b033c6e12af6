"""Following what the file really is: a truncation the reader never saw, a log replaced while nimwatch was down."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.sources.tail import Chunk, EngineSink, FileIdentity, Tailer

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
