"""One finished nimadm run as a history record: the shape the ETA learns from.

Owns :class:`HistoryRecord` (client, master, levels, mode, partial flag,
outcome, per-phase durations in seconds, the sizes the log showed), its JSON
object shape (:meth:`HistoryRecord.to_json` / :meth:`HistoryRecord.from_json`),
its SQLite row shape (:data:`ROW_COLUMNS`, :meth:`HistoryRecord.to_row` /
:meth:`HistoryRecord.from_row`, :data:`TABLE_SQL`) and :func:`record_from_run`,
which builds a record from the reducer's :class:`~nimwatch.core.state.RunState`.
Pure: no file, clock or database access here; the state journal stores the rows.

JSON shape (version 1)::

    {"version": 1, "client": "lpar1", "master": "nim01", "log": "/var/adm/ras/alt_mig/lpar1_alt_mig.log",
     "run": 1, "source_level": "7.2", "target_level": "7.3", "mode": "cache", "partial": false,
     "variants": ["cache"], "outcome": "succeeded", "failed_phase": null,
     "started_at": 1700000000.0, "finished_at": 1700004200.0,
     "phases": {"1": 181.0, "2": 59.5, ...}, "sizes": {"filesets": 912, "cache_filesystems": 9}}

``phases`` maps a phase number (as a string, JSON keys are strings) to the
seconds it took, measured from arrival times; a phase whose times are not
known (a log that began mid-run, an import without journal timings) is left
out, never written as 0. ``sizes`` holds the counts the log showed (the
parser's progress totals: filesets, file systems, merge methods).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Optional

from nimwatch.core.events import Outcome, PhaseStatus
from nimwatch.core.outside import NOT_MIGRATIONS
from nimwatch.core.state import RunState

RECORD_VERSION = 1
"""Version of the JSON and row shapes; bumped when a field changes meaning."""

MODES = ("cache", "nfs", "mksysb")
"""How the run reached the client's data: local disk caching (-j VG), NFS, or a mksysb image (-T)."""

OUTCOMES = (Outcome.SUCCEEDED.value, Outcome.FAILED.value, Outcome.INCOMPLETE.value)
"""Outcomes a finished run can have (a record is never ``running``)."""

PHASE_COUNT = 12

PROGRESS_SIZES = {6: "filesets", 5: "merge_methods", 1: "filesystems", 2: "cache_filesystems"}
"""Which phase's progress total is kept under which ``sizes`` key."""

ROW_COLUMNS = (
    ("key", "TEXT PRIMARY KEY"),
    ("client", "TEXT NOT NULL"),
    ("master", "TEXT NOT NULL"),
    ("log", "TEXT NOT NULL"),
    ("run", "INTEGER NOT NULL"),
    ("source_level", "TEXT NOT NULL"),
    ("target_level", "TEXT NOT NULL"),
    ("mode", "TEXT NOT NULL"),
    ("partial", "INTEGER NOT NULL"),
    ("variants", "TEXT NOT NULL"),
    ("outcome", "TEXT NOT NULL"),
    ("failed_phase", "INTEGER"),
    ("started_at", "REAL"),
    ("finished_at", "REAL"),
    ("phases", "TEXT NOT NULL"),
    ("sizes", "TEXT NOT NULL"),
    ("version", "INTEGER NOT NULL"),
)
"""Columns of the state DB's ``history`` table, in row order: :attr:`HistoryRecord.key` first (importing
the same log twice replaces its rows), scalars as columns (so ``history --client`` and ``--since`` are plain
SQL), ``variants`` / ``phases`` / ``sizes`` as compact JSON text."""

TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS history (" + ", ".join(f"{name} {kind}" for name, kind in ROW_COLUMNS) + ");\n"
    "CREATE INDEX IF NOT EXISTS history_by_client ON history (client, finished_at);"
)
"""DDL for the round-two ``history`` table (one row per finished run)."""


class RecordError(ValueError):
    """A JSON object or row is not a valid history record (the message names the field)."""


