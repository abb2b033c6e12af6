"""contrib/smit: the ODM stanzas against SMIT's class definitions, their links, the commands SMIT would build,
and the install and removal scripts run against stand-in ``odmadd``/``odmdelete``/``odmget``.

Class definitions: field names and order from ``nim_commands.md`` section 5; types and sizes from AIX's
``smit_class.h`` (``long`` fields are numbers, ``char[n]`` strings hold at most n-1 characters, the others
are variable-length strings). Allowed one-letter values from IBM's "SMIT object classes" and "Field
characteristics operators" pages.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import pytest
from helpers import ROOT

from nimwatch.cli import build_parser
from nimwatch.launcher.nimadm_args import parse_nimadm_args

SMIT = ROOT / "contrib" / "smit"
STANZAS = SMIT / "nimwatch.add"
LINK = SMIT / "nimwatch_link.add"
PREFIX = "nimwatch"

NUMBER = "long"
TEXT = "char*"
# class -> [(field, type or fixed size)]; a fixed size n means char[n]
CLASSES: dict[str, list[tuple[str, Union[str, int]]]] = {
    "sm_menu_opt": [
        ("id_seq_num", 17),
        ("id", 65),
        ("next_id", 65),
        ("text", TEXT),
        ("text_msg_file", TEXT),
        ("text_msg_set", NUMBER),
        ("text_msg_id", NUMBER),
        ("next_type", 2),
        ("alias", 2),
        ("help_msg_id", 17),
        ("help_msg_loc", TEXT),
        ("help_msg_base", TEXT),
        ("help_msg_book", TEXT),
    ],
    "sm_name_hdr": [
        ("id", 65),
        ("next_id", TEXT),
        ("option_id", TEXT),
        ("has_name_select", 2),
        ("name", TEXT),
        ("name_msg_file", TEXT),
        ("name_msg_set", NUMBER),
        ("name_msg_id", NUMBER),
        ("type", 2),
        ("ghost", 2),
        ("cmd_to_classify", TEXT),
        ("cmd_to_classify_postfix", TEXT),
        ("raw_field_name", TEXT),
        ("cooked_field_name", TEXT),
        ("next_type", 2),
        ("help_msg_id", 17),
        ("help_msg_loc", TEXT),
        ("help_msg_base", TEXT),
        ("help_msg_book", TEXT),
    ],
    "sm_cmd_hdr": [
        ("id", 65),
        ("option_id", TEXT),
        ("has_name_select", 2),
        ("name", TEXT),
        ("name_msg_file", TEXT),
        ("name_msg_set", NUMBER),
        ("name_msg_id", NUMBER),
        ("cmd_to_exec", TEXT),
        ("ask", 2),
        ("exec_mode", 2),
        ("ghost", 2),
        ("cmd_to_discover", TEXT),
        ("cmd_to_discover_postfix", TEXT),
        ("name_size", NUMBER),
        ("value_size", NUMBER),
        ("help_msg_id", 17),
        ("help_msg_loc", TEXT),
        ("help_msg_base", TEXT),
        ("help_msg_book", TEXT),
    ],
    "sm_cmd_opt": [
        ("id_seq_num", 17),
        ("id", 65),
        ("disc_field_name", TEXT),
        ("name", TEXT),
        ("name_msg_file", TEXT),
        ("name_msg_set", NUMBER),
        ("name_msg_id", NUMBER),
        ("op_type", 2),
        ("entry_type", 2),
        ("entry_size", NUMBER),
        ("required", 2),
        ("prefix", TEXT),
        ("cmd_to_list_mode", 2),
        ("cmd_to_list", TEXT),
        ("cmd_to_list_postfix", TEXT),
        ("multi_select", 2),
        ("value_index", NUMBER),
        ("disp_values", TEXT),
        ("values_msg_file", TEXT),
        ("values_msg_set", NUMBER),
        ("values_msg_id", NUMBER),
        ("aix_values", TEXT),
        ("help_msg_id", 17),
        ("help_msg_loc", TEXT),
        ("help_msg_base", TEXT),
        ("help_msg_book", TEXT),
    ],
}
ALLOWED = {
    "next_type": {"m", "n", "d"},
    "alias": {"", "y", "n"},
    "has_name_select": {"", "y", "n"},
    "ask": {"", "y", "n"},
    "ghost": {"", "y", "n"},
    "exec_mode": {"", "P", "p", "i", "e"},
    "op_type": {"", "n", "l", "r"},
    "entry_type": {"", "n", "t", "#", "x", "f", "r"},
    "required": {"", "n", "y", "+", "?"},
    "cmd_to_list_mode": {"", "a", "1", "2", "r"},
    "multi_select": {"", "n", "y", ","},
    "type": {"", "c", "r", "j"},
}


@dataclass
class OdmObject:
    cls: str
    fields: list[tuple[str, Union[str, int]]]
    line: int

    def __getitem__(self, name: str) -> Union[str, int]:
        return dict(self.fields)[name]

    def text(self, name: str) -> str:
        value = self[name]
        assert isinstance(value, str), (self.cls, name, value)
        return value


def parse_stanzas(text: str) -> list[OdmObject]:
    """odmadd input: ``class:`` lines, indented ``field = value`` lines; ``#``/``*`` comment lines."""
    objects: list[OdmObject] = []
    current: Optional[OdmObject] = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or raw.startswith(("#", "*")):
            continue
        if "=" not in line:
            assert line.endswith(":") and not raw[0].isspace(), f"line {number}: not a class line: {raw!r}"
            current = OdmObject(line[:-1], [], number)
            objects.append(current)
            continue
        assert current is not None and raw[0].isspace(), f"line {number}: field outside an object"
        name, _, value = (part.strip() for part in line.partition("="))
        if value.startswith('"'):
            assert value.endswith('"') and len(value) >= 2 and '"' not in value[1:-1], f"line {number}: {raw!r}"
            current.fields.append((name, value[1:-1]))
        else:
            assert value.lstrip("-").isdigit(), f"line {number}: {name} is neither a quoted string nor a number"
            current.fields.append((name, int(value)))
    return objects


