"""The run history as people and programs read it: a text table, CSV and JSON.

Owns :func:`render_text` (one line per run, its phase durations on the line
below, a summary at the end), :func:`render_csv` (scalar columns, one column
per phase and per size) and :func:`render_json` (``{"schema": ..., "runs":
[...]}``, each run the record's documented JSON object plus its key and
duration). Text from logs and file names (client, master, log) is escaped
by the caller's terminal-safe writer (:mod:`nimwatch.terminal`); JSON is
ASCII-only. Times in text are local time; in CSV and JSON, Unix seconds and
ISO 8601 UTC.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Sequence
from typing import Any, Optional

from nimwatch.core.history import PHASE_COUNT, PROGRESS_SIZES, HistoryRecord
from nimwatch.eta_live import short_duration
from nimwatch.schema import SCHEMA_VERSION

SIZE_NAMES = tuple(sorted(set(PROGRESS_SIZES.values())))
SCALAR_COLUMNS = (
    "client",
    "master",
    "log",
    "run",
    "outcome",
    "failed_phase",
    "mode",
    "partial",
    "variants",
    "source_level",
    "target_level",
    "started_at",
    "finished_at",
    "started",
    "finished",
    "seconds",
    "usable_for_eta",
)
CSV_COLUMNS = (*SCALAR_COLUMNS, *(f"phase_{n}" for n in range(1, PHASE_COUNT + 1)), *SIZE_NAMES)
"""CSV header: times as Unix seconds and as ISO 8601 UTC, phase durations in seconds (empty: not timed)."""


def iso_utc(at: Optional[float]) -> str:
    return "" if at is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def local_stamp(at: Optional[float]) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def _seconds(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.3f}".rstrip("0").rstrip(".")


def seen_seconds(record: HistoryRecord) -> Optional[float]:
    """Start to finish of a run nimwatch saw happen (None: unknown, or its lines were read all at once)."""
    return record.duration or None


def render_json(records: Sequence[HistoryRecord]) -> str:
    runs = [
        {**r.to_json(), "key": r.key, "seconds": seen_seconds(r), "usable_for_eta": r.usable_for_eta} for r in records
    ]
    return json.dumps({"schema": SCHEMA_VERSION, "runs": runs}, indent=2, ensure_ascii=True) + "\n"


def render_csv(records: Sequence[HistoryRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        derived = {
            "failed_phase": "" if r.failed_phase is None else r.failed_phase,
            "partial": int(r.partial),
            "variants": " ".join(r.variants),
            "started_at": _seconds(r.started_at),
            "finished_at": _seconds(r.finished_at),
            "started": iso_utc(r.started_at),
            "finished": iso_utc(r.finished_at),
            "seconds": _seconds(seen_seconds(r)),
            "usable_for_eta": int(r.usable_for_eta),
        }
        row: list[Any] = [derived[c] if c in derived else getattr(r, c) for c in SCALAR_COLUMNS]
        row.extend(_seconds(r.phases.get(n)) for n in range(1, PHASE_COUNT + 1))
        row.extend(r.sizes.get(name, "") for name in SIZE_NAMES)
        writer.writerow(row)
    return out.getvalue()


def _phase_line(record: HistoryRecord) -> str:
    if not record.phases:
        return "    phase times not known (the journal did not see this run)"
    cells = [
        f"{n}:{short_duration(record.phases[n]) if n in record.phases else '-'}" for n in range(1, PHASE_COUNT + 1)
    ]
    return "    " + " ".join(cells)


def render_text(records: Sequence[HistoryRecord]) -> str:
    """A table: finish time, client, run, outcome, mode, levels, total time, master; phases below."""
    if not records:
        return "no runs in the history\n"
    header = ("FINISHED", "CLIENT", "RUN", "OUTCOME", "MODE", "LEVEL", "TIME", "MASTER")
    rows = []
    for r in records:
        outcome = r.outcome + (f" ({r.failed_phase})" if r.failed_phase else "")
        if r.partial:
            outcome += " -P"
        level = (f"{r.source_level}->" if r.source_level else "") + (r.target_level or "-")
        finished = local_stamp(r.finished_at if r.finished_at is not None else r.started_at)
        took = short_duration(r.duration) if r.duration else "-"
        rows.append((finished, r.client, str(r.run), outcome, r.mode or "-", level, took, r.master or "-"))
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    for record, row in zip(records, rows):
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), _phase_line(record)]
    counts = {o: sum(1 for r in records if r.outcome == o) for o in ("succeeded", "failed", "incomplete")}
    usable = sum(1 for r in records if r.usable_for_eta)
    lines.append(
        f"{len(records)} run{'s' if len(records) != 1 else ''}: "
        + ", ".join(f"{n} {o}" for o, n in counts.items() if n)
        + f"; {usable} usable for the ETA (succeeded, complete, timed)"
    )
    return "\n".join(lines) + "\n"
