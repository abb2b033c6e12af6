"""What a run and a client's log mean: the operation, the outcome in words, the reboot verdict.

Owns :func:`operation_of`, :func:`run_label`, :func:`reboot_verdict`,
:func:`client_verdict` and :func:`root_finding` (the finding that names a
run's cause), the one place that decides what every view (report,
``status``, the TUI, metrics, alerts, exit codes) says about a client.

Rules (README "Exit codes"):

* A run is a ``migration`` (also a TL/SP update with -U, a mksysb migration),
  a ``cleanup`` (nimadm -C), a ``wakeup`` (-W) or a ``sleep`` (-S).
* A client is judged by its LAST MIGRATION, not by a later clean-up or
  wake-up: a migration killed in phase 6 and then cleaned up with nimadm -C is
  "incomplete (abandoned), cleaned up — not migrated". A log without any
  migration says what it holds ("clean-up only, nothing migrated").
* A run whose log simply ends is "in progress (or stopped)" and the reboot
  verdict is ``wait`` until it ends or is declared stalled.
* installp failures (FAILED/CANCELLED rows, requisite failures, BUILDDATE or
  bosboot errors) fail the run even when nimadm went on to phase 12; the
  reboot verdict is then never ``safe``.

nimadm sets the bootlist to the migrated disk at the end of phase 11 (unless
-B) and back to the original disk when it aborts (nimadm_facts.md 1.3, 7);
the last ``Bootlist is set to the boot disk:`` line therefore says which
system the client boots next. Pure: times come in as arguments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from nimwatch.core.advice import advice_values
from nimwatch.core.events import Finding, InstallpResult, LaunchExited, Outcome, Severity
from nimwatch.core.outside import exit_words, exited_ok
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import RunState

OPERATIONS = ("migration", "cleanup", "wakeup", "sleep")
"""What a run did (``operation`` in the JSON report)."""
STATUSES = ("running", "failed", "incomplete", "succeeded", "other")
"""A client's status: from its last migration; ``other`` when the log holds no migration that could be judged."""
OPERATION_WORDS = {
    "cleanup": "clean-up (nimadm -C)",
    "wakeup": "wake-up (nimadm -W)",
    "sleep": "sleep (nimadm -S)",
}


REBOOT_WORDS = {
    "safe": "ready",
    "wait": "wait",
    "do_not_reboot": "do not",
    "check_bootlist": "check bootlist",
    "reset_bootlist": "reset bootlist",
    "not_applicable": "-",
}
"""The reboot verdict in a word or two, for a table column (the dashboard's Reboot column)."""
GENERIC_RULES = frozenset({"nimadm-aborted", "nimadm-error-coded", "nimadm-error-uncoded"})
"""Findings that say THAT nimadm failed, not why: a cause only when the run has nothing more specific."""


@dataclass(frozen=True)
class RebootVerdict:
    verdict: str
    """safe | not_applicable | wait | do_not_reboot | check_bootlist | reset_bootlist"""
    summary: str
    detail: str = ""

    @property
    def word(self) -> str:
        """``ready``, ``wait``, ``do not``, ``check bootlist``, ``reset bootlist`` or ``-`` (:data:`REBOOT_WORDS`)."""
        return REBOOT_WORDS[self.verdict]


@dataclass(frozen=True)
class ClientVerdict:
    """What a client's log means as a whole (see the module's rules)."""

    status: str
    """One of :data:`STATUSES`."""
    summary: str
    """In words, e.g. "failed in phase 6" or "incomplete (abandoned), cleaned up — not migrated"."""
    run: Optional[int]
    """The run judged (the last migration, else the last run); None when the log has no run."""
    operation: str
    cleaned_up: bool
    """A nimadm -C ran after the last migration (it removed what that migration left)."""
    reboot: RebootVerdict


def operation_of(run: RunState) -> str:
    """One of :data:`OPERATIONS`: clean-up, wake-up and sleep runs print no phase banner."""
    ops = ("cleanup", "wakeup", "sleep") if run.last_phase == 0 else ()
    return next((op for op in ops if op in run.variants), "migration")


