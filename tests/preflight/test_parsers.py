"""The AIX output parsers on the documented formats (nim_commands.md section 3), including their pitfalls."""

from __future__ import annotations

import pytest

from nimwatch.aix.levels import FilesetLevel, OsLevel, release_name
from nimwatch.aix.parse_lvm import (
    parse_bootinfo_size,
    parse_labels,
    parse_lspv,
    parse_lsvg,
    parse_lsvg_l,
)
from nimwatch.aix.parse_nim import nim_error, parse_lsnim_l, parse_lsnim_z, parse_niminfo
from nimwatch.aix.parse_system import (
    find_fileset,
    parse_inetd_services,
    parse_installp_L,
    parse_lslpp_Lc,
    parse_lslpp_lc,
    parse_lssrc,
    parse_oslevel,
    parse_power_generation,
    parse_ps,
)
from nimwatch.aix.text import ascii_only, clean, clean_line, decode

LSNIM = """curso01:
   class          = machines
   type           = standalone
   connect        = shell
   if1            = network_admin curso01 0
   Cstate         = ready for a NIM operation
   info           = a = b
   if1            = second value
spot1:
   class = resources
   type  = spot
"""


def test_lsnim_l_objects_attributes_and_host() -> None:
    objects = parse_lsnim_l(LSNIM.replace("\n", "\r\n"))
    assert set(objects) == {"curso01", "spot1"}
    client = objects["curso01"]
    assert client.get("type") == "standalone"
    assert client.get("Cstate") == "ready for a NIM operation"
    assert client.get("info") == "a = b"  # split on the first '=' only
    assert client.host == "curso01"
    assert client.multi["if1"] == ["network_admin curso01 0", "second value"]
    assert client.lines["type"] == "type = standalone"
    assert objects["spot1"].get("type") == "spot"
    assert nim_error('0042-053 lsnim: there is no NIM object named "x"') == "0042-053"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ("lpar1:ready for a NIM operation::success:", ("ready for a NIM operation", "", "success")),
        ("lpar1:ready for a NIM operation:::", ("ready for a NIM operation", "", "")),
        (
            "lpar1:alt_disk_install operation is being performed:0042-001 m_x: error: details:failure:",
            ("alt_disk_install operation is being performed", "0042-001 m_x: error: details", "failure"),
        ),
        (
            "lpar1:BOS installation has been enabled:prompting_for_data_at_console:success:",
            ("BOS installation has been enabled", "prompting_for_data_at_console", "success"),
        ),
    ],
)
def test_lsnim_z_splits_info_from_both_ends(record: str, expected: tuple[str, str, str]) -> None:
    states = parse_lsnim_z(f"#name:Cstate:info:Cstate_result:\r\n{record}\r\n")
    state = states["lpar1"]
    assert (state.cstate, state.info, state.result) == expected


def test_niminfo_exports_quotes_and_comments() -> None:
    values = parse_niminfo(
        '#comment\nexport NIM_NAME=lpar1\nexport NIM_SHELL="nimsh"\nNIM_MASTER_PORT=1058\n'
        "export NIM_HOSTS=' a:b '\nnot a line\n"
    )
    assert values == {"NIM_NAME": "lpar1", "NIM_SHELL": "nimsh", "NIM_MASTER_PORT": "1058", "NIM_HOSTS": " a:b "}


def test_lspv_none_varied_off_and_vios_header() -> None:
    rows = parse_lspv(
        "NAME            PVID                                VG              STATUS\n"
        "hdisk0          00c6ce9d4f2c404a                    rootvg          active\n"
        "hdisk1 00c6ce9d4f2c404b None\n"
        "hdisk2          00c6ce9d4f2c404c                    altinst_rootvg  \n"
        "hdisk3          none                                None\n"
    )
    assert set(rows) == {"hdisk0", "hdisk1", "hdisk2", "hdisk3"}
    assert rows["hdisk1"].vg is None
    assert rows["hdisk2"].vg == "altinst_rootvg" and rows["hdisk2"].state == ""
    assert rows["hdisk0"].state == "active"


