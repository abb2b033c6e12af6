"""The alerts the TUI lists: every finding and stall across clients, kept in the state journal.

Owns :class:`Alert` and :class:`AlertStore`, built from engine notices. Each
alert has a key (the log file's identity, run, kind, rule, line): a finding
the engine sends again (its severity raised by the lines after it) updates
its alert, and with an :class:`~nimwatch.alert_journal.AlertJournal` a
restarted TUI finds its first time and acknowledgement again. Routine
(benign) findings are kept, hidden by the default severity filter. Alerts are
acknowledged one, one group (a client's run, which has one cause) or all at a time, and the
last acknowledgement can be undone. Pure Python (no Textual); only the UI
thread touches a store.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Callable, Optional

from nimwatch.alert_journal import AlertJournal
from nimwatch.engine import Notice
from nimwatch.terminal import escape_controls
from nimwatch.vocabulary import FINDING, LOG_RESET, STALLED

MAX_ALERTS = 5000
"""Alerts kept; the oldest go first (200 clients with 25 findings each fit)."""
LEVELS = ("info", "warning", "error", "all")
"""The severity filter, in the order ``v`` cycles it: ``info`` shows everything but routine (benign) lines."""
LEVEL_WORDS = {"info": "all but routine", "warning": "warnings and errors", "error": "errors", "all": "everything"}
_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass
class Alert:
    """One finding or stall, as listed on the alerts screen."""

    id: int
    key: str
    ts: float
    """When it was first seen (its line's arrival time)."""
    log: str
    client: str
    run: Optional[int]
    phase: Optional[int]
    kind: str
    """finding | stall"""
    severity: str
    """error | warning | info"""
    title: str
    text: str
    line: Optional[int]
    rule: str = ""
    cause: str = ""
    """What it says in a few words: the message number and title (``stalled in phase 6`` for stalls)."""
    benign: bool = False
    approx: bool = False
    """``ts`` is only an upper bound: the line was in the log before nimwatch started."""
    acknowledged: bool = False

    @property
    def needs_attention(self) -> bool:
        """Counted as new until acknowledged: a warning, an error or a stall."""
        return not self.benign and self.severity in ("warning", "error")

    def passes(self, level: str) -> bool:
        """Shown at severity filter ``level`` (:data:`LEVELS`)."""
        return level == "all" or (not self.benign and _RANK.get(self.severity, 0) >= _RANK[level])


Group = tuple[str, Optional[int], list[Alert]]
"""(log, run, its alerts newest first): a client's run, which has one cause."""


def file_identity(log: str) -> str:
    """``dev:ino`` of the log file (a replaced file gets new alert keys), or "" when it cannot be read."""
    try:
        st = os.stat(log)
    except OSError:
        return ""
    return f"{st.st_dev}:{st.st_ino}"


class AlertStore:
    """Alerts in arrival order, with acknowledgement (and its undo) kept in the journal when there is one."""

    def __init__(
        self,
        journal: Optional[AlertJournal] = None,
        identity: Callable[[str], str] = file_identity,
        clock: Optional[Callable[[], float]] = None,
    ) -> None:
        """``identity``: a log file's identity (``dev:ino``); ``clock``: when an acknowledgement happens."""
        self._alerts: dict[str, Alert] = {}
        """By key, in arrival order."""
        self._next_id = 1
        self.version = 0
        """Goes up with every change (screens redraw only when it moved)."""
        self._counted = (-1, 0)
        """(version, :attr:`unacknowledged` at that version)."""
        self.journal = journal
        self._known = journal.known() if journal is not None else {}
        self._pending: list[tuple[str, str, float, bool]] = []
        self._identity = identity
        self._identities: dict[str, str] = {}
        self._clock = clock or time.time
        self._undo: list[list[tuple[str, bool]]] = []
        self.time_known: Callable[[str, int], bool] = lambda log, line: True
        """Whether a line's arrival time is real (the app sets it from the context)."""
        self.error: Optional[str] = None
        """The last journal error (the alerts screen says it)."""

    # ------------------------------------------------------------------ from notices

    def _key(self, notice: Notice, kind: str, rule: str, line: Optional[int]) -> str:
        ident = self._identities.get(notice.log)
        if ident is None:
            ident = self._identities[notice.log] = self._identity(notice.log) or notice.log
        return f"{ident}|{notice.run}|{kind}|{rule}|{line}"

    def add_notice(self, notice: Notice) -> Optional[Alert]:
        """Record ``notice`` when it is a finding or a stall; returns its alert (new or updated)."""
        if notice.kind is LOG_RESET:
            self._forget(notice.log)
            return None
        line = notice.get("line")
        line = line if isinstance(line, int) else None
        if notice.kind is FINDING:
            code = notice.get("code")
            title = escape_controls(str(notice.get("title", "")))
            fields = dict(
                kind=FINDING.name,
                severity=str(notice.get("severity", "warning")),
                title=title,
                text=escape_controls(str(notice.get("text", ""))),
                rule=str(notice.get("rule", "")),
                cause=f"{code} {title}" if code else title,
                benign=bool(notice.get("benign")),
            )
        elif notice.kind is STALLED:
            where = f"phase {notice.phase}" if notice.phase else "the run"
            minutes = notice.get("minutes", notice.get("silent_minutes"))
            detail = f" for {float(minutes):g} min" if isinstance(minutes, (int, float)) else ""
            fields = dict(
                kind="stall",
                severity="warning",
                title=f"Stalled: no new line{detail} in {where}",
                text=escape_controls(str(notice.get("last_text", notice.get("text", "")))),
                rule=f"stall-{notice.phase or 0}",
                cause=f"stalled in {where}",
            )
        else:
            return None
        key = self._key(notice, str(fields["kind"]), str(fields["rule"]), line)
        alert = self._alerts.get(key)
        if alert is not None:  # the engine sent it again (severity raised): update it
            alert.severity = str(fields["severity"])
            alert.text = str(fields["text"])
            self.version += 1
            return alert
        known = self._known.get(key)
        if known is not None:
            ts, approx = known[0], not known[1]
        else:
            ts, approx = notice.ts, line is not None and not self.time_known(notice.log, line)
        alert = Alert(
            self._next_id,
            key,
            ts,
            notice.log,
            escape_controls(notice.client),
            notice.run,
            notice.phase,
            line=line,
            approx=approx,
            acknowledged=known is not None and known[2] is not None,
            **fields,  # type: ignore[arg-type]
        )
        if known is None:
            self._pending.append((key, notice.log, ts, not approx))
            self._known[key] = (ts, not approx, None)
        self._next_id += 1
        self.version += 1
        self._alerts[key] = alert
        if len(self._alerts) > MAX_ALERTS:
            for old in list(self._alerts)[: len(self._alerts) - MAX_ALERTS]:
                del self._alerts[old]
        return alert

    def _forget(self, log: str) -> None:
        ident = self._identities.pop(log, None)
        self._alerts = {k: a for k, a in self._alerts.items() if a.log != log}
        if ident is not None:
            self._known = {k: v for k, v in self._known.items() if not k.startswith(f"{ident}|")}
        self._pending = [p for p in self._pending if p[1] != log]
        self._write(lambda journal: journal.forget_log(log))
        self.version += 1

    def flush(self) -> None:
        """Write the alerts first seen since the last flush to the journal (one transaction)."""
        pending, self._pending = self._pending, []
        if pending:
            self._write(lambda journal: journal.record(pending))

    def _write(self, work: Callable[[AlertJournal], None]) -> None:
        if self.journal is None:
            return
        try:
            work(self.journal)
            self.error = None
        except Exception as exc:  # a journal problem must not take the dashboard down: it is said on screen
            self.error = str(exc)

    # ------------------------------------------------------------------ lists

    def newest_first(self, include_acknowledged: bool = True, level: str = "all") -> list[Alert]:
        out = [a for a in self._alerts.values() if a.passes(level) and (include_acknowledged or not a.acknowledged)]
        return sorted(out, key=lambda a: (-a.ts, -a.id))

    def groups(self, include_acknowledged: bool = True, level: str = "info") -> list[Group]:
        """Alerts grouped by client and run (a run has one cause: the dashboard's); the newest group first."""
        found: dict[tuple[str, Optional[int]], list[Alert]] = {}
        for alert in self.newest_first(include_acknowledged, level):
            found.setdefault((alert.log, alert.run), []).append(alert)
        return [(log, run, alerts) for (log, run), alerts in found.items()]

    def get(self, alert_id: int) -> Optional[Alert]:
        return next((a for a in self._alerts.values() if a.id == alert_id), None)

    # ------------------------------------------------------------------ acknowledging

    def acknowledge(self, alert_ids: Iterable[int] | int, acknowledged: bool = True) -> int:
        """(Un)acknowledge alerts by id; returns how many changed. Undone as one by :meth:`undo`."""
        ids = {alert_ids} if isinstance(alert_ids, int) else set(alert_ids)
        changed = [a for a in self._alerts.values() if a.id in ids and a.acknowledged != acknowledged]
        return self._set(changed, acknowledged)

    def acknowledge_all(self, level: str = "all") -> int:
        """Acknowledge every alert the severity filter ``level`` shows; returns how many."""
        return self._set([a for a in self._alerts.values() if not a.acknowledged and a.passes(level)], True)

    def _set(self, alerts: Sequence[Alert], acknowledged: bool) -> int:
        if not alerts:
            return 0
        self._undo.append([(a.key, a.acknowledged) for a in alerts])
        self._apply([(a.key, acknowledged) for a in alerts])
        return len(alerts)

    def undo(self) -> int:
        """Take back the last acknowledgement (one alert, a group or all); returns how many alerts."""
        if not self._undo:
            return 0
        step = self._undo.pop()
        self._apply(step)
        return len(step)

    def _apply(self, states: Sequence[tuple[str, bool]]) -> None:
        for key, acknowledged in states:
            alert = self._alerts.get(key)
            if alert is not None:
                alert.acknowledged = acknowledged
        self.version += 1
        self.flush()
        now = self._clock()
        acked = [key for key, state in states if state]
        unacked = [key for key, state in states if not state]
        if acked:
            self._write(lambda journal: journal.acknowledge(acked, now))
        if unacked:
            self._write(lambda journal: journal.acknowledge(unacked, None))

    @property
    def unacknowledged(self) -> int:
        """Alerts that need attention (warnings, errors, stalls) and were not acknowledged."""
        if self._counted[0] != self.version:  # every screen asks at every redraw: count once per change
            count = sum(1 for a in self._alerts.values() if a.needs_attention and not a.acknowledged)
            self._counted = (self.version, count)
        return self._counted[1]

    def __len__(self) -> int:
        return len(self._alerts)
