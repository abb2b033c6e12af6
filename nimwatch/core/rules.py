"""The rule model: nimadm's phases, variants, facts and the failure catalog.

Owns the frozen dataclasses the parser runs on and their construction from
already-parsed YAML data (``phases/nimadm.yaml``, ``phases/failures.yaml`` and
users' signature files), with validation that names file, line and key. Reading
the files is :mod:`nimwatch.rulefiles`' job; this module does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from nimwatch.core.events import Severity
from nimwatch.core.validation import LineDict, LineList, Problems, did_you_mean, type_name

PHASE_NUMBERS = tuple(range(1, 13))

Pattern = "re.Pattern[str]"


@dataclass(frozen=True)
class Counter:
    """Progress inside a phase: a count of lines, a "done of total" ratio, or a total."""

    name: str
    pattern: re.Pattern[str]
    unit: str
    kind: str = "count"  # count | ratio | total
    total: Optional[int] = None
    total_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhaseSpec:
    number: int
    name: str
    runs_on: str
    summary: str
    weight: float
    stall_minutes: float
    markers: tuple[re.Pattern[str], ...]
    counters: tuple[Counter, ...]
    variants: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FactSpec:
    name: str
    pattern: re.Pattern[str]
    first_wins: bool = False
    phases: frozenset[int] = frozenset()
    """Phases where the fact is printed (0 = before phase 1); empty = any."""


@dataclass(frozen=True)
class VariantSpec:
    id: str
    name: str
    flags: str
    summary: str
    detect: tuple[re.Pattern[str], ...]
    source: str


@dataclass(frozen=True)
class LineSpec:
    """The structural lines of a nimadm log."""

    banner: re.Pattern[str]
    run_start: tuple[re.Pattern[str], ...]
    cleanup_master: re.Pattern[str]
    cleanup_client: re.Pattern[str]
    message_code: re.Pattern[str]
    no_script: re.Pattern[str]
    script_start: re.Pattern[str]
    script_end: re.Pattern[str]
    review: re.Pattern[str]
    line_starts: tuple[re.Pattern[str], ...] = ()
    """Lines that only mark where a line begins (to split pasted logs)."""


@dataclass(frozen=True)
class Cause:
    """Advice that replaces a signature's own when a finding of one of ``rules`` came first in the phase."""

    rules: frozenset[str]
    advice: str


@dataclass(frozen=True)
class Signature:
    """One entry of the failure catalog."""

    id: str
    title: str
    pattern: re.Pattern[str]
    trigger: Optional[str]
    code: Optional[str]
    phases: frozenset[int]
    severity: Severity
    fails_run: bool
    explanation: str
    advice: str
    source: str
    examples: tuple[str, ...] = ()
    near_misses: tuple[str, ...] = ()
    origin: str = ""
    benign: bool = False
    """A routine line of a healthy run: always info, folded in reports, never alerted or hooked by default."""
    soften_in_installp: bool = False
    """Inside an installp transcript the finding is info unless its text or the lines around it say it failed."""
    causes: tuple[Cause, ...] = ()
    """When a finding of one of these rules precedes this one in the same phase, its advice comes first."""
    short: str = ""
    """A few words for a table column (the dashboard's Cause), placeholders allowed; "" = the title."""

    def applies_in(self, phase: int) -> bool:
        return not self.phases or phase in self.phases


INSTALLP_BUCKETS = ("requisite_failures", "missing_requisites", "verification_failures", "ignore")
"""Where the filesets of a FAILURES list (or a Pre-installation Failure/Warning row) go."""


