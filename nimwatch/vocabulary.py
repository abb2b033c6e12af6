"""The event vocabulary: every kind of notice, declared once.

Owns :class:`Notice` (one event as sinks, hooks, views and the JSON lines see
it) and :class:`Kind`, the declaration of one event kind: its name, its
fields (as the README's JSON-lines table documents them), its severity rule,
its one-line human summary (the one text of the event: an alert's subject and
summary, a syslog message, a hook's ``NIMWATCH_MESSAGE``), and where it goes
(the ``watch`` JSON lines and alerts, the journal, hooks, the TUI's lists,
replay steps, the ETA, Alertmanager); :meth:`Kind.carry` builds a notice's
fields from its declared keys. Every set of event names the outputs
used to keep (public, unjournaled, hook, TUI, replay-step, ETA, rate-exempt)
is derived from these declarations (:func:`names`); code elsewhere compares
a notice's :attr:`Notice.kind` with the constants below, never with a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from functools import cached_property
from typing import Any, Callable, Optional

from nimwatch.core.events import Severity
from nimwatch.schema import SCHEMA_VERSION

SEVERITIES = tuple(s.value for s in Severity)
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def iso(ts: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2026-11-22T03:21:33.120Z."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rank(severity: str) -> int:
    return _RANK.get(severity, 0)


SeverityRule = Callable[["Notice"], str]
Text = Callable[["Notice", str, str], str]
"""(notice, who, where) -> one line."""


@dataclass(frozen=True)
class Kind:
    """One kind of event, declared once."""

    name: str
    fields: str
    """Its keys besides the envelope (``schema``, ``event``, ``ts``, ``client``, ``log``, ``run``, ``phase``): those
    every notice has (:attr:`keys`, in the order :meth:`carry` gives them), then in parentheses those only some
    have (:attr:`optional`); words that are not a key (``the ETA keys``) say what else comes."""
    severity: SeverityRule
    summary: Text
    """The event's one line: an alert's subject, a syslog or chat message, a hook's ``NIMWATCH_MESSAGE``."""
    public: bool = False
    """A JSON line of ``watch``, an event alert sinks can take (``events:``)."""
    journaled: bool = True
    """(public kinds) Claimed in the journal once; False: about delivery itself, live only."""
    hook: bool = False
    """Hooks can take it (``on:``)."""
    shown: bool = False
    """The TUI lists it one by one (the others only mark their log as changed)."""
    step: bool = False
    """A replay step (``n``/``p`` stop on it)."""
    eta: bool = False
    """Carries the ETA of its running run."""
    rate_exempt: bool = False
    """Never held back by a sink's rate limit (one per run, a resolution, or nimwatch's own trouble)."""
    default_alert: bool = False
    """Sent by a sink that lists no ``events``."""
    alertname: str = ""
    """Alertmanager's ``alertname`` (empty: Nimadm + the name in title case)."""

    def __str__(self) -> str:
        return self.name

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """The keys :attr:`fields` names before its parenthesis, in order."""
        return _key_names(self.fields.partition(" (")[0])

    @cached_property
    def optional(self) -> tuple[str, ...]:
        """The keys :attr:`fields` names in its parenthesis, in order."""
        return _key_names(self.fields.partition(" (")[2])

    def carry(self, source: object, *optional: str, **given: Any) -> dict[str, Any]:
        """A notice's fields: :attr:`keys`, then ``optional``, in order, each the value ``given`` here or else
        ``source``'s attribute of that name (an enum as its value, a tuple as a list, as the JSON lines show them)."""
        fields = {}
        for key in (*self.keys, *optional):
            value = given[key] if key in given else getattr(source, key)
            fields[key] = value.value if isinstance(value, Enum) else list(value) if isinstance(value, tuple) else value
        return fields


def _key_names(text: str) -> tuple[str, ...]:
    return tuple(word for word in text.rstrip(")").split(", ") if word.isidentifier())


def _from_fields(notice: Notice) -> str:
    sev = str(notice.get("severity") or "info")
    return sev if sev in _RANK else "info"


def _info(notice: Notice) -> str:
    return "info"


def _warning(notice: Notice) -> str:
    return "warning"


def _hook_failed(notice: Notice) -> str:
    failed = notice.get("error") or notice.get("timed_out") or notice.get("exit_status") not in (0, None)
    return "warning" if failed else "info"


def _named(what: str) -> Text:
    return lambda notice, who, where: f"{who}: {what}"


# --------------------------------------------------------------------------- summaries


def _finding(n: Notice, who: str, where: str) -> str:
    code = f" {n.get('code')}" if n.get("code") else ""
    return f"{who}: {n.get('severity')}{code} in {where}: {n.get('title') or n.get('text')}"


def _stalled(n: Notice, who: str, where: str) -> str:
    if n.get("evidence") == "nim_info":
        return (
            f"{who}: {where} stalled: NIM info unchanged for {n.get('info_unchanged_minutes')} min "
            f"({n.get('nim_info')}) and no new line for {n.get('silent_minutes')} min"
        )
    silent, threshold = n.get("silent_minutes"), n.get("threshold_minutes")
    return f"{who}: {where} stalled: no new line for {silent} min (threshold {threshold} min)"


