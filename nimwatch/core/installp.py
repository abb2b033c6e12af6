"""The installp result model: what installp did in a run, over all its invocations.

Owns :class:`InstallpTracker`, a small state machine the parser drives with
the lines of installp's output (the line shapes are data: ``installp:`` in
``phases/nimadm.yaml``). nimadm runs installp several times in phase 6 (the
install utilities, the main migration, install_all_updates); each run prints
a Pre-installation Verification (with a FAILURES section when filesets cannot
be installed), FILESET STATISTICS, the install itself and an Installation
Summary with one row per fileset part. The tracker reduces them to facts per
nimadm run: filesets installed cleanly, FAILED and CANCELLED filesets,
filesets dropped for requisites, BUILDDATE and bosboot-verification failures.

Pure: it holds no file, clock or thread; the parser turns its state into
:class:`~nimwatch.core.events.InstallpResult` events.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from nimwatch.core.events import InstallpResult
from nimwatch.core.pasted import RULE_LINE
from nimwatch.core.rules import InstallpSpec

MAX_NAMES = 500
"""Fileset names kept per list (a catastrophic run must not eat the memory); counts stay exact."""
_COUNTS = (
    "invocations", "filesets_ok", "failed_verification", "already_installed", "total", "builddate_failure",
    "bosboot_failure",
)  # fmt: skip
"""The tracker's attributes an :class:`~nimwatch.core.events.InstallpResult` carries as they are."""


class InstallpTracker:
    """installp's output in one nimadm run, line by line.

    ``mode`` is the table being read line by line ("" when none): ``failures``
    (the FAILURES section of a verification), ``preinstall`` (the
    Pre-installation Failure/Warning Summary) or ``summary`` (the Installation
    Summary). While a mode is open the parser hands every line to
    :meth:`on_line`; otherwise it calls :meth:`on_item` for the lines its
    scanner finds. Both return True when the line shows that some software was
    not installed (the run has failed).
    """

    def __init__(self, spec: InstallpSpec) -> None:
        self.spec = spec
        self.mode = ""
        self.active = False
        """Inside an invocation: from its verification to the end of its Installation Summary."""
        self.invocations = 0
        self.bucket = "ignore"
        names = ("failed", "cancelled", "requisite_failures", "missing_requisites", "verification_failures")
        self.lists: dict[str, dict[str, None]] = {name: {} for name in names}
        self.filesets_ok = 0
        self.already_installed = 0
        self.failed_verification = 0
        self.total: Optional[int] = None
        self.builddate_failure = False
        self.bosboot_failure = False
        self.dirty = False
        """Something changed since the last snapshot."""
        self.flush = False
        """A natural point to publish the snapshot (a table or an invocation ended, a failure line)."""
        self._ok: set[str] = set()
        self._bad: set[str] = set()

    # ------------------------------------------------------------------ lines found by the scanner

    def on_item(self, key: str, match: re.Match[str], text: str) -> bool:
        """A line matching ``installp.<key>``; True when it reports a failure."""
        if key in ("invocation", "failures", "preinstall", "summary"):
            self._close_table()  # (which empties ``mode``, ``bucket`` and the summary's names)
            if key != "invocation":
                self.mode = key
                # a pasted log holds the rows on the heading's own line
                return key == "summary" and self._summary_rows(text[match.end() :])
            self.invocations += 1
            self.active = True
            self._changed(flush=True)
            return False
        count = int(match.group("count")) if "count" in match.groupdict() else 0
        if key == "already_installed":
            self.already_installed += count
        elif key == "failed_verification" and count:
            self.failed_verification += count
        elif key == "total" and (self.total is None or count > self.total):
            self.total = count
        elif key in ("builddate_failure", "bosboot_failure"):
            setattr(self, key, True)
        else:
            return False
        self._changed(flush=True)
        return key in ("failed_verification", "builddate_failure", "bosboot_failure")

    # ------------------------------------------------------------------ lines read one by one in a table

    def on_line(self, text: str) -> bool:
        """A line read while a table is open (``mode``); True when it reports a failure."""
        spec = self.spec
        if self.mode == "failures":
            if text == RULE_LINE or spec.failures_end.search(text):
                self._close_table()
                return False
            heading = next((bucket for bucket, pattern in spec.lists if pattern.search(text)), None)
            if heading is not None:
                self.bucket = heading
                return False
            m = spec.fileset.search(text) if self.bucket != "ignore" else None
            if m is not None:
                self._add(self.bucket, m.group("name"))
            return m is not None
        if not self.mode or spec.table_header.search(text):
            return False
        if self.mode == "summary":
            if spec.summary_row.search(text) is None:
                self._close_table()
                return False
            return self._summary_rows(text)
        m = spec.preinstall_row.search(text)  # (the Pre-installation Failure/Warning Summary)
        if m is None:
            self._close_table()
            return False
        reason = m.group("reason")
        bucket = next((bucket for bucket, pattern in spec.preinstall_reasons if pattern.search(reason)), "ignore")
        if bucket == "ignore":
            return False
        self._add(bucket, m.group("name"))
        return True

    def success_row(self, text: str) -> bool:
        """A summary row whose every entry is a SUCCESS (not a CLEANUP): its filesets are noted as good.

        False, with nothing noted, for any other line: :meth:`on_line` reads that one.
        """
        rows = self.spec.summary_row.findall(text)  # one tuple of groups per row, in C
        if not rows:
            return False
        index = self.spec.summary_row.groupindex
        name, event, result = index["name"] - 1, index["event"] - 1, index["result"] - 1
        if any(row[result] != "SUCCESS" or row[event] == "CLEANUP" for row in rows):
            return False
        self._ok.update(row[name] for row in rows)
        return True

    def _summary_rows(self, text: str) -> bool:
        failing = False
        for m in self.spec.summary_row.finditer(text):
            name, event, result = m.group("name"), m.group("event"), m.group("result")
            if result == "SUCCESS" and event != "CLEANUP":
                self._ok.add(name)
                continue
            # CLEANUP rows follow a failed apply: never good news (installp_facts.md 5)
            self._bad.add(name)
            failing = True
            if result == "CANCELLED" and event != "CLEANUP" and name not in self.lists["failed"]:
                self._add("cancelled", name)
            else:
                self.lists["cancelled"].pop(name, None)
                self._add("failed", name)
        return failing

    def _close_table(self) -> None:
        if self.mode == "summary":
            self.filesets_ok += len(self._ok - self._bad)
            self._ok, self._bad = set(), set()
            self.active = False
        if self.mode:
            self._changed(flush=True)
        self.mode = ""
        self.bucket = "ignore"

    def end(self) -> None:
        """The phase or the run ended: close whatever table is open."""
        self._close_table()
        self.active = False

    # ------------------------------------------------------------------ state

    def _add(self, bucket: str, name: str) -> None:
        names = self.lists[bucket]
        if name not in names and len(names) < MAX_NAMES:
            names[name] = None
            self._changed()

    def _changed(self, flush: bool = False) -> None:
        self.dirty = True
        self.flush = self.flush or flush

    def snapshot(self, run: int, phase: int, line: int) -> InstallpResult:
        """The run's installp facts so far (marks the tracker clean)."""
        self.dirty = self.flush = False
        names: dict[str, Any] = {key: tuple(value) for key, value in self.lists.items()}
        for key in _COUNTS:
            names[key] = getattr(self, key)
        return InstallpResult(run=run, phase=phase, line=line, **names)
