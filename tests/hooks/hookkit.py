"""Helpers for the hook tests: real scripts in tmp_path that record what they were given.

``kit.recorder`` is a Python script (run through its shebang, so it is a real
executable looked up like any hook) that writes its argv, environment, stdin,
working directory and pid as JSON into ``kit.records_dir``; ``kit.records()``
reads them back in start order. Tests wait on conditions (``wait_for``,
``HookManager.wait_idle``), never on fixed sleeps.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from nimwatch.config.hooks import HookSpec
from nimwatch.core.events import Event
from nimwatch.engine import Engine, Notice
from nimwatch.hooks.manager import HookManager, MemoryOnceStore, OnceStore

RECORDER = """#!{python}
import json, os, sys, time
out = os.environ.get("RECORD_DIR") or {default!r}
data = {{
    "argv": sys.argv,
    "env": dict(os.environ),
    "stdin": sys.stdin.read(),
    "cwd": os.getcwd(),
    "pid": os.getpid(),
}}
name = "%020d-%d.json" % (time.time_ns(), os.getpid())
with open(os.path.join(out, name + ".tmp"), "w") as handle:
    json.dump(data, handle)
os.replace(os.path.join(out, name + ".tmp"), os.path.join(out, name))
"""


def write_script(path: Path, text: str, mode: int = 0o755) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (dead, not yet reaped by init) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (AIX, macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def notice(
    event: str,
    *,
    client: str = "web73",
    log: Optional[str] = None,
    run: Optional[int] = 1,
    phase: Optional[int] = None,
    phase_name: Optional[str] = None,
    ts: float = 1_700_000_000.0,
    **fields: Any,
) -> Notice:
    """A notice as the engine makes it (``log`` defaults to the client's nimadm log path)."""
    return Notice(
        event,
        ts,
        log if log is not None else f"/var/adm/ras/alt_mig/{client}_alt_mig.log",
        client,
        run,
        phase,
        phase_name,
        fields,
    )


@dataclass
class Kit:
    tmp: Path
    recorder: Path
    records_dir: Path
    engine: Engine
    """The real engine the managers report their results to (its notices land in ``published``)."""
    published: list[Notice] = field(default_factory=list)
    managers: list[HookManager] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.engine.subscribe(self._keep)

    def _keep(self, n: Notice) -> None:
        with self.lock:
            self.published.append(n)

    def publish(self, event: Event, at: float, log: str) -> None:
        """What a manager is given: the engine's ``report``."""
        self.engine.report(event, at, log)

    def results(self) -> list[Notice]:
        with self.lock:
            return [n for n in self.published if n.event == "hook_result"]

    def records(self) -> list[dict[str, Any]]:
        files = sorted(p for p in self.records_dir.iterdir() if p.suffix == ".json")
        return [json.loads(p.read_text(encoding="utf-8")) for p in files]

    def spec(self, name: str = "h", on: tuple[str, ...] = ("run_started",), **kw: Any) -> HookSpec:
        run = kw.pop("run", (str(self.recorder),))
        env = {"RECORD_DIR": str(self.records_dir), **kw.pop("env", {})}
        kw.setdefault("retries", 0)  # one result per event, unless a test is about retries
        return HookSpec(name=name, on=tuple(on), run=tuple(run), env=env, **kw)

    def manager(self, hooks: list[HookSpec], store: Optional[OnceStore] = None, **kw: Any) -> HookManager:
        m = HookManager(hooks, self.publish, store if store is not None else MemoryOnceStore(), **kw)
        self.managers.append(m)
        return m


def group_writable(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IWGRP)


ROOT = Path(__file__).resolve().parents[2]
FAILING_NOTIFY = "#!/bin/sh\necho 'mail relay refused' >&2\nexit 3\n"


def nimwatch_env(cfg: Path, state: Path) -> dict[str, str]:
    """The environment of a real ``nimwatch`` process run from this checkout with this config and state."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "NIMWATCH_STATE": str(state),
        "NIMWATCH_CONFIG": str(cfg),
        "NO_COLOR": "1",
    }


def failed_run_with_hook(tmp_path: Path, hook: str = FAILING_NOTIFY, extra: str = "") -> tuple[Path, Path, Path]:
    """A log dir holding lpar7's failed migration and a config with hook ``notify`` on ``run_failed``.

    ``hook`` is the script's text; ``extra`` more lines of the hook's YAML. Returns (logs, config, state db).
    """
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(ROOT / "sample_logs" / "fail1lvm_alt_mig.log", logs / "lpar7_alt_mig.log")
    script = write_script(tmp_path / "notify.sh", hook)
    state = tmp_path / "state" / "state.db"
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text(
        f"state: {state}\nhooks:\n  - name: notify\n    on: [run_failed]\n    run: ['{script}', '{{client}}']\n"
        f"    retries: 0\n{extra}"
    )
    cfg.chmod(0o600)
    return logs, cfg, state