def _nim_state(n: Notice, who: str, where: str) -> str:
    if n.get("error"):
        return f"{who}: NIM state unreadable: {n.get('error')}"
    info = f", info {n.get('info')}" if n.get("info") else ""
    return f"{who}: NIM Cstate {n.get('cstate')}{info}"


_OPERATIONS = {"cleanup": "clean-up (nimadm -C)", "wakeup": "wake-up (nimadm -W)", "sleep": "sleep (nimadm -S)"}


def _run_finished(n: Notice, who: str, where: str) -> str:
    outcome = n.get("outcome")
    operation = n.get("operation") or "migration"
    if operation != "migration":
        nothing = "; nothing migrated" if outcome == "succeeded" else ""
        return f"{who}: {_OPERATIONS.get(str(operation), operation)} {outcome}{nothing}"
    text = f"{who}: migration {outcome}"
    if outcome == "failed" and n.get("failed_phase"):
        text += f" in phase {n.get('failed_phase')}" + (f" ({n.phase_name})" if n.phase_name else "")
    reason = n.get("reason")
    return text + (f": {reason}" if reason else "")


# --------------------------------------------------------------------------- the kinds

_LINE_ETA = "and the ETA keys"
RUN_STARTED = Kind(
    "run_started", f"line, mid_run, {_LINE_ETA}", _info, _named("migration started"),
    public=True, hook=True, shown=True, step=True, eta=True,
)  # fmt: skip
PHASE_STARTED = Kind(
    "phase_started", f"line, {_LINE_ETA}", _info, lambda n, who, where: f"{who}: {where} started",
    public=True, hook=True, shown=True, step=True, eta=True,
)  # fmt: skip
PHASE_FINISHED = Kind(
    "phase_finished", f"line, status, {_LINE_ETA}",
    lambda n: "error" if n.get("status") == "failed" else "info",
    lambda n, who, where: f"{who}: {where} {n.get('status', 'finished')}",
    public=True, hook=True,
    shown=True, step=True, eta=True, alertname="NimadmPhaseFailed",
)  # fmt: skip
FINDING = Kind(
    "finding",
    "rule, code, severity, benign, fails_run, title, text, explanation, advice, line, context "
    "(context_after, severity_raised)",
    _from_fields, _finding, public=True, hook=True,
    shown=True, step=True, default_alert=True, alertname="NimadmFinding",
)  # fmt: skip
FINDINGS_SUPPRESSED = Kind(
    "findings_suppressed", "rule, code, severity, count, limit, reason, line, text", _from_fields,
    lambda n, who, where: f"{who}: {n.get('count')} more finding(s) of rule {n.get('rule')} suppressed in {where}",
    public=True,
)  # fmt: skip
STALLED = Kind(
    "stalled",
    "line, severity, silent_minutes, threshold_minutes, last_text, evidence (nim_cstate, nim_info, "
    "info_unchanged_minutes)",
    _warning, _stalled, public=True, hook=True, shown=True, default_alert=True, alertname="NimadmStalled",
)  # fmt: skip
STALL_CLEARED = Kind(
    "stall_cleared", "line, severity, stalled_minutes (evidence, nim_info)", _info,
    lambda n, who, where: f"{who}: {where} is moving again", public=True, shown=True, rate_exempt=True,
)  # fmt: skip
RUN_FINISHED = Kind(
    "run_finished", "line, outcome, failed_phase, reason, operation (exit_code, signal, record, silent_minutes)",
    lambda n: {"failed": "error", "incomplete": "warning"}.get(str(n.get("outcome")), "info"),
    _run_finished, public=True, hook=True, shown=True, step=True, rate_exempt=True,
    default_alert=True,
)  # fmt: skip
HOOK_RESULT = Kind(
    "hook_result",
    "the trigger's keys, trigger, on, hook, argv, exit_status, timed_out, duration, output_tail, error, "
    "skipped, attempt, will_retry",
    _hook_failed,
    lambda n, who, where: f"{who}: hook {n.get('hook')} {'failed' if _hook_failed(n) != 'info' else 'ran'}",
    public=True, journaled=False, alertname="NimwatchHookFailed",
)  # fmt: skip
ALERT_FAILED = Kind(
    "alert_failed", "sink, type, error, pending, attempts, rejected, next_try, alert, alert_event", _warning,
    lambda n, who, where: f"alerts through {n.get('sink')} are failing: {n.get('pending')} pending ({n.get('error')})",
    public=True, journaled=False, rate_exempt=True, alertname="NimwatchAlertFailed",
)  # fmt: skip
ALERT_RECOVERED = Kind(
    "alert_recovered", "sink, type, pending, failing_since", _info,
    lambda n, who, where: f"alerts through {n.get('sink')} are delivered again ({n.get('pending')} pending)",
    public=True, journaled=False, rate_exempt=True,
)  # fmt: skip
"""The sink that an ``alert_failed`` was about delivered again (it clears the sink's failing state)."""
BACKLOG = Kind(
    "backlog", "logs, runs, failed, succeeded, incomplete, unfinished, hours", _info, _named("backlog"), public=True
)
LOG_REPLACED = Kind("log_replaced", "reason, rotated_to, read_to", _warning, _named("log_replaced"), public=True)
NIMADM_EXITED = Kind(
    "nimadm_exited",
    "exit_code, signal, pid, output, record, started, ended, severity, line, settled, outcome, summary",
    _from_fields, lambda n, who, where: f"{who}: {n.get('summary')}", public=True,
)  # fmt: skip
NIM_STATE = Kind(
    "nim_state",
    "cstate, info, result, error, previous_cstate, previous_info, busy, info_unchanged_minutes, severity",
    _from_fields, _nim_state, public=True,
)  # fmt: skip

