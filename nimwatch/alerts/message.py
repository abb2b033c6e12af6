"""What an alert says: the severity of a notice, its one-line summary and the JSON body sinks send.

Pure functions over :class:`~nimwatch.engine.Notice`; no I/O. Every sink
builds on :func:`alert_body`, so a webhook, an email and a command all carry
the same fields as the ``watch`` JSON lines, plus ``id`` (the dedupe key,
for receivers that want to drop a repeat), ``severity``, ``summary`` and
``host``.
"""

from __future__ import annotations

import socket
from typing import Any

from nimwatch.engine import Notice

_RANK = {"info": 0, "warning": 1, "error": 2}


def rank(severity: str) -> int:
    return _RANK.get(severity, 0)


def severity_of(notice: Notice) -> str:
    """info, warning or error: how bad the event is for the migration."""
    event = notice.event
    if event in ("finding", "findings_suppressed"):
        sev = str(notice.get("severity") or "info")
        return sev if sev in _RANK else "info"
    if event in ("alerts_held", "log_replaced"):
        return "warning"
    if event == "run_finished":
        return {"failed": "error", "incomplete": "warning"}.get(str(notice.get("outcome")), "info")
    if event == "phase_finished":
        return "error" if notice.get("status") == "failed" else "info"
    if event in ("stalled", "alert_failed"):
        return "warning"
    if event in ("nimadm_exited", "nim_state"):
        sev = str(notice.get("severity") or "info")
        return sev if sev in _RANK else "info"
    if event == "hook_result":
        failed = notice.get("error") or notice.get("timed_out") or notice.get("exit_status") not in (0, None)
        return "warning" if failed else "info"
    return "info"


def _where(notice: Notice) -> str:
    if not notice.phase:
        return "before phase 1" if notice.event != "run_finished" else ""
    name = f" ({notice.phase_name})" if notice.phase_name else ""
    return f"phase {notice.phase}{name}"


def summary(notice: Notice) -> str:
    """One line for a subject, a syslog message or a chat message."""
    who = notice.client or notice.log
    where = _where(notice)
    event = notice.event
    if event == "finding":
        code = f" {notice.get('code')}" if notice.get("code") else ""
        return f"{who}: {notice.get('severity')}{code} in {where}: {notice.get('title') or notice.get('text')}"
    if event == "stalled" and notice.get("evidence") == "nim_info":
        return (
            f"{who}: {where} stalled: NIM info unchanged for {notice.get('info_unchanged_minutes')} min "
            f"({notice.get('nim_info')}) and no new line for {notice.get('silent_minutes')} min"
        )
    if event == "stalled":
        return (
            f"{who}: {where} stalled: no new line for {notice.get('silent_minutes')} min "
            f"(threshold {notice.get('threshold_minutes')} min)"
        )
    if event == "nimadm_exited":
        return f"{who}: {notice.get('summary')}"
    if event == "nim_state":
        if notice.get("error"):
            return f"{who}: NIM state unreadable: {notice.get('error')}"
        info = f", info {notice.get('info')}" if notice.get("info") else ""
        return f"{who}: NIM Cstate {notice.get('cstate')}{info}"
    if event == "stall_cleared":
        return f"{who}: {where} is moving again"
    if event == "findings_suppressed":
        return f"{who}: {notice.get('count')} more finding(s) of rule {notice.get('rule')} suppressed in {where}"
    if event == "alerts_held":
        return (
            f"{who}: {notice.get('count')} alert(s) held back by sink {notice.get('sink')}'s rate limit "
            f"since {notice.get('since')}"
        )
    if event == "run_finished":
        outcome = notice.get("outcome")
        operation = notice.get("operation") or "migration"
        if operation != "migration":
            words = {"cleanup": "clean-up (nimadm -C)", "wakeup": "wake-up (nimadm -W)", "sleep": "sleep (nimadm -S)"}
            nothing = "; nothing migrated" if outcome == "succeeded" else ""
            return f"{who}: {words.get(str(operation), operation)} {outcome}{nothing}"
        text = f"{who}: migration {outcome}"
        if outcome == "failed" and notice.get("failed_phase"):
            text += f" in phase {notice.get('failed_phase')}"
        reason = notice.get("reason")
        return text + (f" ({reason})" if reason else "")
    if event == "run_started":
        return f"{who}: migration started"
    if event == "phase_started":
        return f"{who}: {where} started"
    if event == "phase_finished":
        return f"{who}: {where} {notice.get('status', 'finished')}"
    if event == "alert_failed":
        return (
            f"alerts through {notice.get('sink')} are failing: {notice.get('pending')} pending ({notice.get('error')})"
        )
    if event == "hook_result":
        return f"{who}: hook {notice.get('hook')} {'failed' if severity_of(notice) != 'info' else 'ran'}"
    return f"{who}: {event}"


def template_values(notice: Notice, key: str) -> dict[str, str]:
    """The values of ``dedupe_key`` and ``subject`` fields."""

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    return {
        "id": key,
        "event": notice.event,
        "client": notice.client,
        "log": notice.log,
        "run": text(notice.run),
        "phase": text(notice.phase),
        "phase_name": text(notice.phase_name),
        "rule": text(notice.get("rule")),
        "code": text(notice.get("code")),
        "severity": severity_of(notice),
        "line": text(notice.get("line")),
        "outcome": text(notice.get("outcome")),
        "summary": summary(notice),
    }


def alert_body(notice: Notice, key: str) -> dict[str, Any]:
    """The JSON object sent for ``notice``: its watch JSON line plus id, severity, summary and host."""
    body = notice.as_json()
    body["id"] = key
    body["severity"] = severity_of(notice)
    body["summary"] = summary(notice)
    body["host"] = socket.gethostname()
    return body
