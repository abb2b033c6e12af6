"""The real ``nimwatch`` binary in a real terminal (tmux, 80x24): what an admin sees overnight.

Checks, on the screen tmux keeps: the Cause column names a failed client's
cause; a client that fails during the session changes the terminal title
(tmux's ``#{pane_title}``), rings the bell (tmux's ``alert-bell`` hook) and
shows a toast; an escape sequence in a log (one that would retitle the
terminal and colour it red) reaches the pane only as visible text; and under
``TERM=vt100`` or an ISO-8859-1 locale the TUI refuses, or draws in ASCII.
No sleeps: every step waits for what the screen shows (with a deadline).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from .tuikit import DATA

SAMPLES = DATA.parent.parent.parent / "sample_logs"
NIMWATCH = Path(sys.executable).parent / "nimwatch"
EVIL = b"Initializing the NIM master.\nnimadm: \x1b]2;PWNED\x07 status \x1b[31mred\x1b[0m and \x07bell\n"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (CI installs it)")


class Tmux:
    """One tmux server of the test's own, one session in it."""

    def __init__(self, name: str, home: Path) -> None:
        self.name = name
        self.servers: list[str] = []
        self.socket = name
        self.home = home
        self.bells = home / "bells"

    def run(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        return done.stdout

    def start(self, command: str, width: int = 80, height: int = 24, env: str = "") -> None:
        """A new tmux server (a server just killed may still hold its socket) running ``command``."""
        self.socket = f"{self.name}-{len(self.servers)}"
        self.servers.append(self.socket)
        # the terminal's own size, not one this process was given (COLUMNS, LINES)
        shell = f"cd {self.home} && env -u COLUMNS -u LINES {env} {command}; echo nimwatch-exited-$?; sleep 600"
        subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-x", str(width), "-y", str(height),
             "sh", "-c", shell],
            check=True,
            timeout=30,
        )
        self.run("set-hook", "-g", "alert-bell", f"run-shell 'echo bell >> {self.bells}'")

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def title(self) -> str:
        return self.run("display-message", "-p", "#{pane_title}").strip()

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def until(self, what: Callable[[], bool], why: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert time.monotonic() < deadline, f"never: {why}\n--- screen ---\n{self.screen()}\ntitle: {self.title()}"
            time.sleep(0.05)

    def shows(self, text: str, timeout: float = 60.0) -> str:
        self.until(lambda: text in self.screen(), f"the screen shows {text!r}", timeout)
        return self.screen()


def iso_8859_1_locale() -> bool:
    """The system has the ``en_US.ISO-8859-1`` locale (``locale -a`` lists it as ``en_US.iso88591``)."""
    try:
        listed = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return False
    return any(name.lower().replace("-", "") == "en_us.iso88591" for name in listed)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    box = Tmux(f"nimwatch-test-{os.getpid()}-{tmp_path.name}", tmp_path)
    try:
        yield box
    finally:
        for socket in box.servers:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=30)


