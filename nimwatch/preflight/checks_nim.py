"""Checks on the NIM side: the client and resources defined, the client reachable and pointing at this master,
``bos.alt_disk_install.rte`` on master, SPOT and lpp_source, and the levels of SPOT, lpp_source and master.

Facts: IBM "Preparing for an alternate disk migration" (same alt_disk level on
master and SPOT; SPOT and lpp_source at the target level; master at or above
it; all resources local to the master) and the checks of IBM's
``nim_alt_disk_migration`` role (``nim_commands.md`` section 1).
"""

from __future__ import annotations

from functools import partial

from nimwatch.aix.levels import release_name
from nimwatch.aix.parse_nim import NIM_NO_OBJECT, READY, RESOURCE_READY, nim_error, parse_niminfo
from nimwatch.aix.parse_system import find_fileset, parse_hostname, parse_oslevel
from nimwatch.aix.runner import C_RSH
from nimwatch.preflight.base import Check, Verdict, could_not_run, failed, passed, unknown
from nimwatch.preflight.probe import ALT_DISK_RTE, CAT, HOSTNAME, OSLEVEL, Probe

# ---------------------------------------------------------------------- definitions


def client_defined(probe: Probe) -> Verdict:
    name = probe.request.client
    obj, result = probe.nim_object(name)
    if obj is None:
        if nim_error(result.stderr + result.stdout) == NIM_NO_OBJECT:
            return failed(
                f"{name} is not a NIM object",
                f"check the name with `lsnim -t standalone`, or define the client: "
                f'`nim -o define -t standalone -a if1="<network> <host> 0" {name}`',
                *(line for line in (result.stderr + result.stdout).splitlines() if NIM_NO_OBJECT in line),
            )
        if result.ok:
            return unknown(f"lsnim printed no object {name}", f"run `lsnim -l {name}` by hand", result.display)
        return could_not_run(result, f"whether {name} is defined")
    kind = obj.get("type")
    if kind != "standalone":
        return failed(
            f"{name} is a NIM {kind or 'object without a type'}, not a standalone client",
            "nimadm migrates standalone NIM clients only: give the client's machine object name (-c)",
            obj.lines.get("type", ""),
        )
    return passed(
        f"{name} is a standalone NIM client (connect = {obj.get('connect') or 'shell'})",
        obj.lines.get("type", ""),
        obj.lines.get("if1", ""),
    )


def client_state(probe: Probe) -> Verdict:
    name = probe.request.client
    obj, result = probe.nim_object(name)
    if obj is None:
        return unknown("not checked: the client is not readable in NIM (see client-defined)", "", result.why_not())
    cstate = obj.get("Cstate")
    if cstate == READY:
        return passed(f"Cstate = {READY}", obj.lines.get("Cstate", ""))
    if not cstate:
        return unknown(f"lsnim -l {name} shows no Cstate", f"run `lsnim -l {name}` by hand")
    return failed(
        f"{name} is busy in NIM: Cstate = {cstate}",
        f"wait for that NIM operation to end; if none is running, reset the client: `nim -Fo reset {name}` and "
        f"`nim -o deallocate -a subclass=all {name}`",
        obj.lines.get("Cstate", ""),
        obj.lines.get("info", ""),
    )


