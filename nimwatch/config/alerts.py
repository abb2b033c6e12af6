"""The ``alerts:`` section, declared once: :class:`SinkSpec` and the options of each sink type.

Owns the keys every sink has (``type``, ``name``, ``severity``, ``clients``, ``events``,
``dedupe_key``, ``throttle``, ``rate_limit``, ``rate_period``, ``benign``) and those of each type
(syslog, email, webhook, alertmanager, command), with the checks between keys (address or socket,
a password needs a username, defaults that depend on another key). Problems read ``file:line:
alerts[i].key: message``. Secrets are never written in the config: a password or a header value
comes from an environment variable or a file (:class:`Secret`), read when an alert is sent, and
never appears in a message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from nimwatch.config.checks import CLIENTS, ENV_NAME, SEVERITIES, TEMPLATE, Argv, command_problem, env_map, url_problem
from nimwatch.config.schema import (
    BAD,
    Addr,
    At,
    Choice,
    File,
    Flag,
    Kind,
    Many,
    Map,
    Num,
    Section,
    Sections,
    Text,
    key,
)
from nimwatch.core.validation import LineDict
from nimwatch.vocabulary import PUBLIC_EVENTS, names

SINK_TYPES = ("syslog", "email", "webhook", "alertmanager", "command")
DEFAULT_EVENTS = names(lambda kind: kind.default_alert)
"""What a sink gets when it lists no ``events`` (each still filtered by ``severity``)."""
DEFAULT_RATE_LIMIT = 20
"""Alerts one sink sends about one client per ``rate_period``; the rest is held back and counted."""
DEFAULT_RATE_PERIOD = 3600.0
FACILITY_NAMES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp")
FACILITIES = {**dict(zip(FACILITY_NAMES, range(12))), **{f"local{i}": 16 + i for i in range(8)}}
ALERTMANAGER_SEVERITY = {"error": "critical", "warning": "warning", "info": "info"}
"""Alertmanager ``severity`` label per nimwatch severity: the values routes and inhibitions usually match on."""
ENV_REF = Text(pattern=ENV_NAME, message="{value!r} is not an environment variable name")


@dataclass(frozen=True)
class Secret:
    """A value read when needed, from an environment variable or a file (never held in the config)."""

    env: Optional[str] = None
    file: Optional[str] = None
    value: Optional[str] = None
    """A plain, non-secret value written in the config (header values only)."""

    def read(self) -> str:
        """The value; raises OSError/KeyError with a message that never holds the value."""
        if self.value is not None:
            return self.value
        if self.env is not None:
            if self.env not in os.environ:
                raise KeyError(f"environment variable {self.env} is not set")
            return os.environ[self.env]
        if self.file is not None:
            with open(self.file, encoding="utf-8") as handle:
                return handle.read().strip("\r\n")
        return ""

    def __repr__(self) -> str:
        where = f"env={self.env}" if self.env else f"file={self.file}" if self.file else "value"
        return f"Secret({where})"


@dataclass(frozen=True)
class SecretRef(Kind):
    """A header value: a string, ``{env: VAR}`` or ``{file: PATH}``."""

    def read(self, value: Any, at: At) -> Any:
        if isinstance(value, str):
            return Secret(value=value)
        if not (isinstance(value, LineDict) and len(value) == 1 and ("env" in value or "file" in value)):
            return self.fail(at, "must be a string, {env: VAR} or {file: PATH}", value)
        name = "env" if "env" in value else "file"
        if not isinstance(value[name], str) or not value[name]:
            return self.fail(at, "env/file must name a variable or a file", value)
        ref = (ENV_REF if name == "env" else File()).read(value[name], at)
        return BAD if ref is BAD else Secret(**{name: ref})

    def json(self) -> dict[str, Any]:
        ref = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False}
        named = {"env": ENV_REF.json(), "file": File().json()}
        return {"anyOf": [{"type": "string"}, {**ref, "properties": named}]}


SECONDS = Num(above=0)
CA_FILE = "CA certificates to verify the server with."
HEADERS = Map(
    Text(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", message="not a valid HTTP header name"),
    SecretRef(),
    "header names to a string or to {env: VAR} / {file: PATH}",
)
LABELS = Map(
    Text(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$", message="not a valid label name"),
    Text("string", scalars=True, empty=True),
    "label names to values",
)
SEVERITY_LABELS = Map(
    Choice(SEVERITIES, message="not a nimwatch severity (info, warning, error)"),
    Text("non-empty label value"),
    "nimwatch severities (error, warning, info) to label values, e.g. {error: critical}",
)
ARGV = Argv("must be an argv list (e.g. [/usr/local/bin/page, --team, aix]), never a shell line", scalars=True)


@dataclass(frozen=True)
class SyslogOptions:
    """A syslog sink: RFC 5424 over UDP to ``address``, or the local format on ``socket``."""

    address: Optional[tuple[str, int]] = key(Addr(), None, help="HOST:PORT: RFC 5424 over UDP.")
    socket: Optional[str] = key(Text("socket path"), None, help="A local syslog socket, e.g. /dev/log.")
    facility: int = key(Choice(FACILITIES), FACILITIES["daemon"], help="The syslog facility.")
    app_name: str = key(Text(), "nimwatch", help="The program name in each message.")
    hostname: Optional[str] = key(Text(), None, help="The host name in RFC 5424 messages (default: this host's).")
    format: str = key(Choice(("rfc3164", "rfc5424")), "rfc5424", help="rfc3164 on a socket (its default), rfc5424.")


@dataclass(frozen=True)
class EmailOptions:
    """An email sink, over SMTP with STARTTLS, TLS or neither."""

    host: str = key(Text(), required=True, help="The SMTP server.")
    sender: str = key(Text(), required=True, name="from", help="The From address.")
    to: tuple[str, ...] = key(Many(Text("mail address"), "mail address"), required=True, help="Recipients.")
    port: int = key(Num(whole=True, least=1, most=65535), help="Default: 587; 465 with tls: ssl; 25 with none.")
    tls: str = key(Choice(("starttls", "ssl", "none")), "starttls", help="How the connection is encrypted.")
    username: Optional[str] = key(Text(), None, help="Log in as this user (needs a password).")
    password_env: Optional[str] = key(ENV_REF, None, help="The environment variable holding the password.")
    password_file: Optional[str] = key(File(must="file"), None, help="The file holding the password.")
    ca_file: Optional[str] = key(File(must="file"), None, help=CA_FILE)
    verify: bool = key(Flag(), True, help="Verify the server's certificate.")
    timeout: float = key(SECONDS, 30.0, help="Seconds for each SMTP exchange.")
    subject: str = key(TEMPLATE, "[nimwatch] {summary}", help="Template over the alert's fields ({client}...).")

    @property
    def password(self) -> Optional[Secret]:
        if self.password_env is not None:
            return Secret(env=self.password_env)
        return Secret(file=self.password_file) if self.password_file is not None else None


@dataclass(frozen=True)
class HttpOptions:
    """A webhook: the alert's JSON POSTed to ``url``."""

    url: str = key(Text(check=url_problem), required=True, help="http:// or https:// URL.")
    headers: Mapping[str, Secret] = key(HEADERS, {}, help="HTTP headers; a secret as {env: VAR} or {file: PATH}.")
    timeout: float = key(SECONDS, 10.0, help="Seconds for the request.")
    verify: bool = key(Flag(), True, help="Verify the server's certificate.")
    ca_file: Optional[str] = key(File(must="file"), None, help=CA_FILE)