def run_label(run: RunState, *, stalled: bool = False, last_line_at: str = "") -> str:
    """The run's outcome in words; ``last_line_at`` is the (formatted) time of its last line, when known."""
    op = operation_of(run)
    phase = run.failed_phase or run.current_phase or run.last_phase
    if op != "migration":
        if run.outcome is Outcome.SUCCEEDED:
            return {
                "cleanup": "clean-up done (nimadm -C): nothing migrated",
                "wakeup": "wake-up done: altinst_rootvg is mounted on the master",
                "sleep": "sleep done: altinst_rootvg is put back to sleep",
            }[op]
        words = {Outcome.FAILED: "failed", Outcome.RUNNING: "running"}.get(run.outcome, "did not finish")
        return f"{OPERATION_WORDS[op]} {words}"
    if run.outcome is Outcome.RUNNING:
        return f"running in phase {phase}" if phase else "running, before phase 1"
    ended = run.nimadm_exit
    if run.outcome is Outcome.SUCCEEDED:
        if ended is not None and not exited_ok(ended):
            return f"succeeded by the log, but {exit_words(ended)}"
        if "partial" in run.variants and run.last_phase < 12:
            return f"succeeded: partial run (-P) up to phase {run.last_phase}"
        return "succeeded"
    if run.outcome is Outcome.FAILED:
        where = f"in phase {run.failed_phase}" if run.failed_phase else "before phase 1"
        if run.exit_settled and ended is not None and not exited_ok(ended):
            return f"failed {where}: {exit_words(ended)}, the log stops there"
        if run.failed_phase and run.last_phase > run.failed_phase:
            return f"failed {where} (nimadm went on to phase {run.last_phase})"
        if ended is not None and exited_ok(ended):
            return f"failed {where} (nimadm exited 0)"
        return f"failed {where}"
    where = f"in phase {phase}" if phase else "before phase 1"
    if run.exit_settled:
        return f"incomplete: {run.finish_reason}"
    at = f" — last line at {last_line_at}" if last_line_at else ""
    if run.open_end and not stalled:
        return f"in progress (or stopped) {where}{at}"
    if run.open_end:
        return f"stopped {where}: no new line for longer than the phase's stall threshold{at}"
    reason = f" ({run.finish_reason})" if run.finish_reason else ""
    return f"incomplete: stopped {where}{reason}"


def _installp_words(result: InstallpResult) -> str:
    """What installp left undone, in a few words."""
    bits = []

    def names(values: tuple[str, ...]) -> str:
        shown = ", ".join(values[:4])
        return shown + (f" and {len(values) - 4} more" if len(values) > 4 else "")

    if result.failed:
        bits.append(f"{len(result.failed)} fileset(s) FAILED ({names(result.failed)})")
    if result.cancelled:
        bits.append(f"{len(result.cancelled)} CANCELLED ({names(result.cancelled)})")
    dropped = result.requisite_failures + result.verification_failures
    if dropped:
        bits.append(f"{len(dropped)} not installed for requisites ({names(dropped)})")
    elif result.missing_requisites or result.failed_verification:
        bits.append(f"{result.failed_verification or len(result.missing_requisites)} failed pre-installation")
    if result.builddate_failure:
        bits.append("an installp run stopped at its BUILDDATE check")
    if result.bosboot_failure:
        bits.append("installp's bosboot verification failed")
    return "; ".join(bits) or "installp reported failures"


