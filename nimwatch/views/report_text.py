"""``nimwatch report --format text`` and ``--format markdown``.

Owns the two human renderings of report records (see :mod:`report_data`):
plain text for the terminal and Markdown for a change ticket. Both show, per
client and run, the phase table, the findings with their advice, and the
reboot verdict.
"""

from __future__ import annotations

from typing import Any

SEVERITY_MARK = {"error": "✖", "warning": "▲", "info": "·"}
STATUS_MARK = {"done": "✔", "running": "…", "failed": "✖", "not_run": " "}
OUTCOME_LABEL = {"succeeded": "SUCCEEDED", "failed": "FAILED", "incomplete": "INCOMPLETE"}


def duration(seconds: float | None) -> str:
    """``1h02m``, ``12m30s``, ``45s``; empty when unknown."""
    if seconds is None:
        return ""
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def _progress(phase: dict[str, Any]) -> str:
    prog = phase.get("progress")
    if not prog:
        return ""
    if prog.get("total"):
        return f"{prog['done']}/{prog['total']} {prog['unit']}"
    return f"{prog['done']} {prog['unit']}"


def _headline(rec: dict[str, Any]) -> str:
    bits = []
    if rec.get("target_level"):
        bits.append(f"to AIX {rec['target_level']}")
    if rec.get("target_disks"):
        bits.append("on " + " ".join(rec["target_disks"]))
    mode = []
    for v in rec.get("variants", []):
        mode.append(f"cache VG {rec['cache_vg']}" if v == "cache" and rec.get("cache_vg") else v)
    if mode:
        bits.append("mode: " + ", ".join(mode))
    return "  ".join(bits)


def _run_title(rec: dict[str, Any]) -> str:
    runs = rec.get("runs_in_log", 1)
    which = f", run {rec['run']} of {runs}" if runs > 1 else ""
    return f"{rec['client'] or '(unknown client)'}  ({rec['log']}{which})"


def render_text(records: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for rec in records:
        outcome = OUTCOME_LABEL[rec["outcome"]]
        failed = f" in phase {rec['failed_phase']}" if rec.get("failed_phase") else ""
        out.append("=" * 78)
        out.append(_run_title(rec))
        out.append(f"  Outcome: {outcome}{failed}   {_headline(rec)}".rstrip())
        if rec.get("mid_run"):
            out.append("  (the log starts in the middle of a run: earlier phases are assumed done)")
        out.append("")
        timed = any("seconds" in ph for ph in rec["phases"])
        time_head = f"{'Time':>7} " if timed else ""
        out.append(f"  {'#':>2}  {'Phase':<46} {'Status':<8} {time_head}Progress")
        for ph in rec["phases"]:
            mark = STATUS_MARK[ph["status"]]
            took = f"{duration(ph.get('seconds')):>7} " if timed else ""
            out.append(f"  {ph['number']:>2}  {ph['name']:<46} {mark} {ph['status']:<6} {took}{_progress(ph)}".rstrip())
        for phase_no, lines in sorted(rec.get("script_output", {}).items()):
            out.append(f"\n  Customization script output (phase {phase_no}):")
            out.extend(f"    | {line}" for line in lines[:20])
            if len(lines) > 20:
                out.append(f"    | ... {len(lines) - 20} more lines")
        findings = rec["findings"]
        out.append("")
        if findings:
            out.append(f"  Findings ({len(findings)}):")
            for f in findings:
                code = f" {f['code']}" if f.get("code") else ""
                out.append(
                    f"  {SEVERITY_MARK[f['severity']]} {f['severity'].upper()}{code}  phase {f['phase']}, "
                    f"line {f['line']}: {f['title']}"
                )
                out.append(f"      > {f['text'][:200]}")
                if f.get("explanation"):
                    out.append(f"      Why: {f['explanation']}")
                if f.get("advice"):
                    advice = f["advice"].splitlines()
                    out.append(f"      Fix: {advice[0]}")
                    out.extend(f"           {a}" for a in advice[1:])
        else:
            out.append("  Findings: none")
        out.append("")
        reboot = rec["reboot"]
        boot = f" (boot disk: {rec['boot_disk']})" if rec.get("boot_disk") else ""
        out.append(f"  Reboot{boot}: {reboot['summary']}")
        if reboot.get("detail"):
            out.extend(f"      {line}" for line in reboot["detail"].splitlines())
        out.append("")
    out.append(summary_line(records))
    return "\n".join(out) + "\n"


def summary_line(records: list[dict[str, Any]]) -> str:
    counts = {k: 0 for k in OUTCOME_LABEL}
    for rec in records:
        counts[rec["outcome"]] += 1
    return f"{len(records)} run(s): " + ", ".join(f"{n} {k}" for k, n in counts.items())


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(records: list[dict[str, Any]]) -> str:
    out: list[str] = ["# nimadm migration report", ""]
    out.append("| Client | Run | Outcome | Failed phase | Target | Boot disk | Reboot |")
    out.append("|---|---|---|---|---|---|---|")
    for rec in records:
        target = " ".join(
            filter(
                None,
                [
                    f"AIX {rec['target_level']}" if rec.get("target_level") else "",
                    " ".join(rec.get("target_disks", [])),
                ],
            )
        )
        out.append(
            f"| {_md(rec['client'])} | {rec['run']} | **{OUTCOME_LABEL[rec['outcome']]}** | "
            f"{rec.get('failed_phase') or ''} | {_md(target)} | {rec.get('boot_disk') or ''} | "
            f"{_md(rec['reboot']['verdict'])} |"
        )
    for rec in records:
        out.append("")
        out.append(f"## {_md(rec['client'])} — run {rec['run']}: {OUTCOME_LABEL[rec['outcome']]}")
        out.append("")
        out.append(f"- Log: `{rec['log']}`")
        if _headline(rec):
            out.append(f"- Migration: {_headline(rec)}")
        for key in ("spot", "lpp_source"):
            if rec.get(key):
                out.append(f"- {key}: `{rec[key]}`")
        out.append(f"- Reboot: {rec['reboot']['summary']}")
        out.append("")
        out.append("| # | Phase | Status | Time | Progress |")
        out.append("|---|---|---|---|---|")
        for ph in rec["phases"]:
            took = duration(ph.get("seconds"))
            out.append(f"| {ph['number']} | {_md(ph['name'])} | {ph['status']} | {took} | {_md(_progress(ph))} |")
        out.append("")
        if rec["findings"]:
            out.append("### Findings")
            out.append("")
            for f in rec["findings"]:
                code = f" `{f['code']}`" if f.get("code") else ""
                out.append(f"- **{f['severity']}**{code} phase {f['phase']}, line {f['line']}: {_md(f['title'])}")
                out.append(f"  - Line: `{f['text'][:200].replace('`', chr(39))}`")
                if f.get("explanation"):
                    out.append(f"  - Why: {_md(f['explanation'])}")
                if f.get("advice"):
                    out.append("  - Fix:")
                    out.append("")
                    out.append("    ```")
                    out.extend(f"    {a}" for a in f["advice"].splitlines())
                    out.append("    ```")
        else:
            out.append("No findings.")
    out.append("")
    out.append(summary_line(records))
    return "\n".join(out) + "\n"