@dataclass(frozen=True)
class HistoryRecord:
    """One finished run: who, what kind, how it ended, and how long each phase took."""

    client: str
    outcome: str
    """``succeeded``, ``failed`` or ``incomplete``."""
    phases: Mapping[int, float] = field(default_factory=dict)
    """Phase number (1-12) to seconds; phases without known timing are absent."""
    master: str = ""
    log: str = ""
    run: int = 1
    """Index of the run inside its log (a re-run appended to the same log is run 2)."""
    source_level: str = ""
    """AIX level before the migration (e.g. ``7.2``), when known (the log does not show it)."""
    target_level: str = ""
    """AIX level migrated to (``-M``, e.g. ``7.3``)."""
    mode: str = ""
    """``cache``, ``nfs``, ``mksysb`` or "" when the log did not show it."""
    partial: bool = False
    """A partial run (``nimadm -P``): some phases only; never used for an ETA."""
    variants: tuple[str, ...] = ()
    failed_phase: Optional[int] = None
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    sizes: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.client:
            raise RecordError("client must be a non-empty string")
        if self.outcome not in OUTCOMES:
            raise RecordError(f"outcome must be one of {', '.join(OUTCOMES)}, not {self.outcome!r}")
        if self.mode and self.mode not in MODES:
            raise RecordError(f"mode must be one of {', '.join(MODES)} or empty, not {self.mode!r}")
        for number, seconds in self.phases.items():
            if not isinstance(number, int) or not 1 <= number <= PHASE_COUNT:
                raise RecordError(f"phases: {number!r} is not a phase number 1-12")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise RecordError(f"phases.{number}: {seconds!r} is not a number of seconds")
            if not math.isfinite(seconds) or seconds < 0:
                raise RecordError(f"phases.{number}: {seconds!r} is not a duration (finite, >= 0)")

    @property
    def key(self) -> str:
        """Identity of the run: master, log, run index and start time (the same run read twice has one key)."""
        started = "" if self.started_at is None else f"{self.started_at:.3f}"
        return f"{self.master}|{self.log or self.client}|{self.run}|{started}"

    @cached_property
    def usable_for_eta(self) -> bool:
        """Succeeded, complete (not ``-P``), a migration (not -W/-S/-C), with at least one timed phase.

        Cached: every estimate asks it of every record (a frozen record cannot change its answer)."""
        return (
            self.outcome == Outcome.SUCCEEDED.value
            and not self.partial
            and not NOT_MIGRATIONS.intersection(self.variants)
            and bool(self.phases)
        )

    @property
    def duration(self) -> Optional[float]:
        """Start to finish of the run, when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.started_at)

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """The documented JSON object (see the module docstring): the fields in :data:`ROW_COLUMNS` order."""
        return {
            "version": RECORD_VERSION,
            **{name: getattr(self, name) for name, _ in ROW_COLUMNS[1:-1]},  # (not ``key``, ``version``)
            "variants": list(self.variants),
            "phases": {str(n): float(s) for n, s in sorted(self.phases.items())},
            "sizes": dict(sorted(self.sizes.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HistoryRecord:
        """Read the JSON object back; a wrong field raises :class:`RecordError` naming it."""
        if not isinstance(data, Mapping):
            raise RecordError(f"a history record is a JSON object, not {type(data).__name__}")
        version = data.get("version", RECORD_VERSION)
        if version != RECORD_VERSION:
            raise RecordError(f"version {version!r} is not supported (this nimwatch reads version {RECORD_VERSION})")
        phases: dict[int, float] = {}
        for key, value in _mapping(data.get("phases", {}), "phases").items():
            try:
                phases[int(key)] = value
            except (TypeError, ValueError):
                raise RecordError(f"phases: {key!r} is not a phase number 1-12") from None
        sizes: dict[str, int] = {}
        for key, value in _mapping(data.get("sizes", {}), "sizes").items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise RecordError(f"sizes.{key}: {value!r} is not a count")
            sizes[str(key)] = value
        variants = data.get("variants", [])
        if not isinstance(variants, (list, tuple)) or not all(isinstance(v, str) for v in variants):
            raise RecordError("variants must be a list of strings")
        return cls(
            client=_text(data, "client", required=True),
            master=_text(data, "master"),
            log=_text(data, "log"),
            run=_int(data, "run", 1) or 1,
            source_level=_text(data, "source_level"),
            target_level=_text(data, "target_level"),
            mode=_text(data, "mode"),
            partial=_bool(data, "partial"),
            variants=tuple(variants),
            outcome=_text(data, "outcome", required=True),
            failed_phase=_int(data, "failed_phase", None),
            started_at=_float(data, "started_at"),
            finished_at=_float(data, "finished_at"),
            phases=phases,
            sizes=sizes,
        )

    # ------------------------------------------------------------------ SQLite rows

    def to_row(self) -> tuple[Any, ...]:
        """Values in :data:`ROW_COLUMNS` order (JSON text for variants, phases and sizes)."""
        doc = {**self.to_json(), "key": self.key}
        return tuple(
            json.dumps(doc[name], sort_keys=True, separators=(",", ":"))
            if name in ("variants", "phases", "sizes")
            else int(doc[name])
            if name == "partial"
            else doc[name]
            for name, _ in ROW_COLUMNS
        )

    @classmethod
    def from_row(cls, row: Any) -> HistoryRecord:
        """Read a row: a sequence in :data:`ROW_COLUMNS` order, a mapping, or an ``sqlite3.Row``."""
        names = [name for name, _ in ROW_COLUMNS]
        if isinstance(row, Mapping) or hasattr(row, "keys"):  # sqlite3.Row has keys() but is not a Mapping
            keys = set(row.keys())
            doc: dict[str, Any] = {name: row[name] for name in names if name in keys}
        else:
            if len(row) != len(names):
                raise RecordError(f"a history row has {len(names)} columns, not {len(row)}")
            doc = dict(zip(names, row))
        for name in ("variants", "phases", "sizes"):
            if isinstance(doc.get(name), str):
                try:
                    doc[name] = json.loads(doc[name])
                except ValueError as exc:
                    raise RecordError(f"{name}: not JSON text ({exc})") from None
        if "partial" in doc:
            doc["partial"] = bool(doc["partial"])
        return cls.from_json(doc)


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RecordError(f"{name} must be an object")
    return value


def _text(data: Mapping[str, Any], name: str, required: bool = False) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise RecordError(f"{name} must be a {'non-empty ' if required else ''}string, not {value!r}")
    return value


def _int(data: Mapping[str, Any], name: str, default: Optional[int]) -> Optional[int]:
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{name} must be an integer, not {value!r}")
    return value


def _float(data: Mapping[str, Any], name: str) -> Optional[float]:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError(f"{name} must be a number of seconds, not {value!r}")
    return float(value)


def _bool(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise RecordError(f"{name} must be true or false, not {value!r}")
    return value


# ---------------------------------------------------------------------- from the reducer's state


def run_mode(variants: tuple[str, ...] | list[str]) -> str:
    """The run's mode from the variants the parser detected: mksysb, then cache, then NFS; "" if none."""
    return next((mode for mode in ("mksysb", "cache", "nfs") if mode in variants), "")


