"""Root trusts only root: real files owned by another user, real ``nimwatch watch`` processes running as root.

Every file here is really chowned to ``nobody`` (or made writable by others):
the checks are not simulated. The tests need root to chown and are skipped
otherwise.
"""

from __future__ import annotations

import grp
import os
import pwd
import signal
import stat
from pathlib import Path

import pytest

from nimwatch.trust import trust_problem

from .proc import WatchProcess, run_once
from .watchkit import append, failing_run, running_run, wait_for

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root: the files are chowned to another user"
)

ROOT_GROUP = grp.getgrgid(0).gr_name if hasattr(os, "geteuid") else "root"


def nobody() -> int:
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        return 65534


def hook_script(path: Path, marker: Path, mode: int = 0o755) -> Path:
    path.write_text(f"#!/bin/sh\nid -u >> {marker}\n")
    path.chmod(mode)
    return path


def config_with_hook(path: Path, script: Path, mode: int = 0o600) -> Path:
    path.write_text(f"hooks:\n  - name: marker\n    on: [run_started]\n    run: [{script}]\n")
    path.chmod(mode)
    return path


# ---------------------------------------------------------------------- the check itself


def test_a_file_owned_by_another_user_is_refused_with_the_fix(tmp_path: Path) -> None:
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text("{}\n")
    cfg.chmod(0o644)
    assert trust_problem(cfg, "the config file", root=True) is None
    os.chown(cfg, nobody(), -1)
    problem = trust_problem(cfg, "the config file", root=True)
    assert problem is not None
    assert problem.startswith(f"refusing the config file {cfg} while running as root: the file {cfg} belongs to uid")
    assert problem.endswith(f"chown root:{ROOT_GROUP} {cfg}")


def test_a_root_file_in_a_directory_another_user_owns_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    cfg = home / "nimwatch.yaml"
    cfg.write_text("{}\n")
    cfg.chmod(0o600)
    os.chown(home, nobody(), -1)  # nobody can `mv` another file over this root-owned 0600 one
    problem = trust_problem(cfg, "the config file", root=True)
    assert problem is not None and f"the directory {home} belongs to uid" in problem


def test_group_or_other_writable_directories_are_refused_unless_sticky_and_root_owned(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    cfg = shared / "nimwatch.yaml"
    cfg.write_text("{}\n")
    cfg.chmod(0o600)
    shared.chmod(0o777)
    problem = trust_problem(cfg, "the config file", root=True)
    assert problem is not None and f"group and others can write the directory {shared} (mode drwxrwxrwx)" in problem
    assert problem.endswith(f"chmod go-w {shared}")
    shared.chmod(0o1777)  # like /tmp: the sticky bit stops others replacing root's entries
    assert trust_problem(cfg, "the config file", root=True) is None
    os.chown(cfg, nobody(), -1)  # but an entry someone else owns stays theirs to change
    assert "belongs to uid" in str(trust_problem(cfg, "the config file", root=True))
    os.chown(cfg, 0, -1)
    shared.chmod(0o775)
    assert f"group can write the directory {shared}" in str(trust_problem(cfg, "the config file", root=True))


def test_symbolic_links_are_followed_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    target = good / "nimwatch.yaml"
    target.write_text("{}\n")
    target.chmod(0o600)
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    assert trust_problem(link, "the config file", root=True) is None
    os.lchown(link, nobody(), -1)
    assert f"the symbolic link {link} belongs to uid" in str(trust_problem(link, "the config file", root=True))
    os.lchown(link, 0, -1)
    good.chmod(0o757)
    assert f"others can write the directory {good}" in str(trust_problem(link, "the config file", root=True))


def test_nothing_is_checked_when_not_running_as_root(tmp_path: Path) -> None:
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text("{}\n")
    os.chown(cfg, nobody(), -1)
    cfg.chmod(0o666)
    assert trust_problem(cfg, "the config file", root=False) is None


# ---------------------------------------------------------------------- nimwatch watch, as root


def test_a_hook_in_a_config_owned_by_another_user_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    cfg = config_with_hook(tmp_path / "nimwatch.yaml", hook_script(tmp_path / "hook.sh", marker), mode=0o644)
    os.chown(cfg, nobody(), -1)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "lpar1_alt_mig.log").write_text(failing_run("lpar1", 1))
    done = run_once([str(logs)], cfg, tmp_path / "state.db", tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"refusing the config file {cfg} while running as root" in done.stderr
    assert f"chown root:{ROOT_GROUP} {cfg}" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not marker.exists()


def test_a_root_config_in_a_directory_another_user_can_write_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    etc = tmp_path / "etc"
    etc.mkdir()
    cfg = config_with_hook(etc / "nimwatch.yaml", hook_script(tmp_path / "hook.sh", marker))
    os.chown(etc, nobody(), -1)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "lpar1_alt_mig.log").write_text(failing_run("lpar1", 1))
    done = run_once([str(logs)], cfg, tmp_path / "state.db", tmp_path)
    assert done.returncode == 2 and f"the directory {etc} belongs to uid" in done.stderr
    assert not marker.exists()


def test_a_hook_executable_another_user_owns_or_can_replace_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = hook_script(bindir / "hook.sh", marker)
    cfg = config_with_hook(tmp_path / "nimwatch.yaml", script)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "lpar1_alt_mig.log").write_text(failing_run("lpar1", 1))
    os.chown(script, nobody(), -1)
    done = run_once([str(logs)], cfg, tmp_path / "state.db", tmp_path)
    assert done.returncode == 2 and f"refusing the command {script} while running as root" in done.stderr
    os.chown(script, 0, -1)
    bindir.chmod(0o777)
    done = run_once([str(logs)], cfg, tmp_path / "state.db", tmp_path)
    assert done.returncode == 2 and f"others can write the directory {bindir}" in done.stderr
    assert not marker.exists()


def test_a_rules_file_another_user_owns_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "site.yaml"
    rules.write_text("signatures: []\n")
    os.chown(rules, nobody(), -1)
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text(f"rules: [{rules}]\n")
    cfg.chmod(0o600)
    logs = tmp_path / "logs"
    logs.mkdir()
    done = run_once([str(logs)], cfg, tmp_path / "state.db", tmp_path)
    assert done.returncode == 2 and f"refusing the rules file {rules} while running as root" in done.stderr


def test_sighup_refuses_a_config_another_user_took_over_and_keeps_the_old_one(tmp_path: Path) -> None:
    old_marker, new_marker = tmp_path / "old-ran", tmp_path / "new-ran"
    cfg = config_with_hook(tmp_path / "nimwatch.yaml", hook_script(tmp_path / "old.sh", old_marker))
    new_script = hook_script(tmp_path / "new.sh", new_marker)
    logs = tmp_path / "logs"
    logs.mkdir()
    watcher = WatchProcess([str(logs)], cfg, tmp_path / "state.db", tmp_path).ready()
    try:
        config_with_hook(cfg, new_script, mode=0o644)
        os.chown(cfg, nobody(), -1)
        watcher.signal(signal.SIGHUP)
        watcher.wait_stderr("reload refused, the old configuration stays")
        assert f"refusing the config file {cfg} while running as root" in watcher.stderr()
        append(logs / "lpar1_alt_mig.log", running_run("lpar1", 1))
        wait_for(lambda: old_marker.exists() and old_marker.read_text().strip(), what="the old configuration's hook")
        assert old_marker.read_text().split() == ["0"]
        assert not new_marker.exists()
    finally:
        assert watcher.stop() == 0
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o644