@dataclass(frozen=True)
class InstallpSpec:
    """The shape of installp's output (``installp:`` in nimadm.yaml): what the installp result model reads.

    ``invocation`` starts one installp run; ``failures`` opens its FAILURES
    section, read line by line until ``failures_end``; inside it ``lists``
    send the fileset lines (``fileset``) that follow a heading to a bucket.
    ``preinstall`` opens the Pre-installation Failure/Warning Summary whose
    rows (``preinstall_row``) go to a bucket by their reason
    (``preinstall_reasons``); ``summary`` opens the Installation Summary whose
    rows are ``summary_row``. ``failure_words`` says a line reports a failure
    (for message numbers nobody catalogued inside the transcript).
    """

    invocation: re.Pattern[str]
    failures: re.Pattern[str]
    failures_end: re.Pattern[str]
    lists: tuple[tuple[str, re.Pattern[str]], ...]
    fileset: re.Pattern[str]
    already_installed: re.Pattern[str]
    failed_verification: re.Pattern[str]
    total: re.Pattern[str]
    preinstall: re.Pattern[str]
    preinstall_row: re.Pattern[str]
    preinstall_reasons: tuple[tuple[str, re.Pattern[str]], ...]
    summary: re.Pattern[str]
    summary_row: re.Pattern[str]
    table_header: re.Pattern[str]
    builddate_failure: re.Pattern[str]
    bosboot_failure: re.Pattern[str]
    failure_words: re.Pattern[str]


@dataclass(frozen=True)
class PhaseModel:
    """phases/nimadm.yaml, compiled."""

    lines: LineSpec
    facts: tuple[FactSpec, ...]
    variants: tuple[VariantSpec, ...]
    phases: tuple[PhaseSpec, ...]
    installp: Optional[InstallpSpec] = None

    def phase(self, number: int) -> PhaseSpec:
        return self.phases[number - 1]


@dataclass(frozen=True)
class RuleSet:
    """Everything the parser needs: the phase model and the ordered signatures."""

    model: PhaseModel
    signatures: tuple[Signature, ...]

    def signature(self, rule_id: str) -> Optional[Signature]:
        for sig in self.signatures:
            if sig.id == rule_id:
                return sig
        return None


# --------------------------------------------------------------------------- helpers


