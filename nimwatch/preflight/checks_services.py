"""Checks of the network services: NFS on the master (always) and on the client (NFS mode), and the tftp and
bootps subservers IBM's automation requires on the master.

nimadm starts inactive NFS server subsystems itself (its log then shows
``0513-059 The nfsd Subsystem has been started``), so they need to be defined,
not running; portmap must run for NFS to work at all. The client's SPOT is
NFS-mounted from the master in every mode; in NFS mode (no ``-j``) the client
also exports its ``/alt_inst`` file systems to the master.
"""

from __future__ import annotations

from nimwatch.aix.parse_system import NOT_ON_FILE, parse_inetd_services, parse_lssrc
from nimwatch.aix.runner import CommandResult
from nimwatch.preflight.base import Check, Verdict, could_not_run, failed, passed
from nimwatch.preflight.probe import LSSRC, Probe
from nimwatch.preflight.rules import NETBOOT_SERVICES, NFS_SUBSYSTEMS


def _nfs(result: CommandResult, where: str, note: str = "") -> Verdict:
    if not result.ran:
        return could_not_run(result, f"NFS on {where}")
    subsystems = parse_lssrc(result.stdout)
    missing = [name for name in NFS_SUBSYSTEMS if name not in subsystems]
    if missing or (result.rc != 0 and NOT_ON_FILE in result.stderr + result.stdout):
        return failed(
            f"NFS server subsystems missing on {where}: {', '.join(missing) or 'nfs group'}",
            f"install bos.net.nfs.server on {where} (`lslpp -l bos.net.nfs.server`)",
            result.why_not() if result.rc else "",
        )
    return passed(
        f"NFS server subsystems defined on {where}{note}",
        *(subsystems[name].line for name in NFS_SUBSYSTEMS),
    )


def master_nfs(probe: Probe) -> Verdict:
    verdict = _nfs(probe.local([LSSRC, "-g", "nfs"]), "the master", " (nimadm starts them when inactive)")
    if verdict.status.value != "pass":
        return verdict
    portmap = probe.local([LSSRC, "-s", "portmap"])
    if not portmap.ran:
        return could_not_run(portmap, "portmap on the master")
    row = parse_lssrc(portmap.stdout).get("portmap")
    if row is None or row.status != "active":
        return failed(
            "portmap is not active on the master: no NFS mount can work",
            "`startsrc -s portmap` on the master",
            row.line if row is not None else portmap.why_not(),
        )
    verdict.evidence.append(row.line)
    return verdict


def client_nfs(probe: Probe) -> Verdict:
    return _nfs(probe.remote([LSSRC, "-g", "nfs"]), "the client")


def master_netboot(probe: Probe) -> Verdict:
    result = probe.local([LSSRC, "-ls", "inetd"])
    if not result.ok:
        if result.ran:
            return failed("inetd is not running on the master", "`startsrc -s inetd` on the master", result.why_not())
        return could_not_run(result, "inetd on the master")
    services = parse_inetd_services(result.stdout)
    bad = [(name, services.get(name)) for name in NETBOOT_SERVICES if services.get(name, ("",))[0] != "active"]
    if bad:
        names = ", ".join(name for name, _ in bad)
        return failed(
            f"{names} not active in the master's inetd",
            "uncomment the service in /etc/inetd.conf and `refresh -s inetd` (or `startsrc -t <service>`). "
            "IBM's nim_alt_disk_migration automation requires tftp and bootps; nimadm run by hand does not "
            "network-boot the client: skip with --skip master-netboot if you do not need them",
            *(entry[1] if entry else f"{name}: not among inetd's subservers" for name, entry in bad),
        )
    return passed(
        f"{' and '.join(NETBOOT_SERVICES)} active in inetd", *(services[name][1] for name in NETBOOT_SERVICES)
    )


CHECKS = (
    Check("master-nfs", "NFS server on the master", master_nfs),
    Check("client-nfs", "NFS server on the client (NFS mode)", client_nfs, lambda request: request.cache_vg is None),
    Check("master-netboot", "tftp and bootps on the master", master_netboot),
)
