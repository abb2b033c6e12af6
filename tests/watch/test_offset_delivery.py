"""The tailer's offset counts only bytes the sink has taken (issue 10, item 5).

A test that waits for ``Tailer.offset(log)`` to reach the end of the file may
then read the engine's state at once: the offset moves after ``feed`` returned,
never before. A gated sink holds a chunk inside ``feed`` to show the offset
does not count it yet; then a writer appends a run piece by piece (lines cut
anywhere) and after each piece the engine's state is read the moment the
offset says the piece is in. Run it beside ``stress-ng --cpu 2`` to load the
machine: it waits on conditions only, so load makes it slower, never wrong.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.feed import Chunk, FileIdentity
from nimwatch.sources.tail import Tailer

from .watchkit import running_run, success_run, wait_for

NO_RESCAN = 3600.0


class GatedSink:
    """Feeds the engine, but only once the test opens the gate (a chunk held inside ``feed``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.gate = threading.Event()
        self.holding = threading.Event()

    def feed(self, log: str, data: bytes, at: float, chunk: Chunk) -> None:
        self.holding.set()
        assert self.gate.wait(60), "the test never opened the gate"
        self.engine.feed(log, data, at)

    def restart(self, log: str, reason: str, at: float, old: FileIdentity, new: FileIdentity) -> None:
        self.engine.restart(log, reason, at)


def test_a_chunk_held_by_the_sink_is_not_counted(rules: RuleSet, tmp_path: Path, poll: Optional[float]) -> None:
    engine = Engine(rules)
    sink = GatedSink(engine)
    log = tmp_path / "lpar1_alt_mig.log"
    data = running_run("lpar1", 2).encode()
    log.write_bytes(data)
    tailer = Tailer(engine, [tmp_path], poll=poll, sink=sink, rescan=NO_RESCAN)
    tailer.start()
    try:
        assert sink.holding.wait(30), "the tailer never handed the sink a chunk"
        assert tailer.offset(str(log)) == 0  # read, handed over, not yet taken
        sink.gate.set()
        wait_for(lambda: tailer.offset(str(log)) == len(data), what="the offset to reach the end")
        state = engine.logs[str(log)]
        assert state.current is not None and state.current.current_phase == 2
    finally:
        sink.gate.set()
        tailer.stop()


def test_state_is_there_the_moment_the_offset_is(rules: RuleSet, tmp_path: Path, poll: Optional[float]) -> None:
    engine = Engine(rules)
    log = tmp_path / "lpar2_alt_mig.log"
    log.touch()
    tailer = Tailer(engine, [tmp_path], poll=poll, rescan=NO_RESCAN)
    tailer.start()
    text = success_run("lpar2", body_lines=40).encode()
    cuts = [*range(0, len(text), max(1, len(text) // 60)), len(text)]
    written = 0
    try:
        with open(log, "ab") as handle:
            for end in cuts[1:]:
                handle.write(text[written:end])
                handle.flush()
                os.fsync(handle.fileno())
                written = end
                wait_for(lambda at=written: tailer.offset(str(log)) == at, what=f"the offset to reach {written}")
                state = engine.logs[str(log)]
                complete = text[:written].count(b"\n")
                assert state.lines == complete, (written, state.lines, complete)
        state = engine.logs[str(log)]
        assert state.current is not None and state.current.current_phase == 12
    finally:
        tailer.stop()
