"""The man page and the bash/ksh completions: current with the argparse definitions, rendering cleanly, complete.

The expected commands, options and choices are read from argparse here, not
from the generator, so a generator that forgets something fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from nimwatch import gendocs
from nimwatch.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
MAN = ROOT / "share" / "man" / "man1" / "nimwatch.1"
BASH = ROOT / "share" / "bash-completion" / "completions" / "nimwatch"
KSH = ROOT / "share" / "nimwatch" / "nimwatch.ksh"
SCHEMA = ROOT / "share" / "nimwatch-config.schema.json"  # from the config declarations: tests/config/test_schema.py
LOG_OPTIONS = {"--log-level", "--log-format", "--log-file", "--log-max-size", "--log-backups"}


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._actions for name in action.option_strings}


def choices(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    return {name: [str(c) for c in a.choices] for a in parser._actions if a.choices and a.option_strings for name in a.option_strings}


def test_the_shipped_files_are_current() -> None:
    assert gendocs.stale(ROOT) == [], "run: python -m nimwatch.gendocs"
    assert {MAN, BASH, KSH, SCHEMA} == {ROOT / rel for rel in gendocs.GENERATED}


def test_gendocs_check_and_write(tmp_path: Path) -> None:
    assert gendocs.main(["--check", "--root", str(ROOT)]) == 0
    assert gendocs.main(["--check", "--root", str(tmp_path)]) == 1
    assert gendocs.main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / "share/man/man1/nimwatch.1").read_text() == MAN.read_text()


def test_the_man_page_names_every_command_and_option() -> None:
    text = MAN.read_text()
    for name, parser in commands().items():
        assert f'.SS "{name.replace("-", chr(92) + "-")}"' in text
        for option in option_strings(parser):
            assert "\\fB" + option.replace("-", "\\-") + "\\fR" in text, (name, option)
    assert ".SH EXIT STATUS" in text and ".SH ENVIRONMENT" in text


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed (apt-get install groff-base)")
def test_the_man_page_renders_without_warnings() -> None:
    done = subprocess.run(["groff", "-man", "-ww", "-Tutf8", str(MAN)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "nimwatch report" in done.stdout


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed (apt-get install man-db)")
def test_man_l_shows_it_without_warnings() -> None:
    env = {**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0", "PAGER": "cat"}
    done = subprocess.run(["man", "--warnings", "-l", str(MAN)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "GLOBAL OPTIONS" in done.stdout and "check-rules" in done.stdout


def bash_complete(*words: str) -> list[str]:
    """What the bash completion offers for the last of ``words`` (after ``nimwatch``)."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in ("nimwatch", *words))
    script = f'. "{BASH}"\nCOMP_WORDS=({quoted})\nCOMP_CWORD={len(words)}\n_nimwatch\nprintf "%s\\n" "${{COMPREPLY[@]}}"\n'
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [line for line in done.stdout.splitlines() if line]


def ksh_complete(*words: str) -> list[str]:
    done = subprocess.run(
        ["ksh", "-c", f'. "{KSH}"; _nimwatch_complete "$@"', "ksh", "nimwatch", *words],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [line for line in done.stdout.splitlines() if line]


SHELLS = [
    pytest.param(bash_complete, id="bash"),
    pytest.param(
        ksh_complete,
        id="ksh",
        marks=pytest.mark.skipif(shutil.which("ksh") is None, reason="ksh is not installed (apt-get install ksh)"),
    ),
]


@pytest.mark.parametrize("complete", SHELLS)
def test_completion_covers_every_command_option_and_choice(complete: object) -> None:
    assert callable(complete)
    table = commands()
    assert sorted(complete("")) == sorted(table)
    assert complete("check-c") == ["check-config"]
    top = build_parser()
    assert set(complete("-")) == option_strings(top)
    for level, values in choices(top).items():
        assert complete(level, "") == values
    for name, parser in table.items():
        offered = set(complete(name, "-"))
        assert offered == option_strings(parser), name
        assert offered >= LOG_OPTIONS
        for option, values in choices(parser).items():
            assert complete(name, option, "") == values, (name, option)
            assert complete("--log-level", "debug", name, option, values[0][:2]) == [v for v in values if v.startswith(values[0][:2])]
    # after a value-taking option comes its value, not a command; after a command, files are the shell's
    assert complete("--log-file", "") == []
    assert complete("report", "--output", "x.txt", "--fo") == ["--format"]
    assert complete("watch", "") == []


def test_bash_registers_the_function() -> None:
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f'. "{BASH}"; complete -p nimwatch'], capture_output=True, text=True, timeout=30
    )
    assert done.stdout.strip() == "complete -o default -F _nimwatch nimwatch"


@pytest.mark.skipif(shutil.which("ksh") is None or shutil.which("tmux") is None, reason="needs ksh and tmux")
def test_ksh93_tab_completes_in_a_real_terminal(tmp_path: Path) -> None:
    rc = tmp_path / "kshrc"
    rc.write_text(f'. "{KSH}"\nPS1="ksh$ "\n')
    session = f"nimwatch-ksh-{os.getpid()}"
    env_cmd = f"env -i TERM=xterm HOME={tmp_path} ENV={rc} PATH=/usr/bin:/bin ksh -o emacs -i"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "20", env_cmd], check=True, timeout=30)

    def screen() -> str:
        out = subprocess.run(["tmux", "capture-pane", "-t", session, "-p", "-N"], capture_output=True, text=True, timeout=30)
        return out.stdout

    def until(text: str) -> str:
        deadline = time.monotonic() + 20
        while text not in screen():
            assert time.monotonic() < deadline, f"never saw {text!r}:\n{screen()}"
            time.sleep(0.02)
        return screen()

    def type_tab(text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", session, "-l", "--", text], check=True, timeout=30)
        subprocess.run(["tmux", "send-keys", "-t", session, "Tab"], check=True, timeout=30)

    try:
        until("ksh$ ")
        type_tab("nimwatch repo")
        until("ksh$ nimwatch report ")
        type_tab("--form")
        until("nimwatch report --format ")
        type_tab("js")
        until("--format json ")
        type_tab("--log-l")
        type_tab("deb")
        until("nimwatch report --format json --log-level debug ")
        subprocess.run(["tmux", "send-keys", "-t", session, "C-u"], check=True, timeout=30)
        type_tab("nimwatch rep")
        until("report replay")  # two candidates: listed, the line kept
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=30)
