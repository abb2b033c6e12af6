"""The hooks: section: a full valid config, each bad case's message, and the root-only executable checks."""

from __future__ import annotations

import grp
import os
from pathlib import Path

import pytest

from nimwatch.config import check_config, load_config
from nimwatch.config.hooks import DEFAULT_TIMEOUT, HOOKS, HookSpec
from nimwatch.config.schema import At
from nimwatch.core.validation import Problems, glob_problem
from nimwatch.errors import ConfigError
from nimwatch.yamlfile import parse_yaml

from .hookkit import group_writable, write_script

BAD = Path(__file__).parent / "bad_configs"
BAD_FILES = sorted(BAD.glob("*.yaml"))


def parse(text: str, path: Path) -> tuple[list[HookSpec], list[str]]:
    problems = Problems(str(path))
    data = parse_yaml(text, str(path))
    hooks: list[HookSpec] = HOOKS.read(data["hooks"], At(problems, path.parent.resolve(), data.line_of("hooks"), "hooks"))
    return hooks, problems.items


def test_a_full_hook_parses_with_every_key(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    write_script(tmp_path / "bin" / "notify.sh", "#!/bin/sh\n")
    (tmp_path / "work").mkdir()
    cfg = tmp_path / "nimwatch.yaml"
    hooks, problems = parse(
        """
hooks:
  - name: page
    on: [run_failed, finding, pre_migration]
    phases: [4, 6, 7]
    clients: ["prod*", "sap[0-9]*"]
    severity: warning
    rules: [installp-fs-no-space]
    codes: ["0503-008"]
    run: [./bin/notify.sh, "--client={client}", "{phase}", "{phase_name}", "{event}", "{code}", "{rule}",
          "{severity}", "{log}", "{line}", "{outcome}", "awk '{print $1}'"]
    env: {TEAM: aix, PORT: "25"}
    cwd: work
    timeout: 12.5
    overlap: skip
    once_per_run: yes
  - name: minimal
    on: run_started
    run: [sh]
""",
        cfg,
    )
    assert problems == []
    page, minimal = hooks
    assert page == HookSpec(
        name="page",
        on=("run_failed", "finding", "pre_migration"),
        run=(
            str(tmp_path / "bin" / "notify.sh"),
            "--client={client}",
            "{phase}",
            "{phase_name}",
            "{event}",
            "{code}",
            "{rule}",
            "{severity}",
            "{log}",
            "{line}",
            "{outcome}",
            "awk '{print $1}'",
        ),
        phases=frozenset({4, 6, 7}),
        clients=("prod*", "sap[0-9]*"),
        severity="warning",
        rules=frozenset({"installp-fs-no-space"}),
        codes=frozenset({"0503-008"}),
        env={"TEAM": "aix", "PORT": "25"},
        cwd=str(tmp_path / "work"),
        timeout=12.5,
        overlap="skip",
        once_per_run=True,
        source=f"{cfg}:3",
    )
    assert minimal.on == ("run_started",)  # a single event without a list
    assert (minimal.timeout, minimal.overlap, minimal.once_per_run) == (DEFAULT_TIMEOUT, "queue", False)
    assert minimal.run == ("sh",)  # bare names are looked up in PATH when the hook runs


def test_the_bare_on_key_is_not_yaml_true(tmp_path: Path) -> None:
    # YAML 1.1 reads an unquoted `on:` key as the boolean True; both spellings work.
    hooks, problems = parse(
        'hooks:\n  - {name: a, on: [run_failed], run: [sh]}\n  - {name: b, "on": [run_failed], run: [sh]}\n',
        tmp_path / "c.yaml",
    )
    assert problems == [] and [h.on for h in hooks] == [("run_failed",), ("run_failed",)]


def test_no_hooks_is_fine(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("hooks: []\n")
    assert check_config(cfg) == []
    assert load_config(cfg).hooks == []


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_each_bad_config_names_file_line_key_and_suggestion(path: Path, not_root: None) -> None:
    expected = [
        line.split("# expect: ", 1)[1].replace("{dir}", str(BAD)).rstrip("\n")
        for line in path.read_text().splitlines()
        if line.startswith("# expect: ")
    ]
    assert expected, f"{path.name} has no '# expect:' line"
    problems = check_config(path)
    for want in expected:
        assert any(p.startswith(f"{path}:{want}") for p in problems), f"{want!r} not in {problems}"
    # start-up stops at the first problem, with the same message
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == problems[0]


def test_all_problems_of_a_file_are_listed_at_once(tmp_path: Path, not_root: None) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "hooks:\n"
        "  - name: a\n"
        "    on: [run_faild]\n"
        "    run: [sh, '{clinet}']\n"
        "    overlap: skipp\n"
        "  - name: b\n"
        "    on: [finding]\n"
        "    clients: ['x[']\n"
        "    run: [sh]\n"
        "    timout: 3\n"
    )
    problems = check_config(cfg)
    assert len(problems) == 5
    assert sorted(int(p.split(":")[1]) for p in problems) == [3, 4, 5, 8, 10]
    assert all(p.startswith(f"{cfg}:") for p in problems)


def test_glob_checker_agrees_with_fnmatch_on_good_globs() -> None:
    for good in ("*", "web7?", "sap[0-9]*", "db[!x]*", "a[]]b", "[!]]", "x-y"):
        assert glob_problem(good) is None, good
    for bad in ("", "a[b", "a[!", "a[]", "z[9-0]", "a/b"):
        assert glob_problem(bad) is not None, bad


# --------------------------------------------------------------------------- running as root


def _one_hook_config(tmp_path: Path, command: str) -> Path:
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text(f"hooks:\n  - name: check\n    on: [run_failed]\n    run: [{command}, x]\n")
    return cfg


def test_as_root_a_hook_executable_others_can_write_is_refused(tmp_path: Path, as_root: None) -> None:
    script = write_script(tmp_path / "check.sh", "#!/bin/sh\n")
    cfg = _one_hook_config(tmp_path, str(script))
    assert check_config(cfg) == []
    group_writable(script)
    (problem,) = check_config(cfg)
    assert problem.startswith(
        f"{cfg}:4: hook 'check': run[0]: refusing the command {script} while running as root: "
        f"group can write the file {script} (mode -rwxrwxr-x): chmod go-w {script}"
    )
    script.chmod(0o757)
    assert f"others can write the file {script} (mode -rwxr-xrwx)" in check_config(cfg)[0]


def test_as_root_a_command_found_in_path_is_checked_too(
    tmp_path: Path, as_root: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = write_script(bindir / "site-notify", "#!/bin/sh\n", mode=0o775)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    cfg = _one_hook_config(tmp_path, "site-notify")
    (problem,) = check_config(cfg)
    assert f"refusing the command {script} while running as root: group can write the file" in problem


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_as_root_a_hook_executable_owned_by_another_user_is_refused(tmp_path: Path, as_root: None) -> None:
    script = write_script(tmp_path / "check.sh", "#!/bin/sh\n")
    os.chown(script, 4242, -1)
    cfg = _one_hook_config(tmp_path, str(script))
    (problem,) = check_config(cfg)
    assert f"refusing the command {script} while running as root: the file {script} belongs to uid 4242" in problem
    assert f"chown root:{grp.getgrgid(0).gr_name} {script}" in problem


def test_not_as_root_the_same_executable_is_accepted(tmp_path: Path, not_root: None) -> None:
    script = write_script(tmp_path / "check.sh", "#!/bin/sh\n", mode=0o777)
    assert check_config(_one_hook_config(tmp_path, str(script))) == []


def test_as_root_a_config_others_can_write_is_refused(tmp_path: Path, as_root: None) -> None:
    script = write_script(tmp_path / "check.sh", "#!/bin/sh\n")
    cfg = _one_hook_config(tmp_path, str(script))
    cfg.chmod(0o666)
    (problem,) = check_config(cfg)
    assert f"refusing the config file {cfg} while running as root: group and others can write the file" in problem
    assert problem.endswith(f"chmod go-w {cfg}")


def test_a_hook_that_is_not_executable_is_refused(tmp_path: Path, not_root: None) -> None:
    script = write_script(tmp_path / "check.sh", "#!/bin/sh\n", mode=0o644)
    (problem,) = check_config(_one_hook_config(tmp_path, str(script)))
    assert problem.endswith(f"run[0]: {script} is not executable (chmod +x)")


def test_the_command_is_checked_even_when_other_keys_are_wrong(tmp_path: Path, not_root: None) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "hooks:\n"
        "  - {name: a, on: [bogus], run: [no-such-command-nimwatch]}\n"
        "  - {name: b, on: [bogus], run: ['/opt/{client}']}\n"
        "  - {name: c, on: [run_failed], run: [5, /bin/sh]}\n"
    )
    problems = check_config(cfg)
    assert f"{cfg}:2: hook 'a': run[0]: 'no-such-command-nimwatch' is not found in PATH" in "\n".join(problems)
    assert any(p.startswith(f"{cfg}:3: hook 'b': run[0]: the command cannot hold a placeholder") for p in problems)
    assert f"{cfg}:4: hook 'c': run[0]: must be a string, not an integer (quote it: '5')" in problems
    assert len(problems) == 5


def test_benign_is_a_finding_filter_that_defaults_to_off(tmp_path: Path) -> None:
    hooks, problems = parse(
        "hooks:\n  - {name: a, on: [finding], run: [sh]}\n  - {name: b, on: [finding], benign: true, run: [sh]}\n",
        tmp_path / "c.yaml",
    )
    assert problems == [] and [h.benign for h in hooks] == [False, True]
    _, problems = parse("hooks:\n  - {name: a, on: [finding], benign: sometimes, run: [sh]}\n", tmp_path / "c.yaml")
    assert any("benign: must be true or false" in p for p in problems), problems
    _, problems = parse("hooks:\n  - {name: a, on: [run_failed], benign: true, run: [sh]}\n", tmp_path / "c.yaml")
    assert any("benign: only applies to finding events" in p for p in problems), problems