@dataclass(frozen=True)
class AlertmanagerOptions(HttpOptions):
    """An Alertmanager: alerts POSTed to ``url``/api/v2/alerts, resolved when the client's next migration succeeds."""

    labels: Mapping[str, str] = key(LABELS, {}, help="Static labels on every alert.")
    hold_hours: float = key(SECONDS, 168.0, help="How long a firing alert lasts unless resolved earlier.")
    severity_labels: Mapping[str, str] = key(
        SEVERITY_LABELS, dict(ALERTMANAGER_SEVERITY), help="The severity label per nimwatch severity (give changes)."
    )


@dataclass(frozen=True)
class CommandOptions:
    """A command run for each alert (no shell), the alert's JSON on its stdin."""

    run: tuple[str, ...] = key(ARGV, required=True, help="The command as an argv list, never a shell line.")
    timeout: float = key(SECONDS, 60.0, help="Seconds before every process of the command is killed.")
    cwd: Optional[str] = key(File("directory path", must="dir"), None, help="Working directory.")
    env: Mapping[str, str] = key(env_map("alert", scalars=True), {}, help="Extra environment; NIMWATCH_* reserved.")


@dataclass(frozen=True)
class SinkSpec:
    """An alert sink: where alerts go, and which."""

    name: str = key(Text(), help="Used in messages and alert_failed (default: <type>-<n>).")
    type: str = key(Choice(SINK_TYPES, "sink type"), required=True, help="The kind of sink.")
    options: Any = None
    severity: str = key(Choice(SEVERITIES), "warning", help="Minimum severity sent (resolutions always go out).")
    clients: tuple[str, ...] = key(CLIENTS, ("*",), help="Globs on the client name.")
    events: tuple[str, ...] = key(Many(Choice(PUBLIC_EVENTS, "event"), "event"), DEFAULT_EVENTS, help="What is sent.")
    dedupe_key: str = key(TEMPLATE, "{id}", help="Template: alerts with the same key are sent once (per throttle).")
    throttle: float = key(Num(least=0), 0.0, help="Seconds before the same key is sent again (0: once ever).")
    source: str = ""
    rate_limit: int = key(
        Num(whole=True, least=0, unit="alerts per client"),
        DEFAULT_RATE_LIMIT,
        help="Alerts about one client per rate_period (0: no limit); run ends and resolutions always pass.",
    )
    rate_period: float = key(SECONDS, DEFAULT_RATE_PERIOD, help="Seconds: the rate limit's window.")
    benign: bool = key(Flag(), False, help="Also send findings the catalog marks benign.")