@pytest.fixture(scope="module")
def objects() -> list[OdmObject]:
    return parse_stanzas(STANZAS.read_text(encoding="ascii")) + parse_stanzas(LINK.read_text(encoding="ascii"))


def of(objects: list[OdmObject], cls: str) -> list[OdmObject]:
    return [o for o in objects if o.cls == cls]


def test_every_object_has_its_class_fields_in_odm_order_with_their_types(objects: list[OdmObject]) -> None:
    assert {o.cls for o in objects} <= set(CLASSES)
    assert len(of(objects, "sm_cmd_hdr")) == 4 and len(of(objects, "sm_cmd_opt")) >= 10
    for obj in objects:
        definition = CLASSES[obj.cls]
        assert [name for name, _ in obj.fields] == [name for name, _ in definition], (obj.cls, obj.line)
        for (name, value), (_, kind) in zip(obj.fields, definition):
            where = f"{obj.cls} at line {obj.line}: {name}"
            if kind == NUMBER:
                assert isinstance(value, int), f"{where} must be a number, not quoted"
            else:
                assert isinstance(value, str), f"{where} must be a quoted string"
                if isinstance(kind, int):
                    assert len(value) <= kind - 1, f"{where} is longer than char[{kind}] holds"
                if name in ALLOWED:
                    assert value in ALLOWED[name], f"{where} = {value!r}"
                assert value.isascii() and "\n" not in value


def test_ids_share_one_prefix(objects: list[OdmObject]) -> None:
    for obj in objects:
        if obj.cls == "sm_menu_opt" and obj.text("next_id") == PREFIX and obj.text("id") != PREFIX:
            continue  # the item in NIM's menu: its id is NIM's menu, its next_id ours
        assert obj.text("id").startswith(PREFIX), (obj.cls, obj.line)
        for key in ("option_id", "next_id"):
            if key in dict(obj.fields):
                assert obj.text(key).startswith(PREFIX), (obj.cls, obj.line, key)


