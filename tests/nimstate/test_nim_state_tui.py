"""The NIM state beside the log phase in the real TUI (tmux): issue 14's "TUI, status, events".

``nimwatch tui`` with a ``nim_state:`` section runs the stand-in ``lsnim``
(recorded ``-Z`` answers) and shows each client's NIM state in the
dashboard's NIM column, right of the phase; a change of NIM's ``info`` is
redrawn without a restart. Without the section there is no such column and
``lsnim`` never runs. Every step waits for what the screen shows.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import SAMPLE_LOGS
from tui import test_tmux as tmux_kit
from tui.test_tmux import NIMWATCH, Tmux

from .lsnimkit import StandInLsnim

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (CI installs it)")


tmux = tmux_kit.tmux
"""test_tmux's fixture: a tmux server of the test's own, killed after it."""


def environment(tmp_path: Path, lsnim: StandInLsnim) -> str:
    env = lsnim.env({"PATH": os.environ.get("PATH", "")})
    pairs = {
        **env,
        "NIMWATCH_STATE": str(tmp_path / "state.db"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    return " ".join(f"{key}='{value}'" for key, value in pairs.items())


def test_the_dashboard_shows_the_nim_state_beside_the_phase_and_follows_its_changes(tmux: Tmux, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(SAMPLE_LOGS / "running01_alt_mig.log", logs)
    lsnim = StandInLsnim(tmp_path, "busy-copy")
    config = tmp_path / "nimwatch.yaml"
    config.write_text(f"nim_state:\n  interval: 5\n  lsnim: {lsnim.bin / 'lsnim'}\n", encoding="utf-8")
    tmux.start(f"{NIMWATCH} tui --config {config} {logs}", width=200, height=24, env=environment(tmp_path, lsnim))

    screen = tmux.shows("copying rootvg data", timeout=120)
    header = next(line for line in screen.splitlines() if "Phase" in line and "NIM" in line)
    row = next(line for line in screen.splitlines() if "running01" in line)
    assert header.index("NIM") > header.index("Phase")
    assert row.index("copying rootvg data") > row.index("6/12"), screen
    assert [call.split()[-1] for call in lsnim.calls()][:1] == ["running01"]
    assert all(call.startswith("LC_ALL=C ") for call in lsnim.calls())

    # NIM's info moves on: the row follows without a restart
    lsnim.answer("busy-restore")
    tmux.shows("restoring BOS image", timeout=120)
    tmux.keys("q")
    tmux.shows("nimwatch-exited-", timeout=60)


def test_without_the_section_there_is_no_nim_column_and_lsnim_never_runs(tmux: Tmux, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(SAMPLE_LOGS / "running01_alt_mig.log", logs)
    lsnim = StandInLsnim(tmp_path, "busy-copy")
    tmux.start(f"{NIMWATCH} tui {logs}", width=200, height=24, env=environment(tmp_path, lsnim))
    screen = tmux.shows("running01", timeout=120)
    tmux.shows("6/12", timeout=120)
    header = next(line for line in tmux.screen().splitlines() if "Phase" in line)
    assert "NIM" not in header, screen
    tmux.keys("q")
    tmux.shows("nimwatch-exited-", timeout=60)
    assert lsnim.calls() == []
