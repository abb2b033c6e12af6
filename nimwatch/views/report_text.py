"""``nimwatch report --format text`` and ``--format markdown``.

Owns the two human renderings of report records (see :mod:`report_data`):
plain text for the terminal and Markdown for a change ticket. Both show, per
client and run, the phase table, the findings with their advice, and the
reboot verdict. Text from logs and file names may hold control characters:
both renderings show them escaped (``\x1b``), never raw.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Optional

from nimwatch.terminal import escape_controls

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
    vg = rec.get("cache_vg")
    mode = [f"cache VG {vg}" if v == "cache" and vg else v for v in rec.get("variants", [])]
    if mode:
        bits.append("mode: " + ", ".join(mode))
    return "  ".join(bits)


def _run_title(rec: dict[str, Any]) -> str:
    runs = rec.get("runs_in_log", 1)
    which = f", run {rec['run']} of {runs}" if runs > 1 else ""
    return f"{rec['client'] or '(unknown client)'}  ({rec['log']}{which})"


def _outcome_line(rec: dict[str, Any]) -> str:
    """``Outcome: FAILED in phase 6`` for a migration; ``Operation: ...`` for a clean-up, wake-up or sleep."""
    if rec.get("operation", "migration") != "migration":
        return f"  Operation: {rec.get('summary') or rec['operation']}"
    outcome = OUTCOME_LABEL[rec["outcome"]]
    failed = f" in phase {rec['failed_phase']}" if rec.get("failed_phase") else ""
    extra = ""
    summary = rec.get("summary", "")
    if rec["outcome"] == "incomplete" and summary:
        extra = f": {summary}"
    elif rec["outcome"] == "failed" and "went on" in summary:
        extra = summary[summary.index(" (") :] if " (" in summary else ""
    elif rec["outcome"] == "succeeded" and summary.startswith("succeeded:"):
        extra = summary[len("succeeded") :]
    return f"  Outcome: {outcome}{failed}{extra}   {_headline(rec)}".rstrip()


def nimadm_line(rec: dict[str, Any]) -> str:
    """How nimadm ended, when ``nimwatch run`` started it: ``nimadm exited with status 1 (PID 4242, ...)``."""
    ended = rec.get("nimadm_exit")
    if not ended:
        return ""
    text = f"{ended['summary']} (PID {ended['pid']}; its output: {ended['output']})"
    if ended.get("settled"):
        text += "; the outcome comes from it (the log alone leaves it open)"
    return text


def eta_line(rec: dict[str, Any]) -> str:
    """``ETA 45m (about 14:50), from 5 runs of this client``; ``phase 6 overdue by 12m``; empty without one."""
    eta = rec.get("eta")
    if not eta or eta.get("eta") is None:
        return ""
    if eta.get("overdue"):
        when = f"phase {eta['phase']} overdue by {duration(eta['overdue'])}, {duration(eta['eta'])} left after it"
    else:
        finish = time.strftime("%H:%M", time.localtime(eta["eta_finish"]))
        when = f"{'about ' if eta.get('eta_rough') else ''}{duration(eta['eta']) or '0s'} left (about {finish})"
    return f"ETA: {when}; from {eta['basis']}"


def installp_line(rec: dict[str, Any]) -> str:
    """What installp did, in one line (empty when installp did not run)."""
    inst = rec.get("installp")
    if not inst:
        return ""
    runs = inst["invocations"]
    bits = [f"{runs} installp run{'s' if runs != 1 else ''}, {inst['filesets_ok']} filesets installed"]
    if inst.get("already_installed"):
        bits.append(f"{inst['already_installed']} already installed")
    for key, label in (
        ("failed", "FAILED"),
        ("cancelled", "CANCELLED"),
        ("requisite_failures", "not installed (requisites)"),
        ("missing_requisites", "missing requisites"),
        ("verification_failures", "failed verification"),
    ):
        names = inst.get(key) or []
        if names:
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            bits.append(f"{label}: {shown}")
    if inst.get("builddate_failure"):
        bits.append("BUILDDATE check failed")
    if inst.get("bosboot_failure"):
        bits.append("bosboot verification failed")
    return "; ".join(bits)


def fold_benign(findings: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int, list[int]]]:
    """Benign findings, one entry per signature: (first finding, count, lines)."""
    groups: dict[str, tuple[dict[str, Any], int, list[int]]] = {}
    for f in findings:
        if not f.get("benign"):
            continue
        first, count, lines = groups.get(f["rule"], (f, 0, []))
        groups[f["rule"]] = (first, count + 1, [*lines, f["line"]])
    return list(groups.values())


def _lines(lines: list[int]) -> str:
    if len(lines) == 1:
        return f"line {lines[0]}"
    return f"lines {lines[0]}-{lines[-1]}" if len(lines) > 3 else "lines " + ", ".join(str(n) for n in lines)


def _codes(findings: list[dict[str, Any]], rule: str) -> str:
    codes = sorted({f["code"] for f in findings if f["rule"] == rule and f.get("code")})
    return " " + "/".join(codes[:4]) + ("/..." if len(codes) > 4 else "") if codes else ""


def _verdict_wanted(rec: dict[str, Any], client: Optional[dict[str, Any]]) -> bool:
    """The client's verdict is worth its own line when the log holds more than one run or no plain migration."""
    if client is None:
        return False
    if client.get("run") is None and client.get("nimadm_exit"):
        return True  # a nimadm that ended before writing to its log: the client's news
    return bool(rec.get("runs_in_log", 1) > 1 or client["operation"] != "migration" or client["cleaned_up"])


