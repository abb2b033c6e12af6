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
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from nimwatch.alerts.config import SinkSpec
from nimwatch.alerts.message import rank, severity_of, template_values
from nimwatch.engine import Notice
from nimwatch.journal import Journal

RESOLUTION_EVENTS = frozenset({"run_finished", "stall_cleared"})


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


class Sink(ABC):
    """One configured destination for alerts."""

    def __init__(self, spec: SinkSpec) -> None:
        self.spec = spec
        self.name = spec.name

    def describe(self) -> str:
        """Where alerts go, safe for messages."""
        return self.spec.type

    # ------------------------------------------------------------------ deciding (journal transaction)

    def wants(self, notice: Notice) -> bool:
        spec = self.spec
        if notice.event not in spec.events:
            return False
        if notice.event == "alert_failed" and notice.get("sink") == self.name:
            return False  # never alert about ourselves through ourselves
        if notice.event == "finding" and notice.get("benign") and not spec.benign:
            return False  # routine lines of a healthy run page nobody unless asked for
        if rank(severity_of(notice)) < rank(spec.severity):
            return False
        return self.client_matches(notice)

    def client_matches(self, notice: Notice) -> bool:
        return any(fnmatchcase(notice.client, glob) for glob in self.spec.clients)

    def dedupe(self, notice: Notice, key: str) -> str:
        return self.spec.dedupe_key.format(**template_values(notice, key))

    def plan(self, notice: Notice, key: str, journal: Journal) -> list[tuple[str, dict[str, Any]]]:
        """(dedupe key, payload) pairs to spool for ``notice``: none when filtered or throttled."""
        if not self.wants(notice):
            return []
        dkey = self.dedupe(notice, key)
        if not journal.throttle(self.name, dkey, notice.ts, self.spec.throttle):
            return []
        return [(dkey, self.render(notice, key))]

    @abstractmethod
    def render(self, notice: Notice, key: str) -> dict[str, Any]:
        """The payload to store in the spool and later ``send``."""

    # ------------------------------------------------------------------ delivering (worker thread)

    @abstractmethod
    def send(self, payload: dict[str, Any]) -> None:
        """Deliver one spooled payload; raise to have it retried (or a permanent error to drop it)."""
