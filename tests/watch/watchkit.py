"""Helpers for the watch tests: waiting on conditions, collecting notices, writing nimadm-like logs."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Optional

from nimwatch.engine import Engine, Notice

RULE = "+" + "-" * 77 + "+"
DEADLINE = 15.0


def wait_for(predicate: Callable[[], Any], timeout: float = DEADLINE, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.01)


class Collector:
    """Thread-safe list of the notices an engine (or a recorder) hands out."""

    def __init__(self, engine: Optional[Engine] = None) -> None:
        self.items: list[Notice] = []
        self._lock = threading.Lock()
        if engine is not None:
            engine.subscribe(self)

    def __call__(self, notice: Notice) -> None:
        with self._lock:
            self.items.append(notice)

    def events(self, *names: str, log: Optional[str] = None) -> list[Notice]:
        with self._lock:
            return [
                n for n in self.items if (not names or n.event in names) and (log is None or n.log == log)
            ]

    def public(self) -> list[Notice]:
        with self._lock:
            return [n for n in self.items if n.public]

    def keys(self, *names: str) -> list[tuple[Any, ...]]:
        """(log, event, phase, line, rule) of the notices: what identifies them across runs."""
        return [(n.log, n.event, n.phase, n.get("line"), n.get("rule")) for n in self.events(*names)]


class StreamBytes:
    """Everything a process writes to one pipe, collected by a thread: a test never blocks on a read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for line in stream:
            with self._lock:
                self._chunks.append(line)

    def data(self) -> bytes:
        with self._lock:
            return b"".join(self._chunks)

    def text(self) -> str:
        return self.data().decode("utf-8", "replace")

    def join(self) -> None:
        self._thread.join(timeout=30)


def banner(phase: int) -> str:
    return f"{RULE}\nExecuting nimadm phase {phase}.\n{RULE}\n"


def preamble(client: str) -> str:
    return (
        "Initializing the NIM master.\n"
        f"Initializing NIM client {client}.\n"
        "Verifying alt_disk_migration eligibility.\n"
        f"Initializing log: /var/adm/ras/alt_mig/{client}_alt_mig.log\n"
        "Starting Alternate Disk Migration.\n"
    )


def phase_body(phase: int, lines: int = 3) -> str:
    return "".join(f"Working in phase {phase}, step {i}.\n" for i in range(1, lines + 1))


def success_run(client: str, body_lines: int = 3) -> str:
    """A whole successful nimadm run: preamble, phases 1-12, the clean-up that ends a good run."""
    parts = [preamble(client)]
    for phase in range(1, 13):
        parts.append(banner(phase))
        if phase < 12:
            parts.append(phase_body(phase, body_lines))
    parts.append("Cleaning up alt_disk_migration on the NIM master.\n")
    parts.append(f"Cleaning up alt_disk_migration on client {client}.\n")
    return "".join(parts)


def failing_run(client: str, phase: int = 1) -> str:
    """A run that fails in ``phase`` with 0505-111 (target disk too small) and cleans up."""
    parts = [preamble(client)]
    for p in range(1, phase + 1):
        parts.append(banner(p))
        parts.append(phase_body(p))
    parts.append("0505-111 alt_disk_install: There is not enough disk space on target disks specified.\n")
    parts.append("0505-187 nimadm: Error cloning altinst_rootvg on client.\n")
    parts.append("Cleaning up alt_disk_migration on the NIM master.\n")
    parts.append(f"Cleaning up alt_disk_migration on client {client}.\n")
    return "".join(parts)


def running_run(client: str, upto: int) -> str:
    """A run still going: preamble and phases 1..upto."""
    parts = [preamble(client)]
    for p in range(1, upto + 1):
        parts.append(banner(p))
        parts.append(phase_body(p))
    return "".join(parts)


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()


def write_slowly(path: Path, text: str, pieces: int) -> None:
    """Append ``text`` in ``pieces`` writes (cut anywhere, not only at line ends)."""
    data = text.encode("utf-8")
    step = max(1, len(data) // pieces)
    with open(path, "ab") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            os.fsync(handle.fileno())
