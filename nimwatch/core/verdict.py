"""What a run's outcome and boot disk mean for the next reboot of the client.

Owns :func:`reboot_verdict`. nimadm sets the bootlist to the migrated disk at
the end of phase 11 (unless -B) and back to the original disk when it aborts
(nimadm_facts.md 1.3, 7); the last ``Bootlist is set to the boot disk:`` line
therefore says which system the client boots next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from nimwatch.core.events import Outcome
from nimwatch.core.state import RunState


@dataclass(frozen=True)
class RebootVerdict:
    verdict: str
    """safe | not_applicable | wait | do_not_reboot | check_bootlist | reset_bootlist"""
    summary: str
    detail: str = ""


def _level(run: RunState) -> str:
    level = run.facts.get("target_level")
    return f"AIX {level}" if level else "the new level"


def reboot_verdict(run: RunState) -> RebootVerdict:
    """Whether the client can be rebooted into the migrated system, and what to run."""
    variants = set(run.variants)
    boot: Optional[str] = run.boot_disk
    targets = run.target_disks
    if "mksysb_output" in variants:
        out = run.facts.get("mksysb_output", "a mksysb file")
        return RebootVerdict(
            "not_applicable",
            f"No client disk was changed: the migrated system is the mksysb image {out}.",
            "Install it with NIM (bos_inst with the new mksysb resource) or alt_disk_mksysb.",
        )
    if variants & {"cleanup", "wakeup", "sleep"} and run.last_phase == 0:
        what = "nimadm -C clean-up" if "cleanup" in variants else "a wake-up/sleep of altinst_rootvg"
        detail = ""
        if "wakeup" in variants and "sleep" not in variants:
            detail = "Put altinst_rootvg back to sleep (nimadm -S) before booting it."
        return RebootVerdict(
            "not_applicable", f"This run was {what}; it does not change what the client boots.", detail
        )
    if run.outcome is Outcome.RUNNING:
        return RebootVerdict(
            "wait",
            f"Do not reboot yet: the migration is in phase {run.current_phase} of 12.",
            "The bootlist is only switched to the new disk at the end of phase 11.",
        )
    if run.outcome is Outcome.SUCCEEDED:
        if "partial" in variants and run.last_phase < 11:
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
        return RebootVerdict(
            "safe",
            f"Safe to reboot into {_level(run)}: the bootlist names {boot}, the migrated disk.",
            "The original rootvg stays on its disk (old_rootvg after the reboot): to fall back, set the "
            "bootlist to that disk and reboot. Check first: bootlist -m normal -o",
        )
    # failed or incomplete
    if boot is not None and targets and boot in targets:
        orig = "<original rootvg disk>"
        return RebootVerdict(
            "reset_bootlist",
            f"Do NOT reboot: the bootlist names {boot}, the disk of a {run.outcome.value} migration.",
            f"Set it back to the original rootvg first: bootlist -m normal {orig}; bootlist -m normal -o",
        )
    if run.outcome is Outcome.FAILED:
        where = f" in phase {run.failed_phase}" if run.failed_phase else ""
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
