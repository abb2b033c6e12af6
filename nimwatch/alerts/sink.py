"""The alert sink base: filters, dedupe key, throttle and the one ``send`` each type implements.

Owns :class:`Sink` and :class:`DeliveryError`. ``plan`` runs inside the
journal transaction that records a notice (so an alert is spooled exactly when
its notice is recorded) and returns the payloads to spool; ``send`` runs in
the sink's worker thread, delivers one payload and raises
:class:`DeliveryError` when it could not (``permanent`` when retrying cannot
help, e.g. an HTTP 400). Messages never carry a password, a header value or
the secret part of a URL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, Optional, TypeVar
from urllib.parse import urlsplit

from nimwatch.alerts.message import alert_body, template_values
from nimwatch.config.alerts import HttpOptions, SinkSpec
from nimwatch.engine import Notice, iso
from nimwatch.event_filter import EventFilter
from nimwatch.journal import Journal
from nimwatch.vocabulary import ALERT_FAILED, ALERT_RECOVERED, ALERTS_HELD


class DeliveryError(Exception):
    """An alert could not be delivered; ``permanent`` when the receiver rejected it for good."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def safe_url(url: str) -> str:
    """``scheme://host:port`` only: paths and queries of webhook URLs often hold tokens."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


OptionsT = TypeVar("OptionsT")
"""The options of a sink's ``type:`` (``HttpOptions``, ``EmailOptions``...)."""


class Sink(ABC, Generic[OptionsT]):
    """One configured destination for alerts."""

    options_type: type[Any] = object
    """The class of its options (the config gives each ``type:`` its own)."""

    def __init__(self, spec: SinkSpec) -> None:
        assert isinstance(spec.options, self.options_type)
        self.options: OptionsT = spec.options
        self.spec = spec
        self.name = spec.name
        self.filter = EventFilter(spec.events, spec.clients, severity=spec.severity, benign=spec.benign)
        """Which notices it sends (the filter hooks use too)."""
        self.held_total = 0
        """Alerts held back by the per-client rate limit since start."""
        self.holding: Optional[str] = None
        """Set by ``plan`` to the client whose alerts just began to be held back (for one message)."""

    def describe(self) -> str:
        """Where alerts go, safe for messages (an HTTP sink's type and ``scheme://host:port``)."""
        options = self.options
        return f"{self.spec.type} {safe_url(options.url)}" if isinstance(options, HttpOptions) else self.spec.type

    # ------------------------------------------------------------------ deciding (journal transaction)

    def wants(self, notice: Notice) -> bool:
        if notice.kind in (ALERT_FAILED, ALERT_RECOVERED) and notice.get("sink") == self.name:
            return False  # never alert about ourselves through ourselves
        return self.filter.match(notice) is not None

    def dedupe(self, notice: Notice, key: str) -> str:
        return self.spec.dedupe_key.format(**template_values(notice, key))

    def plan(self, notice: Notice, key: str, journal: Journal) -> list[tuple[str, dict[str, Any]]]:
        """(dedupe key, payload) pairs to spool for ``notice``: none when filtered, throttled or rate-limited.

        Past ``rate_limit`` alerts about one client in ``rate_period`` seconds, alerts are held
        back and counted; one ``alerts_held`` alert reports them with the next alert that goes out
        (the first of the next period, or the run's end, which is never held back).
        """
        self.holding = None
        if not self.wants(notice):
            return []
        dkey = self.dedupe(notice, key)
        if not journal.throttle(self.name, dkey, notice.ts, self.spec.throttle):
            return []
        out: list[tuple[str, dict[str, Any]]] = []
        if self.spec.rate_limit > 0 and notice.client:
            allowed, report, since, held = journal.rate_take(
                self.name,
                notice.client,
                notice.ts,
                self.spec.rate_limit,
                self.spec.rate_period,
                exempt=notice.kind.rate_exempt,
            )
            if report:
                out.append((f"held|{key}", self.render(self._held_notice(notice, report, since), f"held|{key}")))
            if not allowed:
                self.held_total += 1
                if held == 1:
                    self.holding = notice.client
                return out
        out.append((dkey, self.render(notice, key)))
        return out

    def _held_notice(self, notice: Notice, count: int, since: float) -> Notice:
        fields = ALERTS_HELD.carry(self.spec, count=count, sink=self.name, severity="warning", since=iso(since))
        return Notice(ALERTS_HELD.name, notice.ts, notice.log, notice.client, notice.run, fields=fields)

    def render(self, notice: Notice, key: str) -> dict[str, Any]:
        """The payload to store in the spool and later ``send`` (by default the alert's JSON body)."""
        return alert_body(notice, key)

    # ------------------------------------------------------------------ delivering (worker thread)

    @abstractmethod
    def send(self, payload: dict[str, Any]) -> None:
        """Deliver one spooled payload; raise to have it retried (or a permanent error to drop it)."""