def _check_sink(values: dict[str, Any], at: At) -> None:
    name = values.setdefault("name", f"{values['type']}-{at.index + 1}")
    if name in at.seen:
        at.child("name").add(f"two sinks are named {name!r}: names must be unique")
    at.seen[name] = True
    values["source"] = f"{at.problems.source}:{at.raw.line}"


def _check_syslog(values: dict[str, Any], at: At) -> None:
    raw = at.raw
    local = values.setdefault("format", "rfc3164" if "socket" in raw else "rfc5424") == "rfc3164"
    if "address" not in raw and "socket" not in raw:
        at.child("address").add("missing: give address (HOST:PORT, UDP) or socket (e.g. /dev/log)")
    elif "address" in raw and "socket" in raw:
        at.child("socket").add("give address or socket, not both")
    elif local and "socket" not in raw:
        at.child("format").add("rfc3164 is the local socket's format; over UDP nimwatch sends rfc5424")


def _check_email(values: dict[str, Any], at: At) -> None:
    values.setdefault("port", {"starttls": 587, "ssl": 465, "none": 25}[values.get("tls", "starttls")])
    if "password_env" in at.raw and "password_file" in at.raw:
        at.child("password_file").add("give password_env or password_file, not both")
    elif ("password_env" in at.raw or "password_file" in at.raw) and "username" not in at.raw:
        at.child("username").add("missing: a password needs a username")


def _check_alertmanager(values: dict[str, Any], at: At) -> None:
    values["severity_labels"] = {**ALERTMANAGER_SEVERITY, **values.get("severity_labels", {})}


def _check_command(values: dict[str, Any], at: At) -> None:
    problem = command_problem(values["run"][0], values.get("env", {}), missing_ok=True) if "run" in values else None
    if problem:  # a missing one fails at delivery, reported and retried
        at.child("run").add(problem)


SINK = Section(
    SinkSpec,
    _check_sink,
    tag="type",
    into="options",
    variants={
        "syslog": Section(SyslogOptions, _check_syslog),
        "email": Section(EmailOptions, _check_email),
        "webhook": Section(HttpOptions),
        "alertmanager": Section(AlertmanagerOptions, _check_alertmanager),
        "command": Section(CommandOptions, _check_command),
    },
    hints={"password": "a password is never written in the config: use password_env (a variable) or password_file"},
)
SINKS = Sections(SINK, "sink")