def render_text(
    records: list[dict[str, Any]], clients: Optional[list[dict[str, Any]]] = None, *, verbose: bool = False
) -> str:
    verdicts = {c["log"]: c for c in clients or []}
    seen_logs: set[str] = set()
    out: list[str] = []
    for rec in records:
        out += ["=" * 78, _run_title(rec)]
        client = verdicts.get(rec["log"])
        if rec["log"] not in seen_logs and _verdict_wanted(rec, client):
            assert client is not None
            last = client["operation"] == "migration" and client["run"] is not None
            judged = f" (judged on run {client['run']}, the last migration)" if last else ""
            out.append(f"  Verdict: {client['summary']}{judged}")
            if client["run"] is None and nimadm_line(client):
                out.append(f"  Exit status: {nimadm_line(client)}")
        seen_logs.add(rec["log"])
        out.append(_outcome_line(rec))
        extra = {"Exit status: ": nimadm_line(rec), "": eta_line(rec)}
        out += [f"  {label}{text}" for label, text in extra.items() if text]
        if rec.get("mid_run"):
            out.append("  (the log starts in the middle of a run: earlier phases are assumed done)")
        timed = any("seconds" in ph for ph in rec["phases"])
        time_head = f"{'Time':>7} " if timed else ""
        out += ["", f"  {'#':>2}  {'Phase':<46} {'Status':<8} {time_head}Progress"]
        for ph in rec["phases"]:
            mark = STATUS_MARK[ph["status"]]
            took = f"{duration(ph.get('seconds')):>7} " if timed else ""
            out.append(f"  {ph['number']:>2}  {ph['name']:<46} {mark} {ph['status']:<6} {took}{_progress(ph)}".rstrip())
        if installp_line(rec):
            out.append(f"\n  installp: {installp_line(rec)}")
        for phase_no, lines in sorted(rec.get("script_output", {}).items()):
            out.append(f"\n  Customization script output (phase {phase_no}):")
            out.extend(f"    | {line}" for line in lines[:20])
            if len(lines) > 20:
                out.append(f"    | ... {len(lines) - 20} more lines")
        findings = rec["findings"]
        shown = findings if verbose else [f for f in findings if not f.get("benign")]
        out.append("")
        if shown:
            out.append(f"  Findings ({len(shown)}):")
            for f in shown:
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
        folded = [] if verbose else fold_benign(findings)
        if folded:
            out.append(f"  Routine lines ({sum(n for _, n, _ in folded)}, benign; --verbose lists them):")
            for first, count, lines in folded:
                codes = _codes(findings, first["rule"])
                out.append(f"  {SEVERITY_MARK['info']} {count} x{codes} {first['title']} ({_lines(lines)})")
        reboot = rec["reboot"]
        boot = f" (boot disk: {rec['boot_disk']})" if rec.get("boot_disk") else ""
        out += ["", f"  Reboot{boot}: {reboot['summary']}"]
        out.extend(f"      {line}" for line in (reboot.get("detail") or "").splitlines())
        out.append("")
    out.append(summary_line(records))
    if clients:
        out.append(client_summary_line(clients))
    return escape_controls("\n".join(out) + "\n")