def reboot_verdict(run: RunState, *, stalled: bool = False) -> RebootVerdict:
    """Whether the client can be rebooted into the migrated system, and what to run.

    ``stalled``: the run's log ended and has been silent for longer than its
    phase's stall threshold.
    """
    boot: Optional[str] = run.boot_disk
    targets = run.target_disks
    op = operation_of(run)
    if "mksysb_output" in run.variants:
        out = run.facts.get("mksysb_output", "a mksysb file")
        return RebootVerdict(
            "not_applicable",
            f"No client disk was changed: the migrated system is the mksysb image {out}.",
            "Install it with NIM (bos_inst with the new mksysb resource) or alt_disk_mksysb.",
        )
    if op != "migration":
        what = {"cleanup": "nimadm -C clean-up", "wakeup": "a wake-up of altinst_rootvg"}.get(
            op, "a sleep of altinst_rootvg"
        )
        detail = "Put altinst_rootvg back to sleep (nimadm -S) before booting it." if op == "wakeup" else ""
        return RebootVerdict(
            "not_applicable", f"This run was {what}; it does not change what the client boots.", detail
        )
    installp = run.installp if run.installp is not None and run.installp.failing else None
    if run.outcome is Outcome.RUNNING or (run.outcome is Outcome.INCOMPLETE and run.open_end and not stalled):
        phase = run.current_phase or run.last_phase
        now = f"in phase {phase} of 12" if phase else "before phase 1"
        return RebootVerdict(
            "wait",
            f"Do not reboot yet: the migration is {now} (or was stopped there).",
            "The bootlist is only switched to the new disk at the end of phase 11; nimwatch says more "
            "when the log goes on, or when it has been silent past the phase's stall threshold.",
        )
    if run.outcome is Outcome.SUCCEEDED and run.nimadm_exit is not None and not exited_ok(run.nimadm_exit):
        out = run.nimadm_exit.output or "its output file"
        return RebootVerdict(
            "check_bootlist",
            f"The log shows the migration done, but {exit_words(run.nimadm_exit)}: read nimadm's output "
            "and check the bootlist before rebooting.",
            f"more {out}\nbootlist -m normal -o",
        )
    if run.outcome is Outcome.SUCCEEDED:
        if "partial" in run.variants and run.last_phase < 11:
            return RebootVerdict(
                "do_not_reboot",
                f"Partial run (-P) up to phase {run.last_phase}: the migrated disk is not finished.",
                "Run the remaining phases (through 11 and 12) before booting the new disk.",
            )
        if boot is None:
            disk = targets[0] if targets else "<migrated disk>"
            return RebootVerdict(
                "check_bootlist",
                "The bootlist was not changed by nimadm (run with -B?): set it before rebooting.",
                f"bootlist -m normal {disk}\nbootlist -m normal -o",
            )
        if targets and boot not in targets:
            return RebootVerdict(
                "check_bootlist",
                f"The bootlist names {boot}, not the migrated disk ({' '.join(targets)}): "
                "a reboot boots the old system.",
                f"bootlist -m normal {targets[0]}\nbootlist -m normal -o",
            )
        level = f"AIX {run.facts['target_level']}" if run.facts.get("target_level") else "the new level"
        return RebootVerdict(
            "safe",
            f"Safe to reboot into {level}: the bootlist names {boot}, the migrated disk.",
            "The original rootvg stays on its disk (old_rootvg after the reboot): to fall back, set the "
            "bootlist to that disk and reboot. Check first: bootlist -m normal -o",
        )
    # failed or incomplete
    back = (
        "lspv | grep -w rootvg            # on the client: the original rootvg's disk\n"
        "bootlist -m normal <original disk>\n"
        "bootlist -m normal -o"
    )
    if boot is not None and targets and boot in targets:
        if installp is not None:
            lpp = run.facts.get("lpp_source", "<lpp_source>")
            names = installp.failed + installp.cancelled + installp.requisite_failures + installp.verification_failures
            missing = " ".join(dict.fromkeys(names[:20])) or "<filesets>"
            return RebootVerdict(
                "reset_bootlist",
                f"Do NOT reboot: the bootlist names {boot}, the migrated disk, but phase "
                f"{run.failed_phase or 6} left software not migrated: {_installp_words(installp)}. A reboot "
                "boots a partly migrated system.",
                f"Point the bootlist back at the original disk first:\n{back}\n"
                f"Then fix the cause (lpp_source {lpp}, or the client), nimadm -C and rerun nimadm.\n"
                "Or, only if you accept finishing it on the new system: reboot, then install the missing "
                f"filesets from the lpp_source (installp -acgXYd <lpp_source_dir> {missing}) and check "
                "with lppchk -v and oslevel -s.",
            )
        return RebootVerdict(
            "reset_bootlist",
            f"Do NOT reboot: the bootlist names {boot}, the disk of a {run.outcome.value} migration.",
            f"Set it back to the original rootvg first:\n{back}",
        )
    if run.outcome is Outcome.FAILED:
        where = f" in phase {run.failed_phase}" if run.failed_phase else ""
        if installp is not None and boot is None:
            return RebootVerdict(
                "do_not_reboot",
                f"The migration failed{where}: {_installp_words(installp)}. Do not boot the target disk.",
                "Check the bootlist on the client (it must name the original disk): bootlist -m normal -o",
            )
        if boot is not None:
            return RebootVerdict(
                "do_not_reboot",
                f"The migration failed{where}; the bootlist names {boot}, the original rootvg: "
                "a reboot boots the old, unchanged system.",
                "Fix the cause and run nimadm again; no reboot is needed.",
            )
        return RebootVerdict(
            "do_not_reboot",
            f"The migration failed{where}: do not reboot onto the target disk.",
            "Check the bootlist on the client: bootlist -m normal -o",
        )
    return RebootVerdict(
        "do_not_reboot",
        f"The run did not finish (it stopped in phase {run.last_phase}): do not reboot onto the target disk.",
        "If nimadm is no longer running: nimadm -C -c <client> -s <spot>, then run it again. "
        "Check the bootlist: bootlist -m normal -o",
    )