# Internal kinds: they keep live views current; ``watch`` does not print them.
PROGRESS = Kind("progress", "done, total, unit", _info, _named("progress"))
FACT = Kind("fact", "name, value, line", _info, _named("fact"))
LINES = Kind("lines", "line, last_text", _info, _named("lines"))
BAD_LINE = Kind("bad_line", "line, reason", _info, _named("bad_line"))
FINDING_DETAIL = Kind("finding_detail", "line, rule (the merged finding's keys)", _info, _named("finding_detail"))
INSTALLP = Kind(
    "installp", "filesets_ok, failed, cancelled, requisite_failures, failing, line", _info, _named("installp")
)
LOG_RESTARTED = Kind("log_restarted", "reason", _info, _named("log_restarted"), shown=True)
LOG_RESET = Kind("log_reset", "reason", _info, _named("log_reset"), shown=True)
ALERTS_HELD = Kind(
    "alerts_held", "count, sink, severity, since, rate_limit, rate_period", _warning,
    lambda n, who, where: (
        f"{who}: {n.get('count')} alert(s) held back by sink {n.get('sink')}'s rate limit since {n.get('since')}"
    ),
)  # fmt: skip
"""Made by a sink (never by the engine): the alerts its rate limit held back."""

KINDS: Mapping[str, Kind] = {
    k.name: k
    for k in (
        RUN_STARTED, PHASE_STARTED, PHASE_FINISHED, FINDING, FINDINGS_SUPPRESSED, STALLED, STALL_CLEARED,
        RUN_FINISHED, HOOK_RESULT, ALERT_FAILED, ALERT_RECOVERED, BACKLOG, LOG_REPLACED, NIMADM_EXITED, NIM_STATE,
        PROGRESS, FACT, LINES, BAD_LINE, FINDING_DETAIL, INSTALLP, LOG_RESTARTED, LOG_RESET, ALERTS_HELD,
    )
}  # fmt: skip
"""Every kind, the public ones first in the order of the README's table."""


def names(trait: Callable[[Kind], Any]) -> tuple[str, ...]:
    """The names of the kinds with ``trait`` (e.g. ``names(lambda k: k.public)``), in declaration order."""
    return tuple(k.name for k in KINDS.values() if trait(k))


PUBLIC_EVENTS = names(lambda k: k.public)
"""The ``watch`` JSON-lines contract."""
HOOK_EVENTS = names(lambda k: k.hook)


# --------------------------------------------------------------------------- the notice


class EventKey(str):
    """A notice's journal key (the string), which also knows the part that names its run.

    The run part is (log, file identity and generation, run within that content): what a
    hook's ``once_per_run`` keeps, read here rather than parsed back out of the string.
    ``content`` is (generation, nth run within that content): how a hook's result names its
    run for the views, which number a log's runs from its current content only.
    """

    run_part: tuple[str, str, str]
    content: Optional[tuple[int, int]]

    def __new__(
        cls, text: str, run_part: tuple[str, str, str], content: Optional[tuple[int, int]] = None
    ) -> EventKey:
        key = super().__new__(cls, text)
        key.run_part, key.content = run_part, content
        return key


@dataclass(frozen=True)
class Notice:
    """One engine event, as sinks, hooks, views and the JSON-lines output see it."""

    event: str
    ts: float
    log: str
    client: str
    run: Optional[int] = None
    phase: Optional[int] = None
    phase_name: Optional[str] = None
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> Kind:
        """Its declared kind (an unknown name, e.g. a record written by a newer version: an internal one)."""
        return KINDS.get(self.event) or Kind(self.event, "", _info, _named(self.event))

    @property
    def public(self) -> bool:
        return self.kind.public

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def severity(self) -> str:
        """info, warning or error: how bad the event is for the migration."""
        return self.kind.severity(self)

    def summary(self) -> str:
        """The event's one line (alerts, syslog, chat)."""
        where = ""
        if self.phase:
            where = f"phase {self.phase}" + (f" ({self.phase_name})" if self.phase_name else "")
        elif self.kind is not RUN_FINISHED:
            where = "before phase 1"
        return self.kind.summary(self, self.client or self.log, where)

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "event": self.event,
            "ts": iso(self.ts),
            "client": self.client,
            "log": self.log,
            "run": self.run,
            "phase": self.phase,
            "phase_name": self.phase_name,
            **self.fields,
        }
