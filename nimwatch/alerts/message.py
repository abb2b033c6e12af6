"""What an alert says: the JSON body sinks send and the values of their templates.

Pure functions over :class:`~nimwatch.vocabulary.Notice` (its severity and summary are its kind's, declared in
:mod:`nimwatch.vocabulary`); no I/O. Every sink
builds on :func:`alert_body`, so a webhook, an email and a command all carry
the same fields as the ``watch`` JSON lines, plus ``id`` (the dedupe key,
for receivers that want to drop a repeat), ``severity``, ``summary`` and
``host``.
"""

from __future__ import annotations

import socket
from typing import Any

from nimwatch.vocabulary import Notice, rank

__all__ = ["alert_body", "rank", "severity_of", "summary", "template_values"]


def severity_of(notice: Notice) -> str:
    """info, warning or error: how bad the event is for the migration (its kind's rule)."""
    return notice.severity()


def summary(notice: Notice) -> str:
    """One line for a subject, a syslog message or a chat message (its kind's summary)."""
    return notice.summary()


def template_values(notice: Notice, key: str) -> dict[str, str]:
    """The values of ``dedupe_key`` and ``subject`` fields."""

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    return {
        "id": key,
        "event": notice.event,
        "client": notice.client,
        "log": notice.log,
        **{name: text(getattr(notice, name)) for name in ("run", "phase", "phase_name")},
        **{name: text(notice.get(name)) for name in ("rule", "code", "line", "outcome")},
        "severity": notice.severity(),
        "summary": notice.summary(),
    }


def alert_body(notice: Notice, key: str) -> dict[str, Any]:
    """The JSON object sent for ``notice``: its watch JSON line plus id, severity, summary and host."""
    body = notice.as_json()
    body.update(id=key, severity=notice.severity(), summary=notice.summary(), host=socket.gethostname())
    return body
