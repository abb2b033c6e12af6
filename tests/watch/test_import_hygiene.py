"""The headless watch path never imports Textual (it must run where Textual cannot, e.g. a bare AIX box)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = (
    "nimwatch.commands.watch",
    "nimwatch.watcher",
    "nimwatch.sources.tail",
    "nimwatch.journal",
    "nimwatch.recorder",
    "nimwatch.stall",
    "nimwatch.metrics",
    "nimwatch.alerts.dispatcher",
    "nimwatch.alerts.syslog",
    "nimwatch.alerts.smtp",
    "nimwatch.alerts.webhook",
    "nimwatch.alerts.alertmanager",
    "nimwatch.alerts.command",
)


def test_watch_modules_do_not_import_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}:\n    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith(('textual.', 'nimwatch.tui')))\n"
        "print(bad)\nsys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