def test_menus_and_dialogs_link_up(objects: list[OdmObject]) -> None:
    menus = {o.text("id") for o in of(objects, "sm_menu_opt") if o.text("alias") != "y"}
    dialogs = {o.text("id"): o for o in of(objects, "sm_cmd_hdr")}
    selectors = {o.text("id") for o in of(objects, "sm_name_hdr")}
    options = of(objects, "sm_cmd_opt")
    for item in of(objects, "sm_menu_opt"):
        target, kind = item.text("next_id"), item.text("next_type")
        known = {"m": menus, "d": set(dialogs), "n": selectors}[kind]
        assert target in known, f"menu item at line {item.line} leads to a missing {kind} {target!r}"
    assert [o for o in of(objects, "sm_menu_opt") if o.text("next_id") == PREFIX], "the nimwatch menu has no title"
    reached = {o.text("next_id") for o in of(objects, "sm_menu_opt")}
    assert set(dialogs) <= reached, "a dialog no menu leads to"
    option_ids = {o.text("option_id") for o in dialogs.values()}
    for dialog in dialogs.values():
        own = [o for o in options if o.text("id") == dialog.text("option_id")]
        assert own, f"dialog {dialog.text('id')} has no sm_cmd_opt with id {dialog.text('option_id')!r}"
        seqs = [o.text("id_seq_num") for o in own]
        assert len(seqs) == len(set(seqs)), f"dialog {dialog.text('id')}: id_seq_num twice"
    for option in options:
        assert option.text("id") in option_ids, f"sm_cmd_opt at line {option.line} belongs to no dialog"
        if option.text("op_type") == "l":
            assert option.text("cmd_to_list"), f"list field at line {option.line} without cmd_to_list"
        if option.text("op_type") == "r":
            shown, passed = option.text("disp_values").split(","), option.text("aix_values").split(",")
            assert len(shown) == len(passed) and 0 <= int(option["value_index"]) < len(shown)
    items = [o for o in of(objects, "sm_menu_opt") if o.text("id") == PREFIX]
    assert len({o.text("id_seq_num") for o in items}) == len(items)


def smit_command(dialog: OdmObject, options: list[OdmObject], entered: dict[str, str]) -> list[str]:
    """The command SMIT builds (IBM "SMIT command generation and execution"): first the fields whose prefix is
    empty or a flag, then those whose prefix is ``--`` (values only); a field goes in when required says so or
    its value was changed; values are single-quoted."""
    flagged: list[str] = []
    positional: list[str] = []
    for option in sorted(options, key=lambda o: o.text("id_seq_num")):
        name = option.text("name")
        if option.text("op_type") == "r":
            shown = option.text("disp_values").split(",")
            passed = option.text("aix_values").split(",")
            initial = passed[int(option["value_index"])]
            value = passed[shown.index(entered[name])] if name in entered else initial
        else:
            initial = option.text("disp_values")
            value = entered.get(name, initial)
        required = option.text("required")
        send = required in ("y", "+") or (required == "?" and value != "") or value != initial
        if required == "+":
            assert value.strip(), f"{name} must be given"
        if not send:
            continue
        prefix = option.text("prefix")
        if prefix == "--":
            positional.append(shlex.quote(value))
        else:
            assert prefix == "" or prefix.startswith("-")
            flagged.append(prefix + "'" + value + "'" if value else prefix)
    return shlex.split(" ".join([dialog.text("cmd_to_exec"), *flagged, *positional]))


def dialog_and_options(objects: list[OdmObject], name: str) -> tuple[OdmObject, list[OdmObject]]:
    dialog = next(o for o in of(objects, "sm_cmd_hdr") if o.text("id") == name)
    return dialog, [o for o in of(objects, "sm_cmd_opt") if o.text("id") == dialog.text("option_id")]


ENTERED = {
    "* Target NIM CLIENT": "lpar1",
    "* NIM LPP_SOURCE resource": "lpp_7302",
    "* NIM SPOT resource": "spot_7302",
    "* Target disk(s) on the client": "hdisk1 hdisk2",
    "Cache volume group on the master (-j)": "nimvg",
}


def test_status_and_report_dialogs_build_valid_nimwatch_commands(objects: list[OdmObject]) -> None:
    parser = build_parser()
    argv = smit_command(*dialog_and_options(objects, "nimwatch_status"), {})
    assert argv[0] == "/opt/freeware/bin/nimwatch"
    args = parser.parse_args(argv[1:])
    assert args.command == "status" and args.paths == ["/var/adm/ras/alt_mig"] and args.ascii
    argv = smit_command(
        *dialog_and_options(objects, "nimwatch_report"),
        {"Log file or directory": "/var/adm/ras/alt_mig/lpar1_alt_mig.log", "Output format": "json"},
    )
    args = parser.parse_args(argv[1:])
    assert args.command == "report" and args.format == "json"
    assert args.paths == ["/var/adm/ras/alt_mig/lpar1_alt_mig.log"]


