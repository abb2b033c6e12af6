"""The ``alertmanager`` sink: alerts POSTed to Alertmanager's v2 API (``/api/v2/alerts``).

Each firing alert carries the labels ``alertname``, ``client``, ``phase``,
``rule`` and ``severity`` (plus the sink's static ``labels``); ``severity`` is
mapped to the values Alertmanager routes usually match (error: ``critical``,
warning: ``warning``, info: ``info``; the sink's ``severity_labels`` changes
the mapping), while the ``nimwatch_severity`` annotation keeps nimwatch's own
word. An alert lasts
``hold_hours`` unless resolved earlier. The sink keeps the alerts it fired in
the journal; when the client's next run succeeds it sends them again with
``endsAt`` set (resolved), a ``stall_cleared`` resolves that phase's stall, and
an ``alert_recovered`` (another sink delivers again) resolves the
``NimwatchAlertFailed`` alerts fired about that sink.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

from nimwatch.alerts.post import post_json
from nimwatch.alerts.sink import Sink
from nimwatch.config.alerts import AlertmanagerOptions, SinkSpec
from nimwatch.engine import Notice, iso
from nimwatch.journal import Journal
from nimwatch.vocabulary import ALERT_FAILED, ALERT_RECOVERED, RUN_FINISHED, STALL_CLEARED


def alertname(notice: Notice) -> str:
    if notice.kind is RUN_FINISHED:
        return {"failed": "NimadmRunFailed", "incomplete": "NimadmRunIncomplete"}.get(
            str(notice.get("outcome")), "NimadmRunFinished"
        )
    return notice.kind.alertname or "Nimadm" + "".join(p.title() for p in notice.event.split("_"))


class AlertmanagerSink(Sink[AlertmanagerOptions]):
    options_type = AlertmanagerOptions

    def __init__(self, spec: SinkSpec) -> None:
        super().__init__(spec)
        self.url = self.options.url.rstrip("/") + "/api/v2/alerts"
        self.ns = f"alertmanager:{self.name}"

    def labels(self, notice: Notice) -> dict[str, str]:
        labels = {
            **self.options.labels,
            "alertname": alertname(notice),
            "client": notice.client,
            "phase": "" if notice.phase is None else str(notice.phase),
            "rule": str(notice.get("rule") or notice.get("sink") or ""),
            "severity": self.options.severity_labels.get(notice.severity(), notice.severity()),
        }
        return {k: v for k, v in labels.items() if v != ""}

    def render(self, notice: Notice, key: str) -> dict[str, Any]:
        annotations = {
            "summary": notice.summary(),
            "description": str(notice.get("text") or notice.get("reason") or ""),
            "advice": str(notice.get("advice") or ""),
            "log": notice.log,
            "line": "" if notice.get("line") is None else str(notice.get("line")),
            "code": str(notice.get("code") or ""),
            "nimwatch_severity": notice.severity(),
            "id": key,
        }
        alert = {
            "labels": self.labels(notice),
            "annotations": {k: v for k, v in annotations.items() if v},
            "startsAt": iso(notice.ts),
            "endsAt": iso(notice.ts + self.options.hold_hours * 3600.0),
        }
        return {"alerts": [alert]}

    def plan(self, notice: Notice, key: str, journal: Journal) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        if any(fnmatchcase(notice.client, glob) for glob in self.spec.clients):
            resolved = self._resolutions(notice, journal)
            if resolved:
                out.append((f"resolve|{key}", {"alerts": resolved}))
        for dkey, payload in super().plan(notice, key, journal):
            for alert in payload["alerts"]:
                journal.kv_put(self.ns, json.dumps(alert["labels"], sort_keys=True), json.dumps(alert, sort_keys=True))
            out.append((dkey, payload))
        return out

    def _resolutions(self, notice: Notice, journal: Journal) -> list[dict[str, Any]]:
        succeeded = notice.kind is RUN_FINISHED and notice.get("outcome") == "succeeded"
        # only a migration that succeeded resolves the client's alerts: a clean-up (nimadm -C) migrates nothing
        match: dict[str, Any]  # the labels of the alerts it resolves
        if succeeded and notice.get("operation", "migration") == "migration":
            match = {"client": notice.client}
        elif notice.kind is STALL_CLEARED:
            match = {"alertname": "NimadmStalled", "client": notice.client, "phase": str(notice.phase)}
        elif notice.kind is ALERT_RECOVERED:  # the failing sink's name is the alert's rule label
            match = {"alertname": ALERT_FAILED.alertname, "rule": notice.get("sink")}
        else:
            return []
        out = []
        for fingerprint, text in sorted(journal.kv_items(self.ns).items()):
            alert = json.loads(text)
            if all(alert["labels"].get(name) == value for name, value in match.items()):
                alert["endsAt"] = iso(notice.ts)
                out.append(alert)
                journal.kv_put(self.ns, fingerprint, None)
        return out

    def send(self, payload: dict[str, Any]) -> None:
        post_json(self.options, self.url, payload["alerts"])
