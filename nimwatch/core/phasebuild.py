"""Building the phase model from the parsed ``phases/nimadm.yaml``, with validation.

Owns :func:`build_phase_model`: structural lines, facts, variants, the 12
phases with their markers and progress counters, installp's output shapes and
the engine's own findings; every problem names file, line and key. No I/O.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any, Optional

from nimwatch.core.catalogbuild import FieldReader, as_mapping, entries, phase_set, signature_list
from nimwatch.core.rulemodel import (
    ENGINE_FINDINGS,
    INSTALLP_BUCKETS,
    Counter,
    FactSpec,
    InstallpSpec,
    LineSpec,
    PhaseModel,
    PhaseSpec,
    Signature,
    VariantSpec,
)
from nimwatch.core.validation import LineDict, Problems, did_you_mean

# --------------------------------------------------------------------------- phase model

_LINE_KEYS = tuple(f.name for f in fields(LineSpec) if f.name != "line_starts")
"""The required keys of ``lines:``: the fields of :class:`LineSpec` but the optional ``line_starts``."""
_PHASE_KEYS = ("number", "name", "runs_on", "summary", "weight", "stall_minutes", "markers", "counters", "variants")
_COUNTER_KEYS = ("name", "pattern", "unit", "kind", "total", "total_from")
_FACT_KEYS = ("name", "pattern", "first_wins", "phases")
_VARIANT_KEYS = ("id", "name", "flags", "summary", "detect", "source")


def build_phase_model(data: Any, source: str, problems: Optional[Problems] = None) -> PhaseModel:
    """Validate and compile the parsed content of ``nimadm.yaml``."""
    probs = problems or Problems(source)
    r = FieldReader(probs)
    top = as_mapping(data, probs, 1, "")
    if top is None:
        probs.raise_if_any()
        raise AssertionError("unreachable")
    probs.check_keys(
        top,
        ("version", "lines", "facts", "variants", "phases", "installp", "findings"),
        "",
        ("lines", "phases", "findings"),
    )

    lines_data = as_mapping(top.get("lines"), probs, top.line_of("lines"), "lines")
    line_patterns: dict[str, Any] = {}
    if lines_data is not None:
        probs.check_keys(lines_data, (*_LINE_KEYS, "line_starts"), "lines.", _LINE_KEYS)
        line_patterns["line_starts"] = tuple(r.regex_list(lines_data, "line_starts", "lines.", required=False))
        for key in _LINE_KEYS:
            if key == "run_start":
                line_patterns[key] = tuple(r.regex_list(lines_data, key, "lines."))
            elif key in lines_data:
                line_patterns[key] = r.regex(lines_data[key], lines_data.line_of(key), f"lines.{key}")

    facts: list[FactSpec] = []
    for ctx, d in entries(top, "facts", probs):
        probs.check_keys(d, _FACT_KEYS, ctx, ("name", "pattern"))
        name = r.get(d, "name", str, ctx)
        pat = r.regex(d.get("pattern"), d.line_of("pattern"), ctx + "pattern") if "pattern" in d else None
        if pat is not None and "value" not in pat.groupindex:
            probs.add(d.line_of("pattern"), ctx + "pattern", "needs a (?P<value>...) group")
        fphases = phase_set(r, d, ctx)
        if name and pat is not None:
            first_wins = bool(r.get(d, "first_wins", bool, ctx, required=False, default=False))
            facts.append(FactSpec(name, pat, first_wins, fphases))

    variants: list[VariantSpec] = []
    for ctx, d in entries(top, "variants", probs):
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
    for i, (ctx, d) in enumerate(entries(top, "phases", probs)):
        probs.check_keys(d, _PHASE_KEYS, ctx, ("number", "name", "weight", "stall_minutes"))
        number = r.get(d, "number", int, ctx, default=0)
        if number != i + 1:
            probs.add(d.line_of("number"), ctx + "number", f"phases must be listed 1 to 12 in order; expected {i + 1}")
        counters: list[Counter] = []
        for cctx, c in entries(d, "counters", probs, ctx):
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
            pending_total_from.extend((c.line_of("total_from"), cctx + "total_from", str(name)) for name in total_from)
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
    findings = _engine_findings(top, source, probs) if "findings" in top else {}
    probs.raise_if_any()
    return PhaseModel(
        lines=LineSpec(**line_patterns),
        facts=tuple(facts),
        variants=tuple(variants),
        phases=tuple(phases),
        installp=installp,
        findings=findings,
    )


def _engine_findings(top: LineDict, source: str, probs: Problems) -> dict[str, Signature]:
    """``findings:``: the engine's own findings, each one of :data:`ENGINE_FINDINGS` (all of them needed)."""
    found = {sig.id: sig for sig in signature_list(top, "findings", source, probs)}
    for sid in found:
        if sid not in ENGINE_FINDINGS:
            probs.add(
                top.line_of("findings"),
                f"findings.{sid}",
                "not a finding the engine raises" + did_you_mean(sid, ENGINE_FINDINGS),
            )
    missing = [sid for sid in ENGINE_FINDINGS if sid not in found]
    if missing:
        probs.add(top.line_of("findings"), "findings", f"missing {', '.join(missing)} (the engine raises them)")
    return found


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


def _installp_spec(top: LineDict, r: FieldReader, probs: Problems) -> Optional[InstallpSpec]:
    data = as_mapping(top.get("installp"), probs, top.line_of("installp"), "installp")
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
