"""The pre-flight's output: plain ASCII text for a terminal in any locale, or one JSON document."""

from __future__ import annotations

import json
from typing import Any, Optional

from nimwatch.aix.text import ascii_only
from nimwatch.preflight.model import CheckResult, Request, Status, exit_code
from nimwatch.schema import SCHEMA_VERSION

MARK = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.UNKNOWN: " ?? "}


def _counts(results: list[CheckResult]) -> dict[str, int]:
    return {s.value: sum(1 for r in results if r.status is s) for s in Status}


def describe(request: Request) -> str:
    mode = f"cache VG {request.cache_vg}" if request.cache_vg else "NFS mode (no -j)"
    disks = " ".join(request.disks)
    return f"client {request.client}, SPOT {request.spot}, lpp_source {request.lpp_source}, disk {disks}, {mode}"


def render_text(request: Request, results: list[CheckResult], skipped: Optional[list[str]] = None) -> str:
    width = max((len(r.id) for r in results), default=10)
    out = [f"nimwatch preflight: {describe(request)}", ""]
    for r in results:
        out.append(f"{MARK[r.status]}  {r.id.ljust(width)}  {r.summary}")
        pad = " " * (width + 8)
        out.extend(f"{pad}evidence: {line}" for line in r.evidence)
        if r.status is not Status.PASS and r.fix:
            out.append(f"{pad}fix: {r.fix}")
    counts = _counts(results)
    code = int(exit_code(results))
    out.append("")
    if skipped:
        out.append(f"Skipped: {', '.join(skipped)}")
    out.append(f"Result: {counts['pass']} passed, {counts['fail']} failed, {counts['unknown']} unknown (exit {code})")
    return ascii_only("\n".join(out) + "\n")


def render_json(request: Request, results: list[CheckResult], skipped: Optional[list[str]] = None) -> str:
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "client": request.client,
        "spot": request.spot,
        "lpp_source": request.lpp_source,
        "disks": list(request.disks),
        "cache_vg": request.cache_vg,
        "checks": [r.as_json() for r in results],
        "skipped": list(skipped or []),
        "counts": _counts(results),
        "exit_code": int(exit_code(results)),
    }
    return json.dumps(doc, indent=2, ensure_ascii=True) + "\n"