class _Reader:
    """Typed access to a LineDict that records problems instead of raising."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def get(
        self,
        data: LineDict,
        key: str,
        kind: type | tuple[type, ...],
        context: str,
        *,
        required: bool = True,
        default: Any = None,
    ) -> Any:
        if key not in data:
            if required:
                self.problems.add(data.line, f"{context}{key}", "missing (required)")
            return default
        value = data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and kind in (int, float):
            ok = False
        else:
            ok = isinstance(value, kind)
        if not ok:
            want = kind if isinstance(kind, tuple) else (kind,)
            names = " or ".join(type_name(k()) if k is not type(None) else "null" for k in want)
            self.problems.add(data.line_of(key), f"{context}{key}", f"must be {names}, not {type_name(value)}")
            return default
        return value

    def regex(self, value: Any, line: int, key: str) -> Optional[re.Pattern[str]]:
        if not isinstance(value, str):
            self.problems.add(line, key, f"must be a regular expression string, not {type_name(value)}")
            return None
        try:
            return re.compile(value)
        except re.error as exc:
            self.problems.add(line, key, f"bad regular expression: {exc}")
            return None

    def regex_list(self, data: LineDict, key: str, context: str, required: bool = True) -> list[re.Pattern[str]]:
        values = self.get(data, key, list, context, required=required, default=[])
        out = []
        for i, value in enumerate(values):
            line = values.line_of(i) if isinstance(values, LineList) else data.line_of(key)
            pat = self.regex(value, line, f"{context}{key}[{i}]")
            if pat is not None:
                out.append(pat)
        return out


def _entries(parent: LineDict, key: str, problems: Problems, prefix: str = "") -> Iterator[tuple[str, LineDict]]:
    """``(context, mapping)`` for each mapping in the list ``parent[key]``; other items are reported."""
    items = parent.get(key) or []
    if not isinstance(items, list):
        problems.add(parent.line_of(key), prefix + key, f"must be a list, not {type_name(items)}")
        return
    for i, item in enumerate(items):
        ctx = f"{prefix}{key}[{i}]."
        line = items.line_of(i) if isinstance(items, LineList) else parent.line_of(key)
        d = _mapping(item, problems, line, ctx.rstrip("."))
        if d is not None:
            yield ctx, d


def _phase_set(reader: _Reader, d: LineDict, ctx: str) -> frozenset[int]:
    """The optional ``phases`` list: 0 (before phase 1) to 12."""
    phases = reader.get(d, "phases", list, ctx, required=False, default=[])
    for p in phases:
        if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p <= 12:
            reader.problems.add(
                d.line_of("phases"), ctx + "phases", f"{p!r} is not a phase (0 = before phase 1, 1..12)"
            )
    return frozenset(p for p in phases if isinstance(p, int) and not isinstance(p, bool))


def _mapping(value: Any, problems: Problems, line: int, key: str) -> Optional[LineDict]:
    if isinstance(value, LineDict):
        return value
    problems.add(line, key, f"must be a mapping, not {type_name(value)}")
    return None


# --------------------------------------------------------------------------- phase model

_OPTIONAL_LINE_KEYS = ("line_starts",)
_LINE_KEYS = (
    "banner",
    "run_start",
    "cleanup_master",
    "cleanup_client",
    "message_code",
    "no_script",
    "script_start",
    "script_end",
    "review",
)
_PHASE_KEYS = ("number", "name", "runs_on", "summary", "weight", "stall_minutes", "markers", "counters", "variants")
_COUNTER_KEYS = ("name", "pattern", "unit", "kind", "total", "total_from")
_FACT_KEYS = ("name", "pattern", "first_wins", "phases")
_VARIANT_KEYS = ("id", "name", "flags", "summary", "detect", "source")


def build_phase_model(data: Any, source: str, problems: Optional[Problems] = None) -> PhaseModel:
    """Validate and compile the parsed content of ``nimadm.yaml``."""
    probs = problems or Problems(source)
    r = _Reader(probs)
    top = _mapping(data, probs, 1, "")
    if top is None:
        probs.raise_if_any()
        raise AssertionError("unreachable")
    probs.check_keys(top, ("version", "lines", "facts", "variants", "phases", "installp"), "", ("lines", "phases"))

    lines_data = _mapping(top.get("lines"), probs, top.line_of("lines"), "lines")
    line_patterns: dict[str, Any] = {}
    if lines_data is not None:
        probs.check_keys(lines_data, _LINE_KEYS + _OPTIONAL_LINE_KEYS, "lines.", _LINE_KEYS)
        line_patterns["line_starts"] = tuple(r.regex_list(lines_data, "line_starts", "lines.", required=False))
        for key in _LINE_KEYS:
            if key == "run_start":
                line_patterns[key] = tuple(r.regex_list(lines_data, key, "lines."))
            elif key in lines_data:
                line_patterns[key] = r.regex(lines_data[key], lines_data.line_of(key), f"lines.{key}")

    facts: list[FactSpec] = []
    for ctx, d in _entries(top, "facts", probs):
        probs.check_keys(d, _FACT_KEYS, ctx, ("name", "pattern"))
        name = r.get(d, "name", str, ctx)
        pat = r.regex(d.get("pattern"), d.line_of("pattern"), ctx + "pattern") if "pattern" in d else None
        if pat is not None and "value" not in pat.groupindex:
            probs.add(d.line_of("pattern"), ctx + "pattern", "needs a (?P<value>...) group")
        fphases = _phase_set(r, d, ctx)
        if name and pat is not None:
            facts.append(
                FactSpec(
                    name,
                    pat,
                    bool(r.get(d, "first_wins", bool, ctx, required=False, default=False)),
                    fphases,
                )
            )

    variants: list[VariantSpec] = []
    for ctx, d in _entries(top, "variants", probs):
        probs.check_keys(d, _VARIANT_KEYS, ctx, ("id", "name", "detect"))
        variants.append(
            VariantSpec(
                id=r.get(d, "id", str, ctx, default=""),
                name=r.get(d, "name", str, ctx, default=""),
                flags=r.get(d, "flags", str, ctx, required=False, default=""),
                summary=str(r.get(d, "summary", str, ctx, required=False, default="")).strip(),
                detect=tuple(r.regex_list(d, "detect", ctx)),
                source=r.get(d, "source", str, ctx, required=False, default=""),
            )
        )
    variant_ids = {v.id for v in variants} | {"partial", "cleanup"}

    phases: list[PhaseSpec] = []
    counter_names: set[str] = set()
    pending_total_from: list[tuple[int, str, str]] = []
    phase_list = top.get("phases") or []
    for i, (ctx, d) in enumerate(_entries(top, "phases", probs)):
        probs.check_keys(d, _PHASE_KEYS, ctx, ("number", "name", "weight", "stall_minutes"))
        number = r.get(d, "number", int, ctx, default=0)
        if number != i + 1:
            probs.add(d.line_of("number"), ctx + "number", f"phases must be listed 1 to 12 in order; expected {i + 1}")
        counters: list[Counter] = []
        for cctx, c in _entries(d, "counters", probs, ctx):
            probs.check_keys(c, _COUNTER_KEYS, cctx, ("name", "pattern", "unit"))
            kind = r.get(c, "kind", str, cctx, required=False, default="count")
            if kind not in ("count", "ratio", "total"):
                probs.add(
                    c.line_of("kind"),
                    cctx + "kind",
                    "must be count, ratio or total" + did_you_mean(kind, ("count", "ratio", "total")),
                )
            pat = r.regex(c.get("pattern"), c.line_of("pattern"), cctx + "pattern")
            if pat is not None and kind == "ratio" and not {"done", "total"} <= set(pat.groupindex):
                probs.add(c.line_of("pattern"), cctx + "pattern", "a ratio needs (?P<done>..) and (?P<total>..) groups")
            if pat is not None and kind == "total" and "total" not in pat.groupindex:
                probs.add(c.line_of("pattern"), cctx + "pattern", "a total needs a (?P<total>..) group")
            total_from = r.get(c, "total_from", list, cctx, required=False, default=[])
            for name in total_from:
                pending_total_from.append((c.line_of("total_from"), cctx + "total_from", str(name)))
            cname = r.get(c, "name", str, cctx, default="")
            counter_names.add(cname)
            if pat is not None:
                counters.append(
                    Counter(
                        name=cname,
                        pattern=pat,
                        unit=r.get(c, "unit", str, cctx, default=""),
                        kind=kind,
                        total=r.get(c, "total", int, cctx, required=False, default=None),
                        total_from=tuple(str(x) for x in total_from),
                    )
                )
        pvariants = r.get(d, "variants", dict, ctx, required=False, default={}) or {}
        for key in pvariants:
            if key not in variant_ids:
                probs.add(
                    pvariants.line_of(key) if isinstance(pvariants, LineDict) else d.line,
                    f"{ctx}variants.{key}",
                    "unknown variant" + did_you_mean(str(key), variant_ids),
                )
        phases.append(
            PhaseSpec(
                number=number,
                name=r.get(d, "name", str, ctx, default=""),
                runs_on=r.get(d, "runs_on", str, ctx, required=False, default=""),
                summary=str(r.get(d, "summary", str, ctx, required=False, default="")).strip(),
                weight=r.get(d, "weight", float, ctx, default=1.0),
                stall_minutes=r.get(d, "stall_minutes", float, ctx, default=30.0),
                markers=tuple(r.regex_list(d, "markers", ctx, required=False)),
                counters=tuple(counters),
                variants={str(k): str(v) for k, v in pvariants.items()},
            )
        )
    for line, key, name in pending_total_from:
        if name not in counter_names:
            probs.add(line, key, f"no counter named '{name}'" + did_you_mean(name, counter_names))
    if len(phase_list) != 12:
        probs.add(top.line_of("phases"), "phases", f"nimadm has 12 phases; {len(phase_list)} listed")
    installp = _installp_spec(top, r, probs) if "installp" in top else None
    probs.raise_if_any()
    return PhaseModel(
        lines=LineSpec(**line_patterns),
        facts=tuple(facts),
        variants=tuple(variants),
        phases=tuple(phases),
        installp=installp,
    )


_INSTALLP_PATTERNS: dict[str, tuple[str, ...]] = {
    "invocation": (),
    "failures": (),
    "failures_end": (),
    "fileset": ("name",),
    "already_installed": ("count",),
    "failed_verification": ("count",),
    "total": ("count",),
    "preinstall": (),
    "preinstall_row": ("name", "reason"),
    "summary": (),
    "summary_row": ("name", "event", "result"),
    "table_header": (),
    "builddate_failure": (),
    "bosboot_failure": (),
    "failure_words": (),
}


def _installp_spec(top: LineDict, r: _Reader, probs: Problems) -> Optional[InstallpSpec]:
    data = _mapping(top.get("installp"), probs, top.line_of("installp"), "installp")
    if data is None:
        return None
    keys = (*_INSTALLP_PATTERNS, "lists", "preinstall_reasons")
    probs.check_keys(data, keys, "installp.", keys)
    found: dict[str, Any] = {}
    for key, groups in _INSTALLP_PATTERNS.items():
        if key not in data:
            continue
        pat = r.regex(data[key], data.line_of(key), f"installp.{key}")
        if pat is not None and not set(groups) <= set(pat.groupindex):
            need = ", ".join(f"(?P<{g}>...)" for g in groups)
            probs.add(data.line_of(key), f"installp.{key}", f"needs the groups {need}")
        found[key] = pat
    for key in ("lists", "preinstall_reasons"):
        buckets = r.get(data, key, dict, "installp.", default={}) or {}
        pairs: list[tuple[str, re.Pattern[str]]] = []
        for bucket, value in buckets.items():
            line = buckets.line_of(bucket) if isinstance(buckets, LineDict) else data.line_of(key)
            if bucket not in INSTALLP_BUCKETS:
                hint = did_you_mean(str(bucket), INSTALLP_BUCKETS)
                probs.add(line, f"installp.{key}.{bucket}", "unknown bucket" + hint)
                continue
            patterns = value if isinstance(value, list) else [value]
            for i, text in enumerate(patterns):
                pat = r.regex(text, line, f"installp.{key}.{bucket}[{i}]")
                if pat is not None:
                    pairs.append((str(bucket), pat))
        found[key] = tuple(pairs)
    if any(v is None for v in found.values()) or len(found) != len(keys):
        return None
    return InstallpSpec(**found)


# --------------------------------------------------------------------------- failure catalog

SIGNATURE_KEYS = (
    "id",
    "title",
    "pattern",
    "trigger",
    "code",
    "phases",
    "severity",
    "fails_run",
    "explanation",
    "advice",
    "source",
    "examples",
    "near_misses",
    "benign",
    "soften_in_installp",
    "causes",
    "short",
)
_REQUIRED_SIGNATURE_KEYS = ("id", "pattern", "severity", "explanation", "advice")
_SEVERITIES = tuple(s.value for s in Severity)
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_CODE_RE = re.compile(r"^\d{4}-\d{3}$")


def build_signatures(data: Any, source: str, problems: Optional[Problems] = None) -> list[Signature]:
    """Validate and compile a failure catalog (``failures.yaml`` or a user file).

    The file is a mapping with ``signatures:`` (a list); ``version`` is optional.
    """
    probs = problems or Problems(source)
    r = _Reader(probs)
    top = _mapping(data, probs, 1, "")
    if top is None:
        probs.raise_if_any()
        return []
    probs.check_keys(top, ("version", "signatures"), "", ("signatures",))
    items = top.get("signatures") or []
    if not isinstance(items, list):
        probs.add(top.line_of("signatures"), "signatures", f"must be a list, not {type_name(items)}")
        items = []
    out: list[Signature] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        line = items.line_of(i) if isinstance(items, LineList) else top.line
        d = _mapping(item, probs, line, f"signatures[{i}]")
        if d is None:
            continue
        sid = d.get("id") if isinstance(d.get("id"), str) else None
        ctx = f"signature '{sid}': " if sid else f"signatures[{i}]."
        probs.check_keys(d, SIGNATURE_KEYS, ctx, _REQUIRED_SIGNATURE_KEYS)
        sid = r.get(d, "id", str, ctx, default="")
        if sid and not _ID_RE.match(sid):
            probs.add(d.line_of("id"), ctx + "id", "use lowercase letters, digits, '.', '_' and '-'")
        if sid in seen:
            probs.add(d.line_of("id"), ctx + "id", f"duplicate id (first at line {seen[sid]})")
        seen[sid] = d.line_of("id")
        pat = r.regex(d.get("pattern"), d.line_of("pattern"), ctx + "pattern") if "pattern" in d else None
        trigger = r.get(d, "trigger", (str, type(None)), ctx, required=False, default=None)
        code = r.get(d, "code", (str, type(None)), ctx, required=False, default=None)
        if code is not None and not _CODE_RE.match(code):
            probs.add(d.line_of("code"), ctx + "code", "must look like NNNN-NNN (e.g. 0505-187) or be null")
        phases = _phase_set(r, d, ctx)
        severity = r.get(d, "severity", str, ctx, default="error")
        if severity not in _SEVERITIES:
            probs.add(
                d.line_of("severity"),
                ctx + "severity",
                f"must be one of {', '.join(_SEVERITIES)}" + did_you_mean(severity, _SEVERITIES),
            )
            severity = "error"
        examples = [str(x) for x in r.get(d, "examples", list, ctx, required=False, default=[])]
        near = [str(x) for x in r.get(d, "near_misses", list, ctx, required=False, default=[])]
        benign = bool(r.get(d, "benign", bool, ctx, required=False, default=False))
        if benign and "severity" in d and severity != "info":
            probs.add(d.line_of("severity"), ctx + "severity", "a benign signature is info (drop severity or say info)")
        if benign and d.get("fails_run") is True:
            probs.add(d.line_of("fails_run"), ctx + "fails_run", "a benign signature never fails the run")
        causes = _causes(r, d, ctx)
        if pat is None:
            continue
        if trigger is None and code is not None and code in (pat.pattern.replace("\\", "")):
            trigger = code
        for ex in examples:
            if not pat.search(ex):
                probs.add(d.line_of("examples"), ctx + "examples", f"example does not match the pattern: {ex!r}")
            elif trigger is not None and not _contains(ex, trigger, pat):
                probs.add(
                    d.line_of("trigger"), ctx + "trigger", f"trigger {trigger!r} is not in the matching example {ex!r}"
                )
        for nm in near:
            if pat.search(nm):
                probs.add(d.line_of("near_misses"), ctx + "near_misses", f"near miss matches the pattern: {nm!r}")
        out.append(
            Signature(
                id=sid,
                title=str(r.get(d, "title", str, ctx, required=False, default="") or sid).strip(),
                pattern=pat,
                trigger=trigger or None,
                code=code,
                phases=phases,
                severity=Severity.INFO if benign else Severity(severity),
                fails_run=not benign
                and bool(r.get(d, "fails_run", bool, ctx, required=False, default=severity == "error")),
                explanation=str(r.get(d, "explanation", str, ctx, default="")).strip(),
                advice=str(r.get(d, "advice", str, ctx, default="")).strip(),
                source=str(r.get(d, "source", str, ctx, required=False, default="")).strip(),
                examples=tuple(examples),
                near_misses=tuple(near),
                origin=source,
                benign=benign,
                soften_in_installp=bool(r.get(d, "soften_in_installp", bool, ctx, required=False, default=False)),
                causes=causes,
                short=str(r.get(d, "short", str, ctx, required=False, default="")).strip(),
            )
        )
    probs.raise_if_any()
    return out


def _causes(r: _Reader, d: LineDict, ctx: str) -> tuple[Cause, ...]:
    """``causes: [{after: [rule ids], advice: text}]``."""
    out: list[Cause] = []
    for cctx, c in _entries(d, "causes", r.problems, ctx):
        r.problems.check_keys(c, ("after", "advice"), cctx, ("after", "advice"))
        after = r.get(c, "after", list, cctx, default=[])
        bad = [x for x in after if not isinstance(x, str) or not _ID_RE.match(x)]
        if bad:
            r.problems.add(c.line_of("after"), cctx + "after", f"not rule ids: {bad!r}")
        advice = str(r.get(c, "advice", str, cctx, default="")).strip()
        if after and advice and not bad:
            out.append(Cause(frozenset(str(x) for x in after), advice))
    return tuple(out)


def _contains(line: str, trigger: str, pattern: re.Pattern[str]) -> bool:
    """A trigger is compared without case when its pattern ignores case."""
    if pattern.flags & re.IGNORECASE:
        return trigger.lower() in line.lower()
    return trigger in line


def merge_signatures(builtin: Sequence[Signature], user_files: Iterable[Sequence[Signature]]) -> tuple[Signature, ...]:
    """User signatures come first (they win a line); a user id equal to a built-in one replaces it."""
    user: list[Signature] = []
    for sigs in user_files:
        for sig in sigs:
            user = [u for u in user if u.id != sig.id]
            user.append(sig)
    overridden = {s.id for s in user}
    return tuple(user) + tuple(s for s in builtin if s.id not in overridden)