def test_preflight_dialog_builds_a_valid_nimwatch_command(objects: list[OdmObject]) -> None:
    argv = smit_command(*dialog_and_options(objects, "nimwatch_preflight"), ENTERED)
    args = build_parser().parse_args(argv[1:])
    assert (args.command, args.client, args.spot, args.lpp_source, args.disks, args.cache_vg, args.format) == (
        "preflight",
        "lpar1",
        "spot_7302",
        "lpp_7302",
        ["hdisk1 hdisk2"],
        "nimvg",
        "text",
    )
    without_cache = {k: v for k, v in ENTERED.items() if "Cache" not in k}
    args = build_parser().parse_args(
        smit_command(*dialog_and_options(objects, "nimwatch_preflight"), without_cache)[1:]
    )
    assert args.cache_vg is None


def test_run_dialog_builds_a_nimwatch_run_of_nimadm(objects: list[OdmObject]) -> None:
    dialog, options = dialog_and_options(objects, "nimwatch_run")
    assert dialog.text("ask") == "y"  # SMIT asks before starting a migration
    argv = smit_command(dialog, options, ENTERED)
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run" and args.detach
    nimadm = argv[argv.index("--") + 1 :]
    assert args.nimadm in (nimadm, ["--", *nimadm])
    assert nimadm[0] == "/usr/sbin/nimadm"
    call = parse_nimadm_args(nimadm[1:])
    assert call.client == "lpar1" and call.values["d"] == "hdisk1 hdisk2" and call.values["j"] == "nimvg"
    assert "Y" in call.flags
    refused = parse_nimadm_args(smit_command(dialog, options, {**ENTERED, "ACCEPT new license agreements?": "no"})[5:])
    assert "Y" not in refused.flags


# ---------------------------------------------------------------------- install.sh and uninstall.sh

ODMGET_NIM_MENU = """
sm_menu_opt:
\tid_seq_num = "010"
\tid = "nim"
\tnext_id = "nim_config_env"
\ttext = "Configure the NIM Environment"
\tnext_type = "m"
\talias = ""
"""
ODMGET_NIM_ALIAS = """
sm_menu_opt:
\tid_seq_num = ""
\tid = "nim"
\tnext_id = "nim_main_menu"
\ttext = ""
\tnext_type = "m"
\talias = "y"
"""


