"""Building the failure catalog from parsed YAML: signatures, validated, and merged with users' own.

Owns :func:`build_signatures` (``phases/failures.yaml``, users' signature
files, and the engine's own findings in ``phases/nimadm.yaml``) and
:func:`merge_signatures`, plus the typed reader both rule builders share: every
problem names file, line and key (with the nearest valid key). No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from typing import Any, Optional

from nimwatch.core.events import Severity
from nimwatch.core.recompile import compile_pattern
from nimwatch.core.rulemodel import Cause, Signature
from nimwatch.core.validation import LineDict, LineList, Problems, did_you_mean, type_name

# --------------------------------------------------------------------------- helpers


class FieldReader:
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
        if (isinstance(value, bool) and kind in (int, float)) or not isinstance(value, kind):
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
            return compile_pattern(value)
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


def entries(parent: LineDict, key: str, problems: Problems, prefix: str = "") -> Iterator[tuple[str, LineDict]]:
    """``(context, mapping)`` for each mapping in the list ``parent[key]``; other items are reported."""
    items = parent.get(key) or []
    if not isinstance(items, list):
        problems.add(parent.line_of(key), prefix + key, f"must be a list, not {type_name(items)}")
        return
    for i, item in enumerate(items):
        ctx = f"{prefix}{key}[{i}]."
        line = items.line_of(i) if isinstance(items, LineList) else parent.line_of(key)
        d = as_mapping(item, problems, line, ctx.rstrip("."))
        if d is not None:
            yield ctx, d


def phase_set(reader: FieldReader, d: LineDict, ctx: str) -> frozenset[int]:
    """The optional ``phases`` list: 0 (before phase 1) to 12."""
    phases = reader.get(d, "phases", list, ctx, required=False, default=[])
    for p in phases:
        if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p <= 12:
            reader.problems.add(
                d.line_of("phases"), ctx + "phases", f"{p!r} is not a phase (0 = before phase 1, 1..12)"
            )
    return frozenset(p for p in phases if isinstance(p, int) and not isinstance(p, bool))


def as_mapping(value: Any, problems: Problems, line: int, key: str) -> Optional[LineDict]:
    if isinstance(value, LineDict):
        return value
    problems.add(line, key, f"must be a mapping, not {type_name(value)}")
    return None


# --------------------------------------------------------------------------- failure catalog

SIGNATURE_KEYS = tuple(f.name for f in fields(Signature) if f.name != "origin")
"""A signature's keys: the fields of :class:`Signature` but ``origin`` (the file it came from)."""
_REQUIRED_SIGNATURE_KEYS = ("id", "pattern", "severity", "explanation", "advice")
_SEVERITIES = tuple(s.value for s in Severity)
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_CODE_RE = re.compile(r"^\d{4}-\d{3}$")


def build_signatures(data: Any, source: str, problems: Optional[Problems] = None) -> list[Signature]:
    """Validate and compile a failure catalog (``failures.yaml`` or a user file).

    The file is a mapping with ``signatures:`` (a list); ``version`` is optional.
    """
    probs = problems or Problems(source)
    top = as_mapping(data, probs, 1, "")
    if top is None:
        probs.raise_if_any()
        return []
    probs.check_keys(top, ("version", "signatures"), "", ("signatures",))
    out = signature_list(top, "signatures", source, probs)
    probs.raise_if_any()
    return out


def signature_list(parent: LineDict, key: str, source: str, probs: Problems) -> list[Signature]:
    """The signatures of the list ``parent[key]`` (problems are recorded in ``probs``, not raised)."""
    r = FieldReader(probs)
    out: list[Signature] = []
    seen: dict[str, int] = {}
    for item_ctx, d in entries(parent, key, probs):
        sid = d.get("id") if isinstance(d.get("id"), str) else None
        ctx = f"signature '{sid}': " if sid else item_ctx
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
        phases = phase_set(r, d, ctx)
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
            elif trigger is not None and not (  # compared without case when the pattern ignores case
                trigger.lower() in ex.lower() if pat.flags & re.IGNORECASE else trigger in ex
            ):
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
    return out


def _causes(r: FieldReader, d: LineDict, ctx: str) -> tuple[Cause, ...]:
    """``causes: [{after: [rule ids], advice: text}]``."""
    out: list[Cause] = []
    for cctx, c in entries(d, "causes", r.problems, ctx):
        r.problems.check_keys(c, ("after", "advice"), cctx, ("after", "advice"))
        after = r.get(c, "after", list, cctx, default=[])
        bad = [x for x in after if not isinstance(x, str) or not _ID_RE.match(x)]
        if bad:
            r.problems.add(c.line_of("after"), cctx + "after", f"not rule ids: {bad!r}")
        advice = str(r.get(c, "advice", str, cctx, default="")).strip()
        if after and advice and not bad:
            out.append(Cause(frozenset(str(x) for x in after), advice))
    return tuple(out)


def merge_signatures(builtin: Sequence[Signature], user_files: Iterable[Sequence[Signature]]) -> tuple[Signature, ...]:
    """User signatures come first (they win a line); a user id equal to a built-in one replaces it."""
    user: list[Signature] = []
    for sigs in user_files:
        for sig in sigs:
            user = [u for u in user if u.id != sig.id]
            user.append(sig)
    overridden = {s.id for s in user}
    return tuple(user) + tuple(s for s in builtin if s.id not in overridden)
