"""The ``syslog`` sink: RFC 5424 over UDP (``address: HOST:PORT``), the local format on a unix socket (``socket:``).

Owns :func:`format_rfc5424` and :func:`format_local`.

Over UDP the message is RFC 5424: the alert's fields as structured data
(SD-ID ``nimwatch@32473``, the enterprise number RFC 5612 reserves for
documentation) and its summary as a UTF-8 MSG with BOM, the datagram kept
within 2048 bytes (RFC 5426) by shortening the MSG.

On the local socket (``/dev/log``) the message is what ``syslog(3)`` and
Python's ``SysLogHandler`` send there: ``<PRI>TAG[PID]: MSG``, with neither
time nor host (the daemon adds both when it writes the line). A local daemon
parses this form and no other: rsyslog's socket input does not look for a
host name, so it takes a host (or RFC 5424's version number) for the tag,
and AIX's syslogd documents no RFC 5424 at all. AIX's syslogd may truncate
a message longer than 900 bytes: the whole datagram is kept within
:data:`LOCAL_MAX` bytes, cut on a UTF-8 character boundary and marked with
``...``; the full text goes to the structured sinks (JSON lines, webhook,
email, Alertmanager). The MSG is one line: line breaks and other control
characters become escapes. ``format: rfc5424`` on the socket sink sends
RFC 5424 there instead, for daemons configured to parse it.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from nimwatch.alerts.sink import DeliveryError, Sink
from nimwatch.config.alerts import SyslogOptions
from nimwatch.engine import Notice, iso
from nimwatch.terminal import escape_controls

SD_ID = "nimwatch@32473"
MAX_DATAGRAM = 2048
LOCAL_MAX = 900
"""Longest message sent to the local socket: IBM's syslogd may truncate longer ones."""
TAG_MAX = 32
"""RFC 3164: the TAG is at most 32 alphanumeric characters."""
SYSLOG_SEVERITY = {"error": 3, "warning": 4, "info": 6}
"""RFC 5424 severities: err, warning, informational."""


def _token(text: str, limit: int) -> str:
    """PRINTUSASCII without spaces, at most ``limit`` characters; '-' (the nil value) when empty."""
    out = "".join(ch for ch in text if 33 <= ord(ch) <= 126)[:limit]
    return out or "-"


def _sd_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def format_rfc5424(
    pri: int,
    ts: float,
    hostname: str,
    app_name: str,
    procid: str,
    msgid: str,
    params: dict[str, str],
    message: str,
) -> bytes:
    """One RFC 5424 message, MSG shortened so the whole fits in :data:`MAX_DATAGRAM` bytes (RFC 5426)."""
    sd = "".join(f' {name}="{_sd_value(value)}"' for name, value in params.items() if value != "")
    head = (
        f"<{pri}>1 {iso(ts)} {_token(hostname, 255)} {_token(app_name, 48)} {_token(procid, 128)} "
        f"{_token(msgid, 32)} [{SD_ID}{sd}] "
    ).encode()
    body = b"\xef\xbb\xbf" + message.encode("utf-8")
    if len(head) + len(body) > MAX_DATAGRAM:
        body = body[: max(3, MAX_DATAGRAM - len(head))].decode("utf-8", errors="ignore").encode("utf-8")
    return head + body


def _tag(app_name: str) -> str:
    """The TAG: letters, digits and ``._-/`` only (a ``[`` or ``:`` would end it early), at most 32."""
    out = "".join(ch for ch in app_name if ch.isascii() and (ch.isalnum() or ch in "._-/"))[:TAG_MAX]
    return out or "nimwatch"


def format_local(pri: int, app_name: str, pid: int, message: str, limit: int = LOCAL_MAX) -> bytes:
    """``<PRI>TAG[PID]: MSG`` for the local socket, at most ``limit`` bytes (MSG cut, UTF-8 safe, with ``...``)."""
    head = f"<{pri}>{_tag(app_name)}[{pid}]: ".encode("ascii")
    body = escape_controls(" ".join(message.splitlines()).replace("\t", " ")).encode("utf-8")  # one line
    if len(head) + len(body) > limit:
        room = max(0, limit - len(head) - 3)
        body = body[:room].decode("utf-8", errors="ignore").encode("utf-8") + b"..."
    return head + body


class SyslogSink(Sink[SyslogOptions]):
    options_type = SyslogOptions

    def describe(self) -> str:
        if self.options.address:
            host, port = self.options.address
            return f"syslog udp {host}:{port}"
        return f"syslog {self.options.socket}"

    def render(self, notice: Notice, key: str) -> dict[str, Any]:
        sev = notice.severity()
        params = {  # the structured data, in this order
            "event": notice.event,
            "client": notice.client,
            "run": "" if notice.run is None else str(notice.run),
            "phase": "" if notice.phase is None else str(notice.phase),
            "rule": str(notice.get("rule") or ""),
            "code": str(notice.get("code") or ""),
            "severity": sev,
            "line": "" if notice.get("line") is None else str(notice.get("line")),
            "outcome": str(notice.get("outcome") or ""),
            "id": key,
        }
        return {
            "pri": self.options.facility * 8 + SYSLOG_SEVERITY[sev],
            "ts": notice.ts,
            "msgid": notice.event,
            "params": params,
            "message": notice.summary(),
        }

    def send(self, payload: dict[str, Any]) -> None:
        opts = self.options
        if opts.format == "rfc3164":
            data = format_local(int(payload["pri"]), opts.app_name, os.getpid(), str(payload["message"]))
        else:
            data = format_rfc5424(
                int(payload["pri"]),
                float(payload["ts"]),
                opts.hostname or socket.gethostname(),
                opts.app_name,
                str(os.getpid()),
                str(payload["msgid"]),
                dict(payload["params"]),
                str(payload["message"]),
            )
        try:
            if opts.address is not None:
                self._udp(opts.address, data)
            else:
                assert opts.socket is not None
                self._unix(opts.socket, data)
        except OSError as exc:
            raise DeliveryError(f"{self.describe()}: {exc.strerror or exc}") from None

    @staticmethod
    def _udp(address: tuple[str, int], data: bytes) -> None:
        infos = socket.getaddrinfo(address[0], address[1], type=socket.SOCK_DGRAM)
        family, kind, proto, _, sockaddr = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.sendto(data, sockaddr)

    @staticmethod
    def _unix(path: str, data: bytes) -> None:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(path)
                sock.send(data)
                return
        except OSError as exc:
            import errno

            if exc.errno != errno.EPROTOTYPE:
                raise
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:  # rsyslog may listen on a stream socket
            sock.connect(path)
            sock.sendall(data + b"\n")
