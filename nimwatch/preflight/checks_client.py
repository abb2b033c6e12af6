"""Checks on the client (through c_rsh) and on the cache VG: level and hardware allowed for the target, target
disks free and large enough, no leftover altinst_rootvg, room in the cache VG, no multibos standby BOS, no
stale alt_disk lock.
"""

from __future__ import annotations

import os
from typing import Optional

from nimwatch.aix.levels import release_name
from nimwatch.aix.parse_lvm import (
    NOT_VARIED_ON,
    LvRow,
    PvRow,
    parse_bootinfo_size,
    parse_lspv,
    parse_lsvg,
    parse_lsvg_l,
)
from nimwatch.aix.parse_system import parse_oslevel, parse_power_generation, parse_ps
from nimwatch.aix.runner import CommandResult
from nimwatch.preflight.base import Check, Verdict, could_not_run, failed, passed, unknown
from nimwatch.preflight.probe import BOOTINFO, LS, LSPV, LSVG, OSLEVEL, PRTCONF, PS, Probe
from nimwatch.preflight.rules import (
    ALT_DISK_COMMANDS,
    ALT_LOCK,
    LEFTOVER_VGS,
    MIGRATION_HEADROOM_MB,
    MIN_POWER,
    MIN_SOURCE,
)

FS_TYPES = ("jfs", "jfs2")


def client_level(probe: Probe) -> Verdict:
    target, target_line = probe.target_level()
    result = probe.remote([OSLEVEL, "-s"])
    if not result.ok:
        return could_not_run(result, "the client's level")
    level = parse_oslevel(result.stdout)
    if level is None:
        return unknown(
            "the client's oslevel -s printed no level", "run `oslevel -s` on the client", result.stdout.strip()[:200]
        )
    seen = f"oslevel -s: {level}"
    if target is None:
        return unknown(f"the client is {level}; the target level is unknown (see spot-lpp-level)", "", seen)
    if level.vr == target.vr:
        return failed(
            f"the client is already at {release_name(level.vr)}: nimadm migrates to a new release",
            "for a TL/SP update use `nimadm -U` (AIX 7.3 TL3 and later) or a normal update (`nim -o cust`)",
            seen,
            target_line,
        )
    if level.vr > target.vr:
        return failed(
            f"the client ({level}) is newer than the target {release_name(target.vrm)}",
            "choose an lpp_source and SPOT of a newer release",
            seen,
            target_line,
        )
    floor = MIN_SOURCE.get(target.vr)
    if floor is not None and level.vr < floor[0]:
        return failed(
            f"the client ({level}) is older than {release_name(floor[0])}, the oldest release migrated to "
            f"{release_name(target.vr)} ({floor[1]})",
            f"migrate the client to {release_name(floor[0])} first",
            seen,
            target_line,
        )
    return passed(f"the client ({level}) can migrate to {release_name(target.vrm)}", seen)


def client_hardware(probe: Probe) -> Verdict:
    target, target_line = probe.target_level()
    if target is None:
        return unknown("not checked: the target level is unknown (see spot-lpp-level)", "", target_line)
    rule = MIN_POWER.get(target.vr)
    result = probe.remote([PRTCONF])
    if not result.ok:
        return could_not_run(result, "the client's processor")
    generation, line = parse_power_generation(result.stdout)
    if generation is None:
        return unknown("prtconf shows no `Processor Type: PowerPC_POWERn` line", "run `prtconf` on the client")
    if rule is None:
        return unknown(
            f"POWER{generation}: no minimum processor known for {release_name(target.vr)}",
            "check the release's system requirements",
            line,
        )
    if generation < rule[0]:
        return failed(
            f"the client runs on POWER{generation}; {release_name(target.vr)} needs POWER{rule[0]} or later "
            f"({rule[1]})",
            f"move the LPAR to POWER{rule[0]} or later hardware, or migrate to an older release",
            line,
        )
    return passed(f"POWER{generation} supports {release_name(target.vr)} (needs POWER{rule[0]}+)", line)


# ---------------------------------------------------------------------- disks


def _lspv(probe: Probe) -> tuple[Optional[dict[str, PvRow]], CommandResult]:
    result = probe.remote([LSPV])
    return (parse_lspv(result.stdout) if result.ok else None), result


