"""Validation of the ``alerts:`` section of the config into :class:`SinkSpec` values.

Owns the sink schema: the keys every sink has (``type``, ``name``,
``severity``, ``clients``, ``events``, ``dedupe_key``, ``throttle``, ``benign``) and those
of each type (syslog, email, webhook, alertmanager, command). Every problem
goes to the shared :class:`~nimwatch.core.validation.Problems` as
``file:line: alerts[i].key: message (did you mean 'x'?)``. Secrets are never
written in the config: a password or a header value comes from an environment
variable or a file, read when an alert is sent, and never appears in a message.
Pure validation: no I/O beyond checking that named files exist.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from nimwatch.core.validation import LineDict, LineList, Problems, did_you_mean, type_name
from nimwatch.engine import PUBLIC_EVENTS

SINK_TYPES = ("syslog", "email", "webhook", "alertmanager", "command")
SEVERITIES = ("info", "warning", "error")
DEFAULT_EVENTS = ("finding", "stalled", "run_finished")
"""What a sink gets when it lists no ``events`` (each still filtered by ``severity``)."""
TEMPLATE_FIELDS = (
    "id",
    "event",
    "client",
    "log",
    "run",
    "phase",
    "phase_name",
    "rule",
    "code",
    "severity",
    "line",
    "outcome",
    "summary",
)
"""Names allowed as ``{name}`` in ``dedupe_key`` and in an email ``subject``."""

COMMON_KEYS = (
    "type", "name", "severity", "clients", "events", "dedupe_key", "throttle", "benign", "rate_limit", "rate_period",
)
DEFAULT_RATE_LIMIT = 20
"""Alerts one sink sends about one client per ``rate_period``; the rest is held back and counted."""
DEFAULT_RATE_PERIOD = 3600.0
TYPE_KEYS: dict[str, tuple[str, ...]] = {
    "syslog": ("address", "socket", "format", "facility", "app_name", "hostname"),
    "email": (
        "host",
        "port",
        "tls",
        "from",
        "to",
        "username",
        "password_env",
        "password_file",
        "ca_file",
        "verify",
        "timeout",
        "subject",
    ),
    "webhook": ("url", "headers", "timeout", "verify", "ca_file"),
    "alertmanager": ("url", "headers", "timeout", "verify", "ca_file", "labels", "hold_hours", "severity_labels"),
    "command": ("run", "timeout", "cwd", "env"),
}
FACILITIES = {
    "kern": 0,
    "user": 1,
    "mail": 2,
    "daemon": 3,
    "auth": 4,
    "syslog": 5,
    "lpr": 6,
    "news": 7,
    "uucp": 8,
    "cron": 9,
    "authpriv": 10,
    "ftp": 11,
    **{f"local{i}": 16 + i for i in range(8)},
}
ALERTMANAGER_SEVERITY = {"error": "critical", "warning": "warning", "info": "info"}
"""Alertmanager ``severity`` label per nimwatch severity: the values routes and inhibitions usually match on."""
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_HEADER_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
class SyslogOptions:
    address: Optional[tuple[str, int]] = None
    socket: Optional[str] = None
    facility: int = FACILITIES["daemon"]
    app_name: str = "nimwatch"
    hostname: Optional[str] = None
    format: str = "rfc5424"
    """rfc5424 (the default over UDP) or rfc3164: ``<PRI>TAG[PID]: MSG``, the default on a local socket."""


@dataclass(frozen=True)
class EmailOptions:
    host: str
    port: int
    tls: str
    sender: str
    to: tuple[str, ...]
    username: Optional[str] = None
    password: Optional[Secret] = None
    ca_file: Optional[str] = None
    verify: bool = True
    timeout: float = 30.0
    subject: str = "[nimwatch] {summary}"


@dataclass(frozen=True)
class HttpOptions:
    """Webhook and Alertmanager: where to POST and how."""

    url: str
    headers: Mapping[str, Secret] = field(default_factory=dict)
    timeout: float = 10.0
    verify: bool = True
    ca_file: Optional[str] = None
    labels: Mapping[str, str] = field(default_factory=dict)
    hold_hours: float = 168.0
    """Alertmanager: how long a firing alert lasts unless resolved earlier (its endsAt)."""
    severity_labels: Mapping[str, str] = field(default_factory=lambda: dict(ALERTMANAGER_SEVERITY))
    """Alertmanager: the ``severity`` label sent for each nimwatch severity."""


@dataclass(frozen=True)
class CommandOptions:
    run: tuple[str, ...]
    timeout: float = 60.0
    cwd: Optional[str] = None
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SinkSpec:
    """One validated alert sink."""

    name: str
    type: str
    options: Any
    severity: str = "warning"
    """Minimum severity of what is sent (resolutions always go out)."""
    clients: tuple[str, ...] = ("*",)
    events: tuple[str, ...] = DEFAULT_EVENTS
    dedupe_key: str = "{id}"
    """Template: alerts with the same key are sent once (once per ``throttle`` seconds when it is set)."""
    throttle: float = 0.0
    source: str = ""
    rate_limit: int = DEFAULT_RATE_LIMIT
    """Alerts per client per ``rate_period`` seconds (0: no limit); run ends and resolutions always pass."""
    rate_period: float = DEFAULT_RATE_PERIOD
    benign: bool = False
    """Also send findings the catalog marks benign (routine lines of a healthy run); off by default."""


# ---------------------------------------------------------------------- helpers


def template_problem(text: str) -> Optional[str]:
    """Why ``text`` is not a usable template over :data:`TEMPLATE_FIELDS`, or None."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"not a valid template: {exc}"
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            return (
                f"unknown field {{{name}}}"
                + did_you_mean(name, TEMPLATE_FIELDS)
                + (f"; fields: {', '.join(TEMPLATE_FIELDS)}")
            )
        if spec or conv:
            return f"{{{name}}}: format specs and conversions are not supported"
    return None