def summary_line(records: list[dict[str, Any]]) -> str:
    counts = Counter(rec["outcome"] for rec in records)
    return f"{len(records)} run(s): " + ", ".join(f"{counts[k]} {k}" for k in OUTCOME_LABEL)


def client_summary_line(clients: list[dict[str, Any]]) -> str:
    """``3 client(s) by their last migration: 1 succeeded, 1 failed, 1 incomplete``."""
    counts = Counter(c["status"] for c in clients)
    order = ("succeeded", "failed", "incomplete", "running", "other")
    words = {"other": "no migration"}
    return f"{len(clients)} client(s) by their last migration: " + ", ".join(
        f"{counts[s]} {words.get(s, s)}" for s in order if counts.get(s)
    )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(
    records: list[dict[str, Any]], clients: Optional[list[dict[str, Any]]] = None, *, verbose: bool = False
) -> str:
    out: list[str] = ["# nimadm migration report", ""]
    if clients:
        for c in clients:
            out.append(f"- **{_md(c['client'])}**: {_md(c['summary'])} (reboot: {c['reboot']['verdict']})")
        out.append("")
    out += ["| Client | Run | Outcome | Failed phase | Target | Boot disk | Reboot |", "|---|---|---|---|---|---|---|"]
    for rec in records:
        level = f"AIX {rec['target_level']}" if rec.get("target_level") else ""
        target = " ".join(filter(None, [level, " ".join(rec.get("target_disks", []))]))
        outcome = OUTCOME_LABEL[rec["outcome"]]
        if rec.get("operation", "migration") != "migration":
            outcome = f"{rec['operation'].upper()} {outcome}"
        out.append(
            f"| {_md(rec['client'])} | {rec['run']} | **{outcome}** | "
            f"{rec.get('failed_phase') or ''} | {_md(target)} | {rec.get('boot_disk') or ''} | "
            f"{_md(rec['reboot']['verdict'])} |"
        )
    for rec in records:
        out += ["", f"## {_md(rec['client'])} — run {rec['run']}: {OUTCOME_LABEL[rec['outcome']]}", ""]
        out.append(f"- Log: `{rec['log']}`")
        if rec.get("summary"):
            out.append(f"- {rec.get('operation', 'migration').capitalize()}: {_md(rec['summary'])}")
        if _headline(rec):
            out.append(f"- Migration: {_headline(rec)}")
        for key in ("spot", "lpp_source"):
            if rec.get(key):
                out.append(f"- {key}: `{rec[key]}`")
        extra = {"Exit status: ": nimadm_line(rec), "installp: ": installp_line(rec), "": eta_line(rec)}
        out += [f"- {label}{_md(text)}" for label, text in extra.items() if text]
        out += [f"- Reboot: {rec['reboot']['summary']}", ""]
        out += ["| # | Phase | Status | Time | Progress |", "|---|---|---|---|---|"]
        for ph in rec["phases"]:
            took = duration(ph.get("seconds"))
            out.append(f"| {ph['number']} | {_md(ph['name'])} | {ph['status']} | {took} | {_md(_progress(ph))} |")
        out.append("")
        findings = rec["findings"]
        shown = findings if verbose else [f for f in findings if not f.get("benign")]
        folded = [] if verbose else fold_benign(findings)
        if shown:
            out += ["### Findings", ""]
            for f in shown:
                code = f" `{f['code']}`" if f.get("code") else ""
                out.append(f"- **{f['severity']}**{code} phase {f['phase']}, line {f['line']}: {_md(f['title'])}")
                out.append(f"  - Line: `{f['text'][:200].replace('`', chr(39))}`")
                if f.get("explanation"):
                    out.append(f"  - Why: {_md(f['explanation'])}")
                if f.get("advice"):
                    out += ["  - Fix:", "", "    ```", *(f"    {a}" for a in f["advice"].splitlines()), "    ```"]
        else:
            out.append("No findings.")
        if folded:
            out += ["", f"Routine lines (benign, {sum(n for _, n, _ in folded)}):", ""]
            for first, count, lines in folded:
                out.append(f"- {count} x{_codes(findings, first['rule'])} {_md(first['title'])} ({_lines(lines)})")
    out += ["", summary_line(records)]
    if clients:
        out += ["", client_summary_line(clients)]
    return escape_controls("\n".join(out) + "\n")