def target_disk_free(probe: Probe) -> Verdict:
    disks = probe.request.disks
    rows, result = _lspv(probe)
    if rows is None:
        return could_not_run(result, "the client's disks")
    problems: list[tuple[str, str, str]] = []
    evidence: list[str] = []
    for disk in disks:
        row = rows.get(disk)
        if row is None:
            problems.append((f"{disk} is not a disk of the client", "pick a disk that `lspv` lists on the client", ""))
            continue
        evidence.append(row.line)
        if row.vg is None:
            continue
        if row.vg in LEFTOVER_VGS:
            why = f"{disk} holds {row.vg} (left by an earlier alt_disk run)"
            fix = f"on the client, once that copy is no longer needed: `alt_rootvg_op -X {row.vg}`"
        else:
            why = f"{disk} belongs to volume group {row.vg}"
            fix = f"pick a disk that `lspv` shows with None, or empty it: `reducevg {row.vg} {disk}` (its data is lost)"
        problems.append((why, fix, row.line))
    if problems:
        return failed(
            "; ".join(p[0] for p in problems),
            "; ".join(dict.fromkeys(p[1] for p in problems)),
            *dict.fromkeys(evidence),
        )
    return passed(f"{' '.join(disks)} in no volume group", *evidence)


def leftover_alt_vg(probe: Probe) -> Verdict:
    rows, result = _lspv(probe)
    if rows is None:
        return could_not_run(result, "the client's volume groups")
    others = [r for r in rows.values() if r.disk not in probe.request.disks]
    alt = [r for r in others if r.vg == "altinst_rootvg"]
    if alt:
        return failed(
            f"altinst_rootvg already exists on {', '.join(r.disk for r in alt)}: alt_disk_copy cannot create another",
            "on the client, once that copy is no longer needed: `alt_rootvg_op -X altinst_rootvg` "
            f"(or `nimadm -C -c {probe.request.client} -s {probe.request.spot}` after a failed nimadm)",
            *(r.line for r in alt),
        )
    old = [r for r in others if r.vg == "old_rootvg"]
    if old:
        return passed(
            f"no altinst_rootvg on the client's other disks "
            f"(old_rootvg on {', '.join(r.disk for r in old)} is not in the way)",
            *(r.line for r in old),
        )
    return passed("no altinst_rootvg or old_rootvg on the client's other disks")


def _rootvg(probe: Probe) -> tuple[int, list[LvRow]] | Verdict:
    """(PP size in MB, rootvg's logical volumes) of the client, or the verdict when they cannot be read."""
    vg = probe.remote([LSVG, "rootvg"])
    if not vg.ok:
        return could_not_run(vg, "the client's rootvg")
    info = parse_lsvg(vg.stdout)
    if info is None:
        return unknown(
            "the client's lsvg rootvg output was not understood",
            "run `lsvg rootvg` and `lsvg -l rootvg` on the client",
            vg.stdout.strip()[:200],
        )
    lvs = probe.remote([LSVG, "-l", "rootvg"])
    if not lvs.ok:
        return could_not_run(lvs, "the client's rootvg")
    return info.pp_size_mb, parse_lsvg_l(lvs.stdout)


def target_disk_size(probe: Probe) -> Verdict:
    rootvg = _rootvg(probe)
    if isinstance(rootvg, Verdict):
        return rootvg
    pp_mb, lvs = rootvg
    used_mb = sum(lv.lps for lv in lvs) * pp_mb
    total = 0
    evidence = [f"rootvg: {sum(lv.lps for lv in lvs)} LPs of {pp_mb} MB = {used_mb} MB (one copy)"]
    for disk in probe.request.disks:
        size = probe.remote([BOOTINFO, "-s", disk])
        if not size.ok:
            return could_not_run(size, f"the size of {disk}")
        mb = parse_bootinfo_size(size.stdout)
        if mb is None:
            return unknown(
                f"bootinfo -s {disk} printed no size",
                f"run `bootinfo -s {disk}` on the client",
                size.stdout.strip()[:200],
            )
        total += mb
        evidence.append(f"bootinfo -s {disk}: {mb}")
    disks = " ".join(probe.request.disks)
    if total < used_mb + MIGRATION_HEADROOM_MB:
        return failed(
            f"{disks}: {total} MB, rootvg needs {used_mb} MB plus {MIGRATION_HEADROOM_MB} MB for the migration",
            'pick a larger disk (or add one: -d "hdisk1 hdisk2"), or shrink rootvg\'s file systems first',
            *evidence,
        )
    return passed(f"{disks}: {total} MB for {used_mb} MB of rootvg plus {MIGRATION_HEADROOM_MB} MB", *evidence)