LSVG = """VOLUME GROUP:       rootvg                   VG IDENTIFIER:  000dda6e0000d600000001119e467657\r
VG STATE:           active                   PP SIZE:        32 megabyte(s)\r
VG PERMISSION:      read/write               TOTAL PPs:      798 (25536 megabytes)\r
MAX LVs:            256                      FREE PPs:       201 (6432 megabytes)\r
LVs:                19                       USED PPs:       597 (19104 megabytes)\r
TOTAL PVs:          2                        VG DESCRIPTORS: 3\r
MAX PPs per VG:     32512\r
LTG size (Dynamic): 256 kilobyte(s)          AUTO SYNC:      no\r
DISK BLOCK SIZE:    512                      CRITICAL VG:    no\r
ENCRYPTION:         no                       NEW LABEL X:    7\r
"""


def test_lsvg_two_label_columns_with_collapsed_spaces_and_cr() -> None:
    for text in (LSVG, " ".join(LSVG.split(" "))):
        info = parse_lsvg(text)
        assert info is not None
        assert (info.pp_size_mb, info.total_pps, info.free_pps, info.used_pps) == (32, 798, 201, 597)
        assert (info.free_mb, info.used_mb, info.total_pvs, info.name, info.state) == (
            6432,
            19104,
            2,
            "rootvg",
            "active",
        )
    labels = parse_labels(" ".join(LSVG.split()))  # everything on one line: labels still separate the values
    assert labels["MAX PPs per VG"] == "32512"
    assert labels["LTG size (Dynamic)"] == "256 kilobyte(s)"
    assert labels["ENCRYPTION"] == "no"
    assert labels["NEW LABEL X"] == "7"  # an unknown upper-case label of a newer release
    assert parse_lsvg("0516-010 : Volume group must be varied on; use varyonvg command.\n") is None


def test_lspv_disk_without_the_colon_after_vg_identifier() -> None:
    labels = parse_labels(
        "PHYSICAL VOLUME:    hdisk0                   VOLUME GROUP:     rootvg\n"
        "PV IDENTIFIER:      00c6ce9d4f2c404a VG IDENTIFIER     00c6ce9d00004c000000014302ee7629\n"
        "PP SIZE:            64 megabyte(s)           LOGICAL VOLUMES:  17\n"
        "FREE PPs:           169 (10816 megabytes)    HOT SPARE:        no\n"
    )
    assert labels["PV IDENTIFIER"] == "00c6ce9d4f2c404a"
    assert labels["VG IDENTIFIER"] == "00c6ce9d00004c000000014302ee7629"
    assert labels["VOLUME GROUP"] == "rootvg" and labels["FREE PPs"] == "169 (10816 megabytes)"


def test_lsvg_l() -> None:
    lvs = parse_lsvg_l(
        "rootvg:\nLV NAME             TYPE       LPs     PPs     PVs  LV STATE      MOUNT POINT\n"
        "hd5                 boot       1       2       2    closed/syncd  N/A\n"
        "hd4 jfs2 8 16 2 open/syncd /\n"
    )
    assert [(lv.name, lv.type, lv.lps, lv.pps, lv.mount) for lv in lvs] == [
        ("hd5", "boot", 1, 2, "N/A"),
        ("hd4", "jfs2", 8, 16, "/"),
    ]


def test_bootinfo_size() -> None:
    assert parse_bootinfo_size("51200\r\n") == 51200
    assert parse_bootinfo_size("0516-xxx error\n") is None