def record_from_run(
    run: RunState,
    *,
    master: str = "",
    log: str = "",
    source_level: str = "",
) -> HistoryRecord:
    """A finished run as a record: durations of the phases that ran with known arrival times.

    Phases the run inferred (done before the log began), never timed, or whose
    start and end arrived in the same read (0 s: lines that were already in the
    file) are left out. The master host defaults to the ``master`` fact of the log. Raises
    :class:`RecordError` for a run that has not finished.
    """
    if not run.is_finished:
        raise RecordError(f"run {run.index} of {run.client or log or 'this log'} has not finished")
    phases = {
        ps.number: round(seconds, 3)
        for ps in run.phases
        if not ps.inferred and ps.status in (PhaseStatus.DONE, PhaseStatus.FAILED) and (seconds := ps.duration)
    }  # (a phase of 0 s, start and end in the same read: nimwatch did not see the phase run)
    sizes = {name: total for number, name in PROGRESS_SIZES.items() if (total := run.phase(number).progress_total)}
    variants = tuple(run.variants)
    return HistoryRecord(
        client=run.client or run.facts.get("client", "") or "unknown",
        master=master or run.facts.get("master", ""),
        log=log,
        run=run.index,
        source_level=source_level,
        target_level=run.facts.get("target_level", ""),
        mode=run_mode(variants),
        partial="partial" in variants,
        variants=variants,
        outcome=run.outcome.value,
        failed_phase=run.failed_phase,
        started_at=run.started_at,
        finished_at=run.finished_at,
        phases=phases,
        sizes=sizes,
    )
