"""The facts the pre-flight checks judge by, each with its source ([V] seen in a source, [M] unverified).

Sources are those of ``nim_commands.md`` and ``nimadm_facts.md``.
"""

from __future__ import annotations

MIGRATION_HEADROOM_MB = 500
"""[V: IBM "Preparing for an alternate disk migration"] the target disk must hold rootvg plus about 500 MB
for the migration; the cache VG (``-j``) is given the same room above the client's file systems [M]."""

MIN_POWER: dict[tuple[int, int], tuple[int, str]] = {
    (7, 3): (8, "IBM's nim_alt_disk_migration role (validate_min_power_level.yml) [V]"),
    (7, 2): (7, "AIX 7.2 system requirements [M]"),
}
"""Target release -> (lowest POWER generation, source)."""

MIN_SOURCE: dict[tuple[int, int], tuple[tuple[int, int], str]] = {
    (7, 3): ((7, 1), "IBM's nim_alt_disk_migration role refuses clients below 7100 [V]"),
    (7, 2): ((6, 1), "AIX 7.2 migration paths [M]"),
    (7, 1): ((5, 3), "AIX 7.1 migration paths [M]"),
}
"""Target release -> (oldest client release nimadm migrates from, source)."""

LEFTOVER_VGS = ("altinst_rootvg", "old_rootvg")
"""Volume groups an earlier alt_disk run leaves: ``alt_rootvg_op -X <vg>`` removes them [V: ansible-power-aix #267]."""

ALT_DISK_COMMANDS = ("alt_disk_copy", "alt_disk_install", "alt_rootvg_op", "alt_disk_mksysb")
"""Commands that hold the client's alt_disk lock while they run."""

ALT_LOCK = "/tmp/alt_lock"
"""The client's alt_disk lock file [M: nimadm_facts.md section 3]."""

NFS_SUBSYSTEMS = ("nfsd", "rpc.mountd")
"""NFS server subsystems nimadm starts itself when they are inactive (its log shows 0513-059) [V: S11]."""

NETBOOT_SERVICES = ("tftp", "bootps")
"""inetd subservers IBM's nim_alt_disk_migration role requires on the master [V: validate_nim_connection.yml]."""