def test_lslpp_formats() -> None:
    lc = parse_lslpp_lc(
        "#Fileset:Level:PTF Id:State:Type:Description:EFIX Locked\n"
        "/usr/lib/objrepos:bos.alt_disk_install.rte:5.3.10.0::COMMITTED:I:Alternate Disk Installation Runtime :\n"
        "/etc/objrepos:bos.rte:4.3.1.0::COMMITTED:I:Base Operating System Runtime\n"
    )
    assert [(f.name, str(f.level), f.state, f.where) for f in lc] == [
        ("bos.alt_disk_install.rte", "5.3.10.0", "COMMITTED", "/usr/lib/objrepos"),
        ("bos.rte", "4.3.1.0", "COMMITTED", "/etc/objrepos"),
    ]
    big = parse_lslpp_Lc(
        "ICU4C.rte:ICU4C.rte:6.1.8.15: : :C: :International Components for Unicode : : : : : : :1:0:/:1316\n"
    )
    assert (big[0].name, str(big[0].level), big[0].state, big[0].where) == ("ICU4C.rte", "6.1.8.15", "C", "ICU4C.rte")
    listed = parse_installp_L("heading line\nbos:bos.rte:7.3.2.0::I:T:::::N:Base ::::0:2345:\nrpm:x:1.0-1:::R\n")
    assert [(f.name, str(f.level)) for f in listed] == [("bos.rte", "7.3.2.0")]
    assert find_fileset(lc, "bos.rte")[0].line.startswith("/etc/objrepos")


def test_levels_and_their_order() -> None:
    assert OsLevel.parse("7200-05-03-2136") == OsLevel(7, 2, 5, 3, "2136")
    assert str(OsLevel.parse("7300-02")) == "7300-02"
    assert OsLevel.parse("7.3") is None
    assert parse_oslevel("\n7300-01-03-2346\r\n") == OsLevel(7, 3, 1, 3, "2346")
    assert FilesetLevel.parse("7.3.2.10") > FilesetLevel.parse("7.3.2.9")  # type: ignore[operator]
    assert FilesetLevel.parse("7.3.2") is None
    assert release_name((7, 3, 2)) == "7.3 TL2" and release_name((7, 2)) == "7.2"


def test_prtconf_processor() -> None:
    assert parse_power_generation("System Model: IBM,9009-42A\nProcessor Type: PowerPC_POWER10\n")[0] == 10
    assert parse_power_generation("nothing\n") == (None, "")


def test_lssrc_rows_from_both_ends() -> None:
    rows = parse_lssrc(
        "Subsystem         Group            PID          Status\n"
        " nimsh            tcpip            4325592      active\n"
        " nfsrgyd          nfs                           inoperative\n"
        " portmap                           3211         active\n"
        " sshd                                           inoperative\n"
        "0513-085 The nimsh Subsystem is not on file.\n"
    )
    assert (rows["nimsh"].group, rows["nimsh"].pid, rows["nimsh"].status) == ("tcpip", 4325592, "active")
    assert (rows["nfsrgyd"].group, rows["nfsrgyd"].pid, rows["nfsrgyd"].status) == ("nfs", None, "inoperative")
    assert (rows["portmap"].group, rows["portmap"].pid) == ("", 3211)
    assert rows["sshd"].status == "inoperative"
    assert "0513-085" not in rows


def test_inetd_subservers_matched_by_name() -> None:
    services = parse_inetd_services(
        "Debug         Not active\n"
        "Service       Command                                 Description              Status\n"
        " tftp         /usr/sbin/tftpd                        tftpd -n                 inactive\n"
        " bootps       /usr/sbin/bootpd                       bootpd /etc/bootptab     active\n"
    )
    assert services["tftp"][0] == "inactive" and services["bootps"][0] == "active"


def test_ps() -> None:
    procs = parse_ps("     PID COMMAND\n       1 /etc/init\n 8126558 /usr/bin/ksh /usr/sbin/alt_disk_copy -d hdisk2\n")
    assert [(p.pid, p.args) for p in procs] == [
        (1, "/etc/init"),
        (8126558, "/usr/bin/ksh /usr/sbin/alt_disk_copy -d hdisk2"),
    ]


def test_text_safety() -> None:
    raw = decode(b"ok\x1b[31mred\x07 caf\xe9 \xc3\xa9\tend")
    cleaned = clean(raw)
    assert "\x1b" not in cleaned and "\x07" not in cleaned
    assert "\\x1b[31mred\\x07" in cleaned and "caf\\xe9" in cleaned and "\u00e9" in cleaned and "\t" in cleaned
    assert clean_line("a\tb\nc") == "a\\tb\\nc"
    assert ascii_only(cleaned).isascii()