def _resource(probe: Probe, kind: str, flag: str) -> Verdict:
    """The request's ``kind`` (``spot`` or ``lpp_source``, the name of its field) defined and ready on the master."""
    name = getattr(probe.request, kind)
    obj, result = probe.nim_object(name)
    if obj is None:
        if nim_error(result.stderr + result.stdout) == NIM_NO_OBJECT:
            return failed(
                f"{kind} {name} is not a NIM object",
                f"check the name with `lsnim -t {kind}` and pass it with {flag}",
                *(line for line in (result.stderr + result.stdout).splitlines() if NIM_NO_OBJECT in line),
            )
        return could_not_run(result, f"the {kind} {name}")
    found = obj.get("type")
    if found != kind:
        return failed(
            f"{name} is a NIM {found or 'object'}, not a {kind}",
            f"give a {kind} with {flag} (`lsnim -t {kind}`)",
            obj.lines.get("type", ""),
        )
    server = obj.get("server")
    if server and server != "master":
        return failed(
            f"{kind} {name} is served by {server}, not by the master",
            f"nimadm needs every resource local to the master: copy the {kind} to the master and define it there",
            obj.lines.get("server", ""),
        )
    rstate = obj.get("Rstate")
    if rstate and rstate != RESOURCE_READY:
        return failed(
            f"{kind} {name}: Rstate = {rstate}",
            f"`nim -o check {name}` (and `nim -Fo reset {name}` if an operation left it allocated)",
            obj.lines.get("Rstate", ""),
        )
    return passed(
        f"{kind} {name} on the master, {RESOURCE_READY}",
        obj.lines.get("type", ""),
        obj.lines.get("Rstate", ""),
        obj.lines.get("location", ""),
    )


# ---------------------------------------------------------------------- remote shell


def client_reachable(probe: Probe) -> Verdict:
    name = probe.request.client
    obj = probe.nim_object(name)[0]
    if obj is None:
        return unknown("not checked: the client is not readable in NIM (see client-defined)", "")
    host = probe.host
    if not host:
        return failed(
            f"{name} has no host in its if1 attribute",
            f'`lsnim -l {name}`: set if1 to "<network> <host> 0" with `nim -o change -a if1=... {name}`',
            obj.lines.get("if1", ""),
        )
    result = probe.reachability()
    connect = obj.get("connect") or "shell"
    if result.ok:
        answer = parse_hostname(result.stdout)
        return passed(f"{host} answers through c_rsh ({connect}): hostname {answer}", f"{result.display}: {answer}")
    if connect == "nimsh":
        fix = (
            f"on {host}: `lssrc -s nimsh` must be active (`startsrc -s nimsh`); nimsh needs port 3901 open "
            f"from the master; nimadm uses nimsh from AIX 6.1 TL8 / 7.1 TL2. Test with `{C_RSH} {host} "
            "/usr/bin/hostname`"
        )
    else:
        fix = (
            f"on {host}: the shell subserver of inetd must be active (`lssrc -ls inetd`), the master must be "
            f"allowed in /.rhosts, and names must resolve both ways. Test with `{C_RSH} {host} /usr/bin/hostname`"
        )
    return failed(f"{host} does not answer through c_rsh ({connect})", fix, result.why_not())


def client_master(probe: Probe) -> Verdict:
    niminfo = probe.remote([CAT, "/etc/niminfo"])
    if not niminfo.ok:
        return could_not_run(niminfo, "the client's /etc/niminfo")
    me = probe.local([HOSTNAME])
    if not me.ok:
        return could_not_run(me, "the master's host name")
    master = parse_hostname(me.stdout)
    values = parse_niminfo(niminfo.stdout)
    theirs = values.get("NIM_MASTER_HOSTNAME", "")
    line = f"NIM_MASTER_HOSTNAME={theirs}"
    if not theirs:
        return failed(
            "the client's /etc/niminfo names no NIM_MASTER_HOSTNAME",
            f"re-initialise the client: `niminit -a name={probe.request.client} -a master={master}`",
        )
    if theirs.split(".")[0].lower() != master.split(".")[0].lower():
        return failed(
            f"the client belongs to master {theirs}, this master is {master}",
            f"re-register the client with this master (on the client: `niminit -a name={probe.request.client} "
            f"-a master={master}`) or run nimadm on {theirs}",
            line,
            f"hostname: {master}",
        )
    return passed(f"the client's NIM master is {theirs}", line, f"hostname: {master}")


# ---------------------------------------------------------------------- bos.alt_disk_install.rte