class _Reader:
    """Typed reads of one sink mapping, reporting problems as ``alerts[i].key``."""

    def __init__(self, item: LineDict, ctx: str, problems: Problems, base: Path) -> None:
        self.item = item
        self.ctx = ctx
        self.problems = problems
        self.base = base

    def add(self, key: str, message: str) -> None:
        self.problems.add(self.item.line_of(key), f"{self.ctx}{key}", message)

    def text(self, key: str, required: bool = False, default: Optional[str] = None) -> Optional[str]:
        if key not in self.item:
            if required:
                self.problems.add(self.item.line, f"{self.ctx}{key}", "missing (required)")
            return default
        value = self.item[key]
        if not isinstance(value, str) or not value.strip():
            self.add(key, f"must be a non-empty string, not {type_name(value)}")
            return default
        return value

    def number(self, key: str, default: float, minimum: float = 0.0, strict: bool = True) -> float:
        if key not in self.item:
            return default
        value = self.item[key]
        bad = isinstance(value, bool) or not isinstance(value, (int, float))
        if bad or (value <= minimum if strict else value < minimum):
            self.add(key, f"must be a number {'above' if strict else 'of at least'} {minimum:g}")
            return default
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        if key not in self.item:
            return default
        value = self.item[key]
        if not isinstance(value, bool):
            self.add(key, f"must be true or false, not {type_name(value)}")
            return default
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        if key not in self.item:
            return default
        value = self.item[key]
        if not isinstance(value, str) or value not in choices:
            self.add(key, f"must be one of {', '.join(choices)}" + did_you_mean(str(value), choices))
            return default
        return value

    def str_list(self, key: str, required: bool = False) -> tuple[str, ...]:
        if key not in self.item:
            if required:
                self.problems.add(self.item.line, f"{self.ctx}{key}", "missing (required)")
            return ()
        value = self.item[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            self.add(key, "must be a string or a non-empty list of strings")
            return ()
        return tuple(value)

    def path(self, key: str) -> Optional[str]:
        value = self.text(key)
        if value is None:
            return None
        path = value if os.path.isabs(value) else str(self.base / value)
        if not os.path.exists(path):
            self.add(key, f"no such file: {path}")
        return path

    def string_map(self, key: str, name_re: re.Pattern[str], what: str) -> dict[str, str]:
        if key not in self.item:
            return {}
        value = self.item[key]
        if not isinstance(value, LineDict):
            self.add(key, f"must be a mapping of {what} to strings")
            return {}
        out: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(k, str) or not name_re.match(k):
                self.problems.add(value.line_of(str(k)), f"{self.ctx}{key}.{k}", f"not a valid {what}")
            elif isinstance(v, bool) or not isinstance(v, (str, int, float)):
                self.problems.add(value.line_of(k), f"{self.ctx}{key}.{k}", "must be a string")
            else:
                out[k] = str(v)
        return out

    def headers(self, key: str) -> dict[str, Secret]:
        if key not in self.item:
            return {}
        value = self.item[key]
        if not isinstance(value, LineDict):
            self.add(key, "must map header names to a string or to {env: VAR} / {file: PATH}")
            return {}
        out: dict[str, Secret] = {}
        for k, v in value.items():
            where = f"{self.ctx}{key}.{k}"
            line = value.line_of(str(k))
            if not isinstance(k, str) or not _HEADER_RE.match(k):
                self.problems.add(line, where, "not a valid HTTP header name")
            elif isinstance(v, str):
                out[k] = Secret(value=v)
            elif isinstance(v, LineDict) and len(v) == 1 and ("env" in v or "file" in v):
                ref = v.get("env") or v.get("file")
                if not isinstance(ref, str) or not ref:
                    self.problems.add(line, where, "env/file must name a variable or a file")
                elif "env" in v:
                    if not _ENV_RE.match(ref):
                        self.problems.add(line, where, f"{ref!r} is not an environment variable name")
                    out[k] = Secret(env=ref)
                else:
                    path = ref if os.path.isabs(ref) else str(self.base / ref)
                    out[k] = Secret(file=path)
            else:
                self.problems.add(line, where, "must be a string, {env: VAR} or {file: PATH}")
        return out


# ---------------------------------------------------------------------- per type


def _http(r: _Reader, kind: str) -> Optional[HttpOptions]:
    url = r.text("url", required=True)
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            r.add("url", "must be an http:// or https:// URL with a host")
            url = None
    headers = r.headers("headers")
    timeout = r.number("timeout", 10.0)
    verify = r.boolean("verify", True)
    ca_file = r.path("ca_file")
    labels: dict[str, str] = {}
    hold = 168.0
    severity_labels = dict(ALERTMANAGER_SEVERITY)
    if kind == "alertmanager":
        labels = r.string_map("labels", _LABEL_RE, "label name")
        hold = r.number("hold_hours", 168.0)
        severity_labels.update(_severity_labels(r))
    if url is None:
        return None
    return HttpOptions(url, headers, timeout, verify, ca_file, labels, hold, severity_labels)


def _severity_labels(r: _Reader) -> dict[str, str]:
    """``severity_labels: {error: critical, ...}``: nimwatch severities to label values (the rest keep defaults)."""
    key = "severity_labels"
    if key not in r.item:
        return {}
    value = r.item[key]
    if not isinstance(value, LineDict):
        r.add(key, "must map nimwatch severities (error, warning, info) to label values, e.g. {error: critical}")
        return {}
    out: dict[str, str] = {}
    for name, label in value.items():
        where = f"{r.ctx}{key}.{name}"
        line = value.line_of(str(name))
        if name not in SEVERITIES:
            known = f"not a nimwatch severity ({', '.join(SEVERITIES)})"
            r.problems.add(line, where, known + did_you_mean(str(name), SEVERITIES))
        elif not isinstance(label, str) or not label.strip():
            r.problems.add(line, where, f"must be a non-empty label value, not {type_name(label)}")
        else:
            out[name] = label
    return out


def _syslog(r: _Reader) -> Optional[SyslogOptions]:
    address = r.text("address")
    sock = r.text("socket")
    if address is None and sock is None:
        if "address" not in r.item and "socket" not in r.item:
            r.problems.add(
                r.item.line, f"{r.ctx}address", "missing: give address (HOST:PORT, UDP) or socket (e.g. /dev/log)"
            )
        return None
    if address is not None and sock is not None:
        r.add("socket", "give address or socket, not both")
        return None
    parsed: Optional[tuple[str, int]] = None
    if address is not None:
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            r.add("address", f"{address!r} is not HOST:PORT")
            return None
        parsed = (host, int(port))
    facility = r.choice("facility", tuple(FACILITIES), "daemon")
    app = r.text("app_name", default="nimwatch") or "nimwatch"
    hostname = r.text("hostname")
    fmt = r.choice("format", ("rfc3164", "rfc5424"), "rfc3164" if sock is not None else "rfc5424")
    if fmt == "rfc3164" and sock is None:
        r.add("format", "rfc3164 is the local socket's format; over UDP nimwatch sends rfc5424")
        return None
    return SyslogOptions(parsed, sock, FACILITIES[facility], app, hostname, fmt)


def _email(r: _Reader) -> Optional[EmailOptions]:
    host = r.text("host", required=True)
    tls = r.choice("tls", ("starttls", "ssl", "none"), "starttls")
    default_port = {"starttls": 587, "ssl": 465, "none": 25}[tls]
    port = default_port
    if "port" in r.item:
        value = r.item["port"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            r.add("port", "must be a port number (1-65535)")
        else:
            port = value
    sender = r.text("from", required=True)
    to = r.str_list("to", required=True)
    username = r.text("username")
    password: Optional[Secret] = None
    penv = r.text("password_env")
    pfile = r.path("password_file")
    if penv is not None and pfile is not None:
        r.add("password_file", "give password_env or password_file, not both")
    elif penv is not None:
        if not _ENV_RE.match(penv):
            r.add("password_env", f"{penv!r} is not an environment variable name")
        password = Secret(env=penv)
    elif pfile is not None:
        password = Secret(file=pfile)
    if password is not None and username is None:
        r.problems.add(r.item.line, f"{r.ctx}username", "missing: a password needs a username")
    subject = r.text("subject", default="[nimwatch] {summary}") or "[nimwatch] {summary}"
    problem = template_problem(subject)
    if problem:
        r.add("subject", problem)
    ca_file = r.path("ca_file")
    verify = r.boolean("verify", True)
    timeout = r.number("timeout", 30.0)
    if host is None or sender is None or not to:
        return None
    return EmailOptions(host, port, tls, sender, to, username, password, ca_file, verify, timeout, subject)


def _command(r: _Reader) -> Optional[CommandOptions]:
    run = r.item.get("run")
    if "run" not in r.item:
        r.problems.add(r.item.line, f"{r.ctx}run", "missing (required): the command as an argv list")
        return None
    if isinstance(run, str):
        r.add("run", "must be an argv list (e.g. [/usr/local/bin/page, --team, aix]), never a shell line")
        return None
    if not isinstance(run, list) or not run or not all(isinstance(a, (str, int, float)) for a in run):
        r.add("run", "must be a non-empty list of strings")
        return None
    argv = tuple(str(a) for a in run)
    if not os.path.isabs(argv[0]) and "/" in argv[0]:
        argv = (str(r.base / argv[0]), *argv[1:])
    from nimwatch.hooks.config import DEFAULT_PATH, executable_problem, resolve_executable

    resolved = resolve_executable(argv[0], os.environ.get("PATH") or DEFAULT_PATH)
    if resolved is not None and os.path.exists(resolved):  # a missing one fails at delivery, reported and retried
        problem = executable_problem(resolved)
        if problem:
            r.add("run", problem)
    cwd = r.text("cwd")
    if cwd is not None and not os.path.isdir(cwd):
        r.add("cwd", f"no such directory: {cwd}")
    env = r.string_map("env", _ENV_RE, "environment variable name")
    for name in env:
        if name.startswith("NIMWATCH_"):
            r.add("env", f"{name}: NIMWATCH_* variables describe the alert and cannot be set here")
    return CommandOptions(argv, r.number("timeout", 60.0), cwd, env)


# ---------------------------------------------------------------------- the section


def _sink(item: Any, index: int, line: int, problems: Problems, base: Path, names: set[str]) -> Optional[SinkSpec]:
    ctx = f"alerts[{index}]."
    if not isinstance(item, LineDict):
        problems.add(line, f"alerts[{index}]", f"must be a mapping with a type, not {type_name(item)}")
        return None
    kind = item.get("type")
    if "type" not in item:
        problems.add(item.line, f"{ctx}type", f"missing (required): one of {', '.join(SINK_TYPES)}")
        return None
    if not isinstance(kind, str) or kind not in SINK_TYPES:
        problems.add(
            item.line_of("type"), f"{ctx}type", f"unknown sink type {kind!r}" + did_you_mean(str(kind), SINK_TYPES)
        )
        return None
    if "password" in item:
        problems.add(
            item.line_of("password"),
            f"{ctx}password",
            "a password is never written in the config: use password_env (a variable) or password_file",
        )
    problems.check_keys(item, (*COMMON_KEYS, *TYPE_KEYS[kind], "password"), ctx)
    r = _Reader(item, ctx, problems, base)
    name = r.text("name", default=f"{kind}-{index + 1}") or f"{kind}-{index + 1}"
    if name in names:
        r.add("name", f"two sinks are named {name!r}: names must be unique")
    names.add(name)
    severity = r.choice("severity", SEVERITIES, "warning")
    clients = r.str_list("clients") or ("*",)
    from nimwatch.hooks.config import glob_problem

    for glob in clients:
        problem = glob_problem(glob)
        if problem:
            r.add("clients", problem)
    events = r.str_list("events") or DEFAULT_EVENTS
    for event in events:
        if event not in PUBLIC_EVENTS:
            r.add("events", f"unknown event {event!r}" + did_you_mean(event, PUBLIC_EVENTS))
    dedupe = r.text("dedupe_key", default="{id}") or "{id}"
    problem = template_problem(dedupe)
    if problem:
        r.add("dedupe_key", problem)
    throttle = r.number("throttle", 0.0, strict=False)
    rate_limit = DEFAULT_RATE_LIMIT
    if "rate_limit" in item:
        value = item["rate_limit"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            r.add("rate_limit", f"must be a whole number of alerts per client (0: no limit), not {value!r}")
        else:
            rate_limit = value
    rate_period = r.number("rate_period", DEFAULT_RATE_PERIOD)
    benign = r.boolean("benign", False)
    options: Any
    if kind == "syslog":
        options = _syslog(r)
    elif kind == "email":
        options = _email(r)
    elif kind == "command":
        options = _command(r)
    else:
        options = _http(r, kind)
    if options is None:
        return None
    source = f"{problems.source}:{item.line}"
    return SinkSpec(
        name, kind, options, severity, clients, tuple(events), dedupe, throttle, source, rate_limit, rate_period, benign
    )


def parse_section(value: Any, line: int, problems: Problems, path: Path) -> list[SinkSpec]:
    """Validate ``alerts:``: a list of sinks. Problems name file, line and key."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(line, "alerts", f"must be a list of sinks (each a mapping with a type), not {type_name(value)}")
        return []
    names: set[str] = set()
    out: list[SinkSpec] = []
    for index, item in enumerate(value):
        item_line = value.line_of(index) if isinstance(value, LineList) else line
        spec = _sink(item, index, item_line, problems, path.parent, names)
        if spec is not None:
            out.append(spec)
    return out