def test_dashboard_in_a_real_terminal_names_causes_announces_a_failure_and_escapes_log_text(
    tmux: Tmux, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    failing = (SAMPLES / "fail6inst_alt_mig.log").read_bytes().splitlines(keepends=True)
    (logs / "fail2cache_alt_mig.log").write_bytes((SAMPLES / "fail2cache_alt_mig.log").read_bytes())
    (logs / "lpar-hq-oracle-db-07_alt_mig.log").write_bytes(b"".join(failing[:100]))
    (logs / "lpar-hq-oracle-db-08_alt_mig.log").write_bytes(b"".join(failing[:60]))
    (logs / "evil_alt_mig.log").write_bytes(EVIL)
    env = f"NIMWATCH_STATE={tmp_path / 'state.db'} TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8"
    tmux.start(f"{NIMWATCH} tui {logs}", env=env)

    # 80x24: the failed client's cause, whole client names, reboot readiness
    screen = tmux.shows("0516-404 VG full")
    assert "lpar-hq-oracle-db-07" in screen and "lpar-hq-oracle-db-08" in screen
    assert "do not" in screen and "wait" in screen
    tmux.until(lambda: tmux.title() == "nimwatch: 1 failed, 3 running", "the title counts the clients")
    assert not tmux.bells.exists()  # a failure already in a log at start is not news

    # a client fails during the session: title, bell, toast
    with (logs / "lpar-hq-oracle-db-07_alt_mig.log").open("ab") as handle:
        handle.write(b"".join(failing[100:]))
    tmux.until(lambda: tmux.title() == "nimwatch: 2 failed, 2 running", "the title shows the new failure")
    tmux.until(tmux.bells.exists, "the bell rang")
    screen = tmux.shows("Migration failed")
    assert "lpar-hq-oracle-db-07 failed in" in screen  # the toast (it wraps at 80 columns)

    # the escape sequences of a log line are shown, not obeyed
    tmux.keys("-l", "/")
    tmux.shows("Client name contains:")
    tmux.keys("-l", "evil")
    tmux.keys("Enter")
    tmux.until(lambda: "fail2cache" not in tmux.screen(), "the filter keeps the evil client only")
    tmux.keys("Enter")
    tmux.shows("evil  ▶ running  reboot: wait")
    tmux.keys("3")
    screen = tmux.shows("\\x1b]2;PWNED\\x07 status \\x1b[31mred\\x1b[0m and \\x07bell")
    assert "PWNED" not in tmux.title()
    coloured = tmux.run("capture-pane", "-p", "-e")
    assert "\x1b]2" not in coloured and "PWNED" not in tmux.title()

    tmux.keys("q")
    tmux.shows("nimwatch-exited-0")
    assert "PWNED" not in tmux.title()


def test_a_vt100_gets_a_clear_refusal_and_an_iso_8859_1_terminal_an_ascii_tui(tmux: Tmux, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "fail6inst_alt_mig.log").write_bytes((SAMPLES / "fail6inst_alt_mig.log").read_bytes())
    state = f"NIMWATCH_STATE={tmp_path / 'state.db'}"
    tmux.start(f"{NIMWATCH} tui {logs}", env=f"{state} TERM=vt100")
    screen = tmux.shows("nimwatch-exited-2")
    assert "TERM=vt100 cannot show the TUI" in screen.replace("\n", "") or "TERM=vt100" in screen
    assert "nimwatch status" in screen

    # an ISO-8859-1 locale (AIX's en_US): the same dashboard, every symbol in ASCII. CI builds the locale;
    # where it is missing, Python is told the encoding the locale would give it.
    locale = "LC_ALL=en_US.ISO-8859-1" if iso_8859_1_locale() else "PYTHONIOENCODING=iso8859-1 LC_ALL=C"
    tmux.start(f"{NIMWATCH} tui {logs}", env=f"-u LANG -u LC_CTYPE {state} TERM=xterm {locale}")
    screen = tmux.shows("X failed")
    assert "installp: requisite" in screen and "do not" in screen
    assert screen.isascii(), [c for c in screen if not c.isascii()]
    tmux.keys("q")
    tmux.shows("nimwatch-exited-0")


def test_status_and_report_show_a_log_s_escape_sequences_as_text(tmux: Tmux, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    # the escape sequences in a finding's line: the report quotes it, status shows it as the last line
    finding = b"0516-404 allocp: This system cannot fulfill the allocation request.\x1b]2;PWNED\x07 \x1b[31mred\x1b[0m\n"
    (logs / "evil_alt_mig.log").write_bytes(EVIL + finding)
    state = f"NIMWATCH_STATE={tmp_path / 'state.db'}"
    before = None
    for command in (f"status {logs}", f"report {logs / 'evil_alt_mig.log'}"):
        tmux.start(f"{NIMWATCH} {command}", width=200, env=f"{state} TERM=xterm-256color LANG=C.UTF-8")
        if before is None:
            tmux.until(lambda: bool(tmux.title()), "tmux names the pane")
            before = tmux.title()
        screen = tmux.shows("nimwatch-exited-")
        assert "allocation request.\\x1b]2;PWNED\\x07 \\x1b[31mred\\x1b[0m" in screen, command
        assert tmux.title() == before and "PWNED" not in tmux.title(), command
        assert not tmux.bells.exists(), command
        coloured = tmux.run("capture-pane", "-p", "-e")
        assert "\x1b[31mred" not in coloured, command