def cache_vg(probe: Probe) -> Verdict:
    vg = probe.request.cache_vg or ""
    result = probe.local([LSVG, vg])
    if not result.ok:
        text = result.stderr + result.stdout
        if result.ran and NOT_VARIED_ON in text:
            return failed(
                f"cache VG {vg} is not varied on",
                f"`varyonvg {vg}` on the master",
                next(line.strip() for line in text.splitlines() if NOT_VARIED_ON in line),
            )
        if result.ran:
            return failed(
                f"cache VG {vg} cannot be read on the master", f"check the name with `lsvg` (-j {vg})", result.why_not()
            )
        return could_not_run(result, f"cache VG {vg}")
    info = parse_lsvg(result.stdout)
    if info is None:
        return unknown(
            f"lsvg {vg} output not understood", f"run `lsvg {vg}` on the master", result.stdout.strip()[:200]
        )
    rootvg = _rootvg(probe)
    if isinstance(rootvg, Verdict):
        return rootvg
    pp_mb, lvs = rootvg
    fs_mb = sum(lv.lps for lv in lvs if lv.type in FS_TYPES) * pp_mb
    evidence = [info.evidence("FREE PPs"), f"client rootvg file systems: {fs_mb} MB (one copy)"]
    if info.free_mb < fs_mb + MIGRATION_HEADROOM_MB:
        return failed(
            f"cache VG {vg} has {info.free_mb} MB free; the client's file systems need {fs_mb} MB plus "
            f"{MIGRATION_HEADROOM_MB} MB to grow",
            f"add a disk to it (`extendvg {vg} hdiskN`) or use a VG with more free PPs (-j)",
            *evidence,
        )
    return passed(f"cache VG {vg}: {info.free_mb} MB free for {fs_mb} MB of file systems", *evidence)


def no_multibos(probe: Probe) -> Verdict:
    result = probe.remote([LSVG, "-l", "rootvg"])
    if not result.ok:
        return could_not_run(result, "the client's rootvg logical volumes")
    lvs = parse_lsvg_l(result.stdout)
    if not lvs:
        return unknown(
            "lsvg -l rootvg listed no logical volume", "run `lsvg -l rootvg` on the client", result.stdout.strip()[:200]
        )
    standby = [lv for lv in lvs if lv.name == "bos_hd5"]
    if standby:
        return failed(
            "the client has a multibos standby BOS (bos_hd5): nimadm does not support it",
            "on the client, once the standby BOS is not needed: `multibos -R` (removes bos_hd5 and the other "
            "bos_ logical volumes)",
            standby[0].line,
        )
    return passed(f"no bos_hd5 among rootvg's {len(lvs)} logical volumes")


def no_alt_lock(probe: Probe) -> Verdict:
    lock = probe.remote([LS, "-ld", ALT_LOCK])
    procs = probe.remote([PS, "-e", "-o", "pid,args"])
    if not procs.ok:
        return could_not_run(procs, "the client's processes")
    running = [
        p
        for p in parse_ps(procs.stdout)
        if any(os.path.basename(word) in ALT_DISK_COMMANDS for word in p.args.split()[:3])
    ]
    if running:
        return failed(
            f"an alt_disk operation is running on the client (PID {running[0].pid})",
            "wait for it to end (or find who started it) before starting nimadm",
            *(f"{p.pid} {p.args}" for p in running[:3]),
        )
    if not lock.ran:
        return could_not_run(lock, ALT_LOCK)
    if lock.rc == 0:
        return failed(
            f"stale {ALT_LOCK} on the client (no alt_disk command is running)",
            f"check that no /alt_inst file system is mounted on the client, then clean up with "
            f"`nimadm -C -c {probe.request.client} -s {probe.request.spot}` or remove {ALT_LOCK}",
            lock.stdout.strip().splitlines()[0] if lock.stdout.strip() else ALT_LOCK,
        )
    text = lock.stderr + lock.stdout
    if "does not exist" in text or "No such file" in text:
        return passed(f"no {ALT_LOCK} and no alt_disk command running on the client")
    return could_not_run(lock, ALT_LOCK)


CHECKS = (
    Check("client-level", "client level allowed for the target", client_level),
    Check("client-hardware", "client hardware allowed for the target", client_hardware),
    Check("target-disk-free", "target disks in no volume group", target_disk_free),
    Check("leftover-alt-vg", "no leftover altinst_rootvg on the client", leftover_alt_vg),
    Check("target-disk-size", "target disks large enough for rootvg", target_disk_size),
    Check("cache-vg", "room in the cache VG (-j)", cache_vg, lambda request: request.cache_vg is not None),
    Check("no-multibos", "no multibos standby BOS (bos_hd5)", no_multibos),
    Check("no-alt-lock", f"no stale {ALT_LOCK} on the client", no_alt_lock),
)