def client_verdict(
    runs: Sequence[RunState],
    *,
    stalled: bool = False,
    last_line_at: str = "",
    launch: Optional[LaunchExited] = None,
) -> ClientVerdict:
    """The verdict on a client from all the runs of its log (see the module's rules).

    ``stalled`` and ``last_line_at`` describe the log's latest run (live stall
    state, or the report's judgement of a log that simply ends). ``launch``: a
    nimadm ``nimwatch run`` started after every run of the log that ended
    without writing one (``LogState.launch_exit``); when it failed, that is
    the client's news.
    """
    if launch is not None and not exited_ok(launch):
        words = f"{exit_words(launch)} before writing to its log"
        out = launch.output or "<the run output file>"
        reboot = RebootVerdict("do_not_reboot", f"{words}: nothing was migrated.", f"Read nimadm's output: more {out}")
        return ClientVerdict("failed", words, None, "migration", False, reboot)
    if not runs:
        return ClientVerdict(
            "running", "no nimadm output yet", None, "migration", False,
            RebootVerdict("wait", "Nothing to judge yet: the log has no nimadm run."),
        )
    latest = runs[-1]
    migrations = [r for r in runs if operation_of(r) == "migration"]
    if not migrations:
        op = operation_of(latest)
        label = {"cleanup": "clean-up", "wakeup": "wake-up", "sleep": "sleep"}[op]
        if latest.outcome is Outcome.SUCCEEDED:
            status, summary = "other", f"{label} only, nothing migrated"
        else:
            status = latest.outcome.value
            summary = f"{run_label(latest, stalled=stalled, last_line_at=last_line_at)}; nothing migrated"
        return ClientVerdict(status, summary, latest.index, op, op == "cleanup", reboot_verdict(latest))
    mig = migrations[-1]
    later = runs[runs.index(mig) + 1 :]
    cleanups = [r for r in later if operation_of(r) == "cleanup" and r.outcome is Outcome.SUCCEEDED]
    if not cleanups:
        judged_stalled = stalled and mig is latest
        label = run_label(mig, stalled=judged_stalled, last_line_at=last_line_at if mig is latest else "")
        reboot = reboot_verdict(mig, stalled=judged_stalled)
        return ClientVerdict(mig.outcome.value, label, mig.index, "migration", False, reboot)
    boot = cleanups[-1].boot_disk
    reboot = RebootVerdict(
        "not_applicable",
        "Nothing to reboot into: nimadm -C removed what the migration left"
        + (f"; the bootlist names {boot}, the original rootvg." if boot else "."),
        "Run the migration again when its cause is fixed. Check the bootlist: bootlist -m normal -o",
    )
    if mig.outcome is Outcome.FAILED:
        where = f"in phase {mig.failed_phase}" if mig.failed_phase else "before phase 1"
        summary = f"failed {where}, cleaned up — not migrated"
    elif mig.outcome is Outcome.SUCCEEDED:
        summary = "migrated, then removed by nimadm -C — not migrated"
    else:
        summary = "incomplete (abandoned), cleaned up — not migrated"
    status = "failed" if mig.outcome is Outcome.FAILED else "incomplete"
    return ClientVerdict(status, summary, mig.index, "migration", True, reboot)


def root_finding(run: RunState) -> Optional[Finding]:
    """The finding that names why ``run`` is where it is (the dashboard's Cause), or None.

    A running run: its latest warning or error (routine, benign lines never).
    A finished run: its first finding that fails the run, one that says why
    rather than only that nimadm failed (:data:`GENERIC_RULES`) when there is
    one; else its worst finding (the first of the worst), warnings and errors
    only for a run that succeeded.
    """
    notable = [f for f in run.findings if not f.benign]
    if run.outcome is Outcome.RUNNING:
        return next((f for f in reversed(notable) if f.severity is not Severity.INFO), None)
    failing = [f for f in notable if f.fails_run]
    specific = [f for f in failing if f.rule not in GENERIC_RULES]
    if specific or failing:
        return (specific or failing)[0]
    if not notable:
        return None
    worst = max(notable, key=lambda f: f.severity.rank)  # max keeps the first of equals
    if run.outcome is Outcome.SUCCEEDED and worst.severity is Severity.INFO:
        return None
    return worst


_PLACEHOLDER = re.compile(r"\s*<([A-Za-z_][A-Za-z0-9_]*)>")


def cause_label(finding: Finding, run: Optional[RunState], rules: RuleSet) -> str:
    """``0516-404 VG full: no free PPs``: the finding's message number and its signature's short title.

    The short title (``short:`` in the catalog, else the title) may name
    placeholders; those the log told are filled (``<cachevg>`` -> ``nimvg``),
    the others are left out.
    """
    sig = rules.signature(finding.rule)
    short = (sig.short if sig is not None else "") or finding.title
    if "<" in short:
        values = advice_values(run, fills=finding.fills)
        short = _PLACEHOLDER.sub(lambda m: f" {values[m.group(1)]}" if m.group(1) in values else "", short).strip()
    return f"{finding.code} {short}" if finding.code else short