def alt_disk_master(probe: Probe) -> Verdict:
    filesets, result = probe.master_filesets(ALT_DISK_RTE)
    if not result.ran:
        return could_not_run(result, f"{ALT_DISK_RTE} on the master")
    if not filesets:
        if result.rc != 0 and "not installed" not in (result.stderr + result.stdout):
            return could_not_run(result, f"{ALT_DISK_RTE} on the master")
        return failed(
            f"{ALT_DISK_RTE} is not installed on the master",
            f"install {ALT_DISK_RTE} (and bos.alt_disk_install.boot_images) at the master's own level, "
            "e.g. `installp -acgXd <master's installation images> bos.alt_disk_install`",
            result.why_not() if result.rc else "",
        )
    bad = [f for f in filesets if f.state not in ("COMMITTED", "APPLIED")]
    if bad:
        return failed(
            f"{ALT_DISK_RTE} on the master is {bad[0].state}",
            f"repair it: `lppchk -v`, then reinstall {ALT_DISK_RTE}",
            bad[0].line,
        )
    return passed(f"{ALT_DISK_RTE} {filesets[0].raw_level} on the master", filesets[0].line)


def alt_disk_spot(probe: Probe) -> Verdict:
    spot, lpp = probe.request.spot, probe.request.lpp_source
    filesets, result = probe.spot_filesets()
    if not result.ok:
        return could_not_run(result, f"{ALT_DISK_RTE} in SPOT {spot}")
    found = [f for f in find_fileset(filesets, ALT_DISK_RTE) if f.level is not None]
    sync = f"`nimadm -M -s {spot} -l {lpp}` (add `-d <dir>` holding the master's level of bos.alt_disk_install)"
    if not found:
        return failed(
            f"{ALT_DISK_RTE} is not in SPOT {spot}",
            f"{sync}, or `nim -o cust -a lpp_source={lpp} -a filesets={ALT_DISK_RTE} {spot}`",
        )
    in_spot = found[0]
    master, _ = probe.master_filesets(ALT_DISK_RTE)
    if not master or master[0].level is None:
        return unknown(
            f"{ALT_DISK_RTE} {in_spot.raw_level} in SPOT {spot}; the master's level is unknown (see alt-disk-master)",
            "",
            in_spot.line,
        )
    if in_spot.level != master[0].level:
        return failed(
            f"{ALT_DISK_RTE} is {in_spot.raw_level} in SPOT {spot} but {master[0].raw_level} on the master "
            "(they must be the same level)",
            sync,
            in_spot.line,
            master[0].line,
        )
    return passed(f"{ALT_DISK_RTE} {in_spot.raw_level} in SPOT {spot}, the master's level", in_spot.line)


def alt_disk_lpp_source(probe: Probe) -> Verdict:
    spot, lpp = probe.request.spot, probe.request.lpp_source
    filesets, result = probe.lpp_filesets()
    if not result.ok:
        return could_not_run(result, f"{ALT_DISK_RTE} in lpp_source {lpp}")
    found = [f for f in find_fileset(filesets, ALT_DISK_RTE) if f.level is not None]
    if not found:
        return failed(
            f"{ALT_DISK_RTE} is not in lpp_source {lpp}",
            f"`nimadm -M -s {spot} -l {lpp} -d <dir with the master's bos.alt_disk_install>`, or add the filesets "
            f"with `nim -o update -a packages=all -a source=<dir> {lpp}`",
        )
    level = max(f.level for f in found if f.level is not None)
    line = next(f.line for f in found if f.level == level)
    master, _ = probe.master_filesets(ALT_DISK_RTE)
    if master and master[0].level is not None and level.vr > master[0].level.vr:
        return failed(
            f"{ALT_DISK_RTE} {level} in lpp_source {lpp} is a newer release than the master's {master[0].raw_level}",
            f"update the master to {release_name(level.vr)} or later first (the master must be at or above "
            "the target level)",
            line,
            master[0].line,
        )
    in_spot, _ = probe.spot_filesets()
    spot_found = [f for f in find_fileset(in_spot, ALT_DISK_RTE) if f.level is not None]
    if spot_found and spot_found[0].level is not None and spot_found[0].level.vr < level.vr:
        return failed(
            f"{ALT_DISK_RTE} {level} in lpp_source {lpp} is a newer release than the SPOT's {spot_found[0].raw_level}",
            f"`nimadm -M -s {spot} -l {lpp}`, or build the SPOT from this lpp_source",
            line,
            spot_found[0].line,
        )
    return passed(f"{ALT_DISK_RTE} {level} in lpp_source {lpp}", line)


