"""Tailer details: observer choice (NFS, polling), bounded and fair reads, idle cost, thread hygiene."""

from __future__ import annotations

import resource
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nimwatch.core.rules import RuleSet
from nimwatch.engine import Engine
from nimwatch.feed import Chunk, FileIdentity
from nimwatch.sources.observers import is_network_fs, mount_fstype, native_observer_available, observer_kind
from nimwatch.sources.tail import READ_SIZE, Tailer

from .watchkit import running_run, wait_for

MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
proc /proc proc rw 0 0
nim01:/export/alt_mig /mnt/nim\\040logs nfs4 rw,vers=4.2 0 0
/dev/sdb1 /mnt/nim\\040logs/local xfs rw 0 0
"""


def test_network_file_systems_are_recognised(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(MOUNTS)
    assert mount_fstype("/mnt/nim logs/alt_mig", str(mounts)) == "nfs4"
    assert is_network_fs("/mnt/nim logs/alt_mig", str(mounts))
    assert not is_network_fs("/mnt/nim logs/local/alt_mig", str(mounts))  # the longest mount point wins
    assert not is_network_fs("/var/adm/ras/alt_mig", str(mounts))
    assert mount_fstype("/x", str(tmp_path / "no-such-file")) is None  # AIX: no /proc/mounts


def test_observer_choice(tmp_path: Path) -> None:
    assert observer_kind(str(tmp_path), 0.5) == "polling"
    expected = "native" if native_observer_available() else "polling"
    assert observer_kind(str(tmp_path), None) == expected


class RecordingSink:
    def __init__(self) -> None:
        self.chunks: list[tuple[str, int, int]] = []
        self._lock = threading.Lock()

    def feed(self, log: str, data: bytes, at: float, chunk: Chunk) -> None:
        with self._lock:
            self.chunks.append((Path(log).name, chunk.start, len(data)))

    def restart(self, log: str, reason: str, at: float, old: FileIdentity, new: FileIdentity) -> None:
        """Restarts do not matter to these tests."""

    def sizes(self, name: str) -> int:
        with self._lock:
            return sum(n for log, _, n in self.chunks if log == name)


def test_reads_are_bounded_and_busy_logs_take_turns(rules: RuleSet, tmp_path: Path) -> None:
    data = (b"x" * 99 + b"\n") * 60_000  # 6 MB each
    size = len(data)
    for client in ("a", "b"):
        (tmp_path / f"{client}_alt_mig.log").write_bytes(data)
    sink = RecordingSink()
    tailer = Tailer(Engine(rules), [tmp_path], sink=sink)
    tailer.start()
    try:
        wait_for(lambda: sink.sizes("a_alt_mig.log") == size and sink.sizes("b_alt_mig.log") == size,
                 what="both files read")
    finally:
        tailer.stop()
    assert max(n for _, _, n in sink.chunks) <= READ_SIZE
    order = [name for name, _, _ in sink.chunks]
    first_b = order.index("b_alt_mig.log")
    last_a = len(order) - 1 - order[::-1].index("a_alt_mig.log")
    assert first_b < last_a  # b was read while a still had data: turns, not one file to the end
    starts = [start for name, start, _ in sink.chunks if name == "a_alt_mig.log"]
    assert starts == sorted(starts) and starts[0] == 0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.parametrize("poll", [None, 1.0])
def test_idle_logs_cost_next_to_nothing(rules: RuleSet, tmp_path: Path, poll: Any) -> None:
    if poll is None and not native_observer_available():
        pytest.skip("no native observer")
    for i in range(50):
        (tmp_path / f"lpar{i}_alt_mig.log").write_text(running_run(f"lpar{i}", 2))
    tailer = Tailer(Engine(rules), [tmp_path], poll=poll)
    tailer.start()
    try:
        wait_for(lambda: all(tailer.offset(log) for log in tailer.logs) and len(tailer.logs) == 50, what="all read")
        before, start = _cpu(), time.monotonic()
        time.sleep(1.5)  # measuring idle cost: nothing to wait for
        used = (_cpu() - before) / (time.monotonic() - start)
    finally:
        tailer.stop()
    assert used < 0.05, f"{used:.1%} of a core while idle"


def test_stop_joins_every_thread(rules: RuleSet, tmp_path: Path) -> None:
    before = set(threading.enumerate())
    tailer = Tailer(Engine(rules), [tmp_path, tmp_path / "x_alt_mig.log"], poll=0.05)
    tailer.start()
    (tmp_path / "y_alt_mig.log").write_text(running_run("y", 1))
    wait_for(lambda: tailer.offset(str(tmp_path / "y_alt_mig.log")), what="the log read")
    tailer.stop()
    assert set(threading.enumerate()) - before == set()
