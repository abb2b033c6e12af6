"""The alerts the TUI lists: every finding (but routine, benign lines) and stall across clients, newest first.

Owns :class:`Alert` and :class:`AlertStore`, built from engine notices and
acknowledged by the user. Pure Python (no Textual) so that it is tested like
the core; only the UI thread touches a store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from nimwatch.engine import Notice

MAX_ALERTS = 5000
"""Alerts kept; the oldest go first (200 clients with 25 findings each fit)."""


@dataclass
class Alert:
    """One finding or stall, as listed on the alerts screen."""

    id: int
    ts: float
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
    acknowledged: bool = False


class AlertStore:
    """Alerts in arrival order, with acknowledgement."""

    def __init__(self, limit: int = MAX_ALERTS) -> None:
        self._alerts: list[Alert] = []
        self._next_id = 1
        self.version = 0
        """Goes up with every change (screens redraw only when it moved)."""
        self._limit = limit

    def add_notice(self, notice: Notice) -> Optional[Alert]:
        """Record ``notice`` when it is a finding or a stall; returns the new alert.

        Benign findings (routine lines of a healthy run) are not alerts: they stay on the client's Findings tab.
        """
        if notice.event == "finding" and notice.get("benign"):
            return None
        if notice.event == "finding":
            alert = Alert(
                self._next_id,
                notice.ts,
                notice.log,
                notice.client,
                notice.run,
                notice.phase,
                "finding",
                str(notice.get("severity", "warning")),
                str(notice.get("title", "")),
                str(notice.get("text", "")),
                notice.get("line"),
            )
        elif notice.event == "stalled":
            where = f"phase {notice.phase}" if notice.phase else "the run"
            minutes = notice.get("minutes", notice.get("silent_minutes"))
            detail = f" for {float(minutes):g} min" if isinstance(minutes, (int, float)) else ""
            alert = Alert(
                self._next_id,
                notice.ts,
                notice.log,
                notice.client,
                notice.run,
                notice.phase,
                "stall",
                "warning",
                f"Stalled: no new line{detail} in {where}",
                str(notice.get("last_text", notice.get("text", ""))),
                notice.get("line"),
            )
        elif notice.event == "log_reset":
            self._alerts = [a for a in self._alerts if a.log != notice.log]
            self.version += 1
            return None
        else:
            return None
        self._next_id += 1
        self.version += 1
        self._alerts.append(alert)
        if len(self._alerts) > self._limit:
            del self._alerts[: len(self._alerts) - self._limit]
        return alert

    def newest_first(self, include_acknowledged: bool = True) -> list[Alert]:
        return [a for a in reversed(self._alerts) if include_acknowledged or not a.acknowledged]

    def get(self, alert_id: int) -> Optional[Alert]:
        return next((a for a in self._alerts if a.id == alert_id), None)

    def acknowledge(self, alert_id: int) -> bool:
        """Acknowledge one alert; False when there is no such alert."""
        alert = self.get(alert_id)
        if alert is None:
            return False
        alert.acknowledged = True
        self.version += 1
        return True

    def acknowledge_all(self) -> int:
        count = 0
        for alert in self._alerts:
            if not alert.acknowledged:
                alert.acknowledged = True
                count += 1
        self.version += 1
        return count

    @property
    def unacknowledged(self) -> int:
        return sum(1 for a in self._alerts if not a.acknowledged)

    def __len__(self) -> int:
        return len(self._alerts)
