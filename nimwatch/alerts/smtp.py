"""The ``email`` sink: alerts as plain-text mail over SMTP (stdlib ``smtplib``).

STARTTLS by default (``tls: ssl`` for SMTPS on 465, ``tls: none`` for a local
relay), certificates verified unless ``verify: false``, and login with a
password read at send time from ``password_env`` or ``password_file``. The
password is never logged: errors name the server and what it answered.
"""

from __future__ import annotations

import json
import smtplib
import socket
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from nimwatch.alerts.message import alert_body, template_values
from nimwatch.alerts.post import ssl_context
from nimwatch.alerts.sink import DeliveryError, Sink
from nimwatch.config.alerts import EmailOptions
from nimwatch.engine import Notice

DETAIL_FIELDS = ("client", "log", "run", "phase", "phase_name", "event", "severity", "rule", "code", "line", "outcome")


def mail_text(body: dict[str, Any]) -> str:
    """The readable mail body: summary, the key fields, text and advice, then the JSON."""
    lines = [str(body.get("summary", "")), ""]
    for name in DETAIL_FIELDS:
        value = body.get(name)
        if value not in (None, ""):
            lines.append(f"{name + ':':12} {value}")
    for name in ("text", "reason", "explanation"):
        if body.get(name):
            lines += ["", f"{name.title()}:", str(body[name])]
    if body.get("context"):
        lines += ["", "Lines before it:", *[f"  {c}" for c in body["context"]]]
    if body.get("advice"):
        lines += ["", "What to do:", str(body["advice"])]
    lines += ["", "--", json.dumps(body, ensure_ascii=False, sort_keys=True), ""]
    return "\n".join(lines)


class EmailSink(Sink[EmailOptions]):
    options_type = EmailOptions

    def describe(self) -> str:
        return f"email via {self.options.host}:{self.options.port}"

    def render(self, notice: Notice, key: str) -> dict[str, Any]:
        body = alert_body(notice, key)
        subject = self.options.subject.format(**template_values(notice, key))
        return {"subject": " ".join(subject.split())[:200], "text": mail_text(body), "id": key}

    def send(self, payload: dict[str, Any]) -> None:
        opts = self.options
        msg = EmailMessage()
        msg["From"] = opts.sender
        msg["To"] = ", ".join(opts.to)
        msg["Subject"] = str(payload["subject"])
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=socket.gethostname() or "nimwatch")
        msg["X-Nimwatch-Id"] = str(payload.get("id", ""))[:500]
        msg.set_content(str(payload["text"]))
        where = f"{opts.host}:{opts.port}"
        try:
            self._deliver(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"{where} refused every recipient: {sorted(exc.recipients)}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            permanent = 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPAuthenticationError)
            raise DeliveryError(f"{where} answered {exc.smtp_code} {text}", permanent=permanent) from None
        except (OSError, smtplib.SMTPException, KeyError) as exc:
            detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise DeliveryError(f"{where}: {detail}") from None

    def _deliver(self, msg: EmailMessage) -> None:
        opts = self.options
        context = ssl_context(opts.verify, opts.ca_file)
        smtp: smtplib.SMTP
        if opts.tls == "ssl":
            smtp = smtplib.SMTP_SSL(opts.host, opts.port, timeout=opts.timeout, context=context)
        else:
            smtp = smtplib.SMTP(opts.host, opts.port, timeout=opts.timeout)
        with smtp:
            smtp.ehlo()
            if opts.tls == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if opts.username is not None:
                password = opts.password.read() if opts.password is not None else ""
                smtp.login(opts.username, password)
            smtp.send_message(msg)