@pytest.fixture
def odm(tmp_path: Path) -> Iterator[Path]:
    """Stand-in odmadd/odmdelete/odmget on PATH; each appends its argv, ODMDIR and (odmadd) the file to a log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for name in ("odmadd", "odmdelete", "odmget"):
        body = f'#!/bin/sh\n{{ printf "%s" "{name}"; for a; do printf " <%s>" "$a"; done; echo " ODMDIR=$ODMDIR"; }} >> {calls}\n'
        if name == "odmadd":
            body += f'echo "--- $1" >> {calls}\ncat "$1" >> {calls}\necho "--- end" >> {calls}\n'
        if name == "odmget":
            body += 'if [ -n "$FAKE_ODMGET" ]; then cat "$FAKE_ODMGET"; fi\n'
        path = bin_dir / name
        path.write_text(body, encoding="ascii")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    objrepos = tmp_path / "objrepos"
    objrepos.mkdir()
    for name in (
        "sm_menu_opt",
        "sm_menu_opt.vc",
        "sm_cmd_hdr",
        "sm_cmd_hdr.vc",
        "sm_cmd_opt",
        "sm_cmd_opt.vc",
        "sm_name_hdr",
        "sm_name_hdr.vc",
        "CuDv",
    ):
        (objrepos / name).write_text(f"odm {name}\n")
    yield tmp_path


def run_script(
    odm: Path, script: str, *args: str, odmget: Optional[str] = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": f"{odm / 'bin'}:/usr/bin:/bin",
        "ODMDIR": str(odm / "objrepos"),
        "NIMWATCH_SMIT_BACKUP": str(odm / "backup"),
        "TMPDIR": str(odm),
        **env,
    }
    if odmget is not None:
        (odm / "odmget.out").write_text(odmget)
        environ["FAKE_ODMGET"] = str(odm / "odmget.out")
    return subprocess.run(
        ["/bin/sh", str(SMIT / script), *args], capture_output=True, text=True, env=environ, timeout=120, check=False
    )


def deletions(calls: str) -> list[str]:
    return [line for line in calls.splitlines() if line.startswith("odmdelete")]


EXPECTED_DELETES = [
    f"odmdelete <-o> <{cls}> <-q> <{field} like '{PREFIX}*'>"
    for cls, field in (
        ("sm_menu_opt", "id"),
        ("sm_menu_opt", "next_id"),
        ("sm_name_hdr", "id"),
        ("sm_cmd_hdr", "id"),
        ("sm_cmd_opt", "id"),
    )
]


def test_uninstall_backs_up_then_deletes_every_nimwatch_object(odm: Path) -> None:
    result = run_script(odm, "uninstall.sh")
    assert result.returncode == 0, result.stderr
    calls = (odm / "calls").read_text()
    assert [line.rsplit(" ODMDIR=", 1)[0] for line in deletions(calls)] == EXPECTED_DELETES
    assert all(line.endswith(f"ODMDIR={odm / 'objrepos'}") for line in deletions(calls))
    backup = sorted(p.name for p in (odm / "backup").iterdir())
    assert backup == sorted(
        [
            "sm_menu_opt",
            "sm_menu_opt.vc",
            "sm_cmd_hdr",
            "sm_cmd_hdr.vc",
            "sm_cmd_opt",
            "sm_cmd_opt.vc",
            "sm_name_hdr",
            "sm_name_hdr.vc",
        ]
    )
    assert "odmadd" not in calls


@pytest.mark.parametrize(
    ("odmget", "parent", "warned"),
    [(ODMGET_NIM_MENU, "nim", False), (ODMGET_NIM_ALIAS, "nim_main_menu", False), ("", "apps", True)],
    ids=["nim-menu", "nim-alias", "no-nim-menu"],
)
def test_install_adds_the_stanzas_under_the_nim_menu(odm: Path, odmget: str, parent: str, warned: bool) -> None:
    result = run_script(odm, "install.sh", odmget=odmget, NIMWATCH_BIN="/usr/local/bin/nimwatch")
    assert result.returncode == 0, result.stderr
    assert ('no menu "nim"' in result.stderr) == warned
    calls = (odm / "calls").read_text()
    lines = calls.splitlines()
    assert lines[0] == f"odmget <-q> <id = 'nim'> <sm_menu_opt> ODMDIR={odm / 'objrepos'}"
    assert [line.rsplit(" ODMDIR=", 1)[0] for line in deletions(calls)] == EXPECTED_DELETES  # re-install is clean
    added = calls.split("--- ")[1:]
    assert len([a for a in added if not a.startswith("end")]) == 2
    stanzas = parse_stanzas(calls.split("--- ")[1].split("\n", 1)[1])
    assert len(stanzas) == len(parse_stanzas(STANZAS.read_text()))
    execs = [o.text("cmd_to_exec") for o in stanzas if o.cls == "sm_cmd_hdr"]
    assert execs and all(e.startswith("/usr/local/bin/nimwatch ") for e in execs)
    link = parse_stanzas(calls.split("--- ")[3].split("\n", 1)[1])
    assert [(o.text("id"), o.text("next_id"), o.text("next_type")) for o in link] == [(parent, PREFIX, "m")]
    # odmadd ran after every deletion, and nothing was left in the temporary directory
    assert lines.index(next(line for line in lines if line.startswith("odmadd"))) > max(
        lines.index(line) for line in deletions(calls)
    )
    assert not list(odm.glob("nimwatch-smit.*"))
    assert "smitty nimwatch" in result.stdout


def test_install_refuses_unsafe_settings_before_touching_odm(odm: Path) -> None:
    for env in ({"NIMWATCH_BIN": "nimwatch"}, {"NIMWATCH_BIN": "/opt/x;rm -rf /"}, {"NIMWATCH_SMIT_PARENT": "a b"}):
        result = run_script(odm, "install.sh", odmget=ODMGET_NIM_MENU, **env)
        assert result.returncode == 2, env
        assert not (odm / "calls").exists()


def test_scripts_are_executable_and_posix_sh() -> None:
    for name in ("install.sh", "uninstall.sh"):
        path = SMIT / name
        assert os.access(path, os.X_OK)
        assert path.read_text().startswith("#!/bin/sh\n")
        assert subprocess.run(["/bin/sh", "-n", str(path)], check=False).returncode == 0