# ---------------------------------------------------------------------- levels


def spot_lpp_level(probe: Probe) -> Verdict:
    spot, lpp = probe.request.spot, probe.request.lpp_source
    target, target_line = probe.target_level()
    if target is None:
        return unknown(
            f"the level of lpp_source {lpp} is unknown", f"`nim -o showres {lpp} | grep bos.rte`", target_line
        )
    filesets, result = probe.spot_filesets()
    if not result.ok:
        return could_not_run(result, f"the level of SPOT {spot}")
    found = [f for f in find_fileset(filesets, "bos.rte") if f.level is not None]
    if not found:
        return unknown(
            f"no bos.rte line in SPOT {spot}", f"`nim -o showres -a lslpp_flags=Lc {spot} | grep bos.rte`", target_line
        )
    in_spot = found[0]
    assert in_spot.level is not None
    if in_spot.level.vrm != target.vrm:
        return failed(
            f"SPOT {spot} is {release_name(in_spot.level.vrm)} but lpp_source {lpp} is {release_name(target.vrm)}",
            f"use the SPOT built from this lpp_source, or build one: `nim -o define -t spot -a server=master "
            f"-a source={lpp} -a location=<dir> <spot name>`",
            in_spot.line,
            target_line,
        )
    return passed(f"SPOT and lpp_source are both {release_name(target.vrm)}", in_spot.line, target_line)


def master_level(probe: Probe) -> Verdict:
    target, target_line = probe.target_level()
    result = probe.local([OSLEVEL, "-s"])
    if not result.ok:
        return could_not_run(result, "the master's level")
    level = parse_oslevel(result.stdout)
    if level is None:
        return unknown("oslevel -s printed no level", "run `oslevel -s` on the master", result.stdout.strip()[:200])
    if target is None:
        return unknown(
            f"the master is {level}; the target level is unknown (see spot-lpp-level)", "", f"oslevel -s: {level}"
        )
    if level.vrtl < target.vrm:
        return failed(
            f"the master is {level}, below the target {release_name(target.vrm)}",
            f"update the master to {release_name(target.vrm)} or later before migrating clients to it",
            f"oslevel -s: {level}",
            target_line,
        )
    return passed(f"the master ({level}) is at or above the target {release_name(target.vrm)}", f"oslevel -s: {level}")


CHECKS = (
    Check("client-defined", "client defined in NIM", client_defined),
    Check("client-state", "client free for a NIM operation", client_state),
    Check("spot-defined", "SPOT defined on the master", partial(_resource, kind="spot", flag="-s")),
    Check("lpp-source-defined", "lpp_source defined on the master", partial(_resource, kind="lpp_source", flag="-l")),
    Check("client-reachable", "client reachable through the NIM remote shell", client_reachable),
    Check("client-master", "client registered with this master", client_master),
    Check("alt-disk-master", f"{ALT_DISK_RTE} on the master", alt_disk_master),
    Check("alt-disk-spot", f"{ALT_DISK_RTE} in the SPOT at the master's level", alt_disk_spot),
    Check("alt-disk-lpp-source", f"{ALT_DISK_RTE} in the lpp_source", alt_disk_lpp_source),
    Check("spot-lpp-level", "SPOT and lpp_source at the same level", spot_lpp_level),
    Check("master-level", "master at or above the target level", master_level),
)
