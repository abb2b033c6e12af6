"""The example hooks in examples/hooks/, run for real through the HookManager with their example config.

The commands they call on AIX (mail, errlogger, logger, lsnim) are stand-ins
that record their argv and stdin; curl is the real one, posting to a local
HTTP server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nimwatch.config import load_config
from nimwatch.config.hooks import HookSpec
from nimwatch.engine import Notice

from .hookkit import Kit, notice

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "hooks"
SCRIPTS = sorted(EXAMPLES.glob("*.sh"))
WEB73_LOG = ROOT / "sample_logs" / "web73_alt_mig.log"
STUBS = ("mail", "errlogger", "logger", "lsnim")


class _Pager(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def pager() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Pager", (_Pager,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="test-pager", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/nimadm", received
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def examples(kit: Kit, not_root: None, pager: tuple[str, list[dict[str, Any]]]) -> dict[str, HookSpec]:
    """The example config's hooks, with stand-in commands first in PATH and test-local targets."""
    stubs = kit.tmp / "stubs"
    stubs.mkdir()
    for name in STUBS:
        os.symlink(kit.recorder, stubs / name)
    (kit.tmp / "pager.headers").write_text("Authorization: Bearer t0k3n\n")
    local = {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "RECORD_DIR": str(kit.records_dir),
        "CHECK_REPORT_DIR": str(kit.tmp / "checks"),
        "PAGER_URL": pager[0],
        "PAGER_HEADER_FILE": str(kit.tmp / "pager.headers"),
    }
    out: dict[str, HookSpec] = {}
    for hook in load_config(EXAMPLES / "nimwatch.yaml").hooks:
        env: dict[str, str] = dict(hook.env)
        env.update({k: v for k, v in local.items() if k in hook.env or k in ("PATH", "RECORD_DIR")})
        out[hook.name] = replace(hook, env=env)
    return out


def _by_command(kit: Kit) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for record in kit.records():
        out.setdefault(os.path.basename(record["argv"][0]), []).append(record)
    return out


def _run(kit: Kit, hooks: list[HookSpec], *notices: Notice) -> dict[str, Mapping[str, Any]]:
    m = kit.manager(hooks)
    for n in notices:
        m.handle(n)
    assert m.wait_idle(60)
    return {r.fields["hook"]: r.fields for r in kit.results()}


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_examples_are_posix_sh_and_never_eval(script: Path) -> None:
    assert script.read_text().startswith("#!/bin/sh\n")
    assert os.access(script, os.X_OK)
    subprocess.run(["sh", "-n", str(script)], check=True)
    if shutil.which("bash"):
        subprocess.run(["bash", "--posix", "-n", str(script)], check=True)
    code = [line for line in script.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not any("eval" in line.split() or "`" in line for line in code)


FAILED = notice(
    "run_finished",
    client="prod01",
    phase=6,
    phase_name="Installing software",
    line=2078,
    outcome="failed",
    failed_phase=6,
    reason="nimadm aborted and cleaned up",
)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_failed_run_mails_pages_and_records_in_the_error_log(
    kit: Kit, examples: dict[str, HookSpec], pager: tuple[str, list[dict[str, Any]]]
) -> None:
    results = _run(kit, list(examples.values()), FAILED)
    assert set(results) == {"mail-on-failure", "page-on-failure", "errlog-record"}
    assert all(r["exit_status"] == 0 and r["error"] is None for r in results.values()), results
    calls = _by_command(kit)
    (mail,) = calls["mail"]
    host = os.uname().nodename
    assert mail["argv"][1:] == ["-s", f"nimadm migration of prod01 FAILED on {host}", "aix-admins@example.com"]
    assert "The nimadm migration of prod01 failed." in mail["stdin"]
    assert "prod01: migration failed in phase 6 (Installing software): nimadm aborted and cleaned up" in mail["stdin"]
    assert json.loads(mail["stdin"].splitlines()[-1])["outcome"] == "failed"
    (errlog,) = calls["errlogger"]
    assert errlog["argv"][1:] == [
        "nimwatch: nimadm migration of prod01 failed in phase 6 (Installing software); "
        "log /var/adm/ras/alt_mig/prod01_alt_mig.log"
    ]
    (page,) = pager[1]
    assert page["path"] == "/hooks/nimadm"
    assert page["headers"]["Authorization"] == "Bearer t0k3n"
    assert page["headers"]["X-Nimwatch-Client"] == "prod01"
    assert json.loads(page["body"]) == json.loads(json.dumps(FAILED.as_json()))


def test_only_production_clients_are_paged_and_the_error_log_entry_is_cut(
    kit: Kit, examples: dict[str, HookSpec], pager: tuple[str, list[dict[str, Any]]]
) -> None:
    long_name = "test" + "x" * 300
    results = _run(kit, [examples["page-on-failure"], examples["errlog-record"]], replace(FAILED, client=long_name))
    assert set(results) == {"errlog-record"} and pager[1] == []
    (errlog,) = _by_command(kit)["errlogger"]
    assert len(errlog["argv"][1]) == 230


def test_pre_migration_notice(kit: Kit, examples: dict[str, HookSpec]) -> None:
    phase4 = notice("phase_started", client="db01", phase=4, phase_name="Pre-migration script", line=62)
    results = _run(kit, list(examples.values()), phase4, notice("phase_started", client="db01", phase=5, line=66))
    assert set(results) == {"pre-migration-notice"} and results["pre-migration-notice"]["exit_status"] == 0
    calls = _by_command(kit)
    (logger,) = calls["logger"]
    assert logger["argv"][1:5] == ["-t", "nimwatch", "-p", "user.notice"]
    assert logger["argv"][5].startswith("nimadm migration of db01: pre-migration (phase 4) started")
    (mail,) = calls["mail"]
    assert mail["argv"][1:] == ["-s", "Migration of db01: pre-migration started", "app-team@example.com"]


def _phase7(kit: Kit, client: str, status: str = "done") -> Notice:
    log = kit.tmp / f"{client}_alt_mig.log"
    shutil.copy(WEB73_LOG, log)
    return notice(
        "phase_finished",
        client=client,
        log=str(log),
        phase=7,
        phase_name="Post-migration script",
        line=4396,
        status=status,
    )


def test_post_migration_check_passes_on_the_clean_sample_log(kit: Kit, examples: dict[str, HookSpec]) -> None:
    results = _run(kit, list(examples.values()), _phase7(kit, "web73"))
    assert set(results) == {"post-migration-check"}
    result = results["post-migration-check"]
    assert result["exit_status"] == 0, result["output_tail"]
    report = (kit.tmp / "checks" / "web73.post_migration.txt").read_text()
    assert "level: 7300-02\ninstall_all_updates: SUCCESS\n" in report and report.endswith("RESULT: OK\n")
    assert result["output_tail"] == report
    (lsnim,) = _by_command(kit)["lsnim"]
    assert lsnim["argv"][1:] == ["-l", "web73"]


def test_post_migration_check_fails_on_the_wrong_level(kit: Kit, examples: dict[str, HookSpec]) -> None:
    hook = examples["post-migration-check"]
    hook = replace(hook, env={**hook.env, "CHECK_EXPECT_LEVEL": "7200-05"})
    result = _run(kit, [hook], _phase7(kit, "web73"))["post-migration-check"]
    assert result["exit_status"] == 1
    assert "CHECK FAILED: expected level 7200-05" in result["output_tail"]


def test_post_migration_check_skips_a_failed_phase_7(kit: Kit, examples: dict[str, HookSpec]) -> None:
    result = _run(kit, [examples["post-migration-check"]], _phase7(kit, "web73", status="failed"))[
        "post-migration-check"
    ]
    assert result["exit_status"] == 0 and "did not complete" in result["output_tail"]


def test_post_migration_check_keeps_a_strange_client_name_inside_its_report_dir(
    kit: Kit, examples: dict[str, HookSpec]
) -> None:
    result = _run(kit, [examples["post-migration-check"]], _phase7(kit, "..;$(id)"))["post-migration-check"]
    assert result["exit_status"] == 0, result["output_tail"]
    assert [p.name for p in (kit.tmp / "checks").iterdir()] == ["..___id_.post_migration.txt"]
    assert "lsnim" not in _by_command(kit)  # not a NIM object name: not asked about


def test_note_errors_fills_its_placeholders(kit: Kit, examples: dict[str, HookSpec]) -> None:
    finding = notice(
        "finding",
        client="fail6inst",
        phase=6,
        rule="installp-fs-no-space",
        code="0503-008",
        severity="error",
        text="0503-008 installp:  There is not enough free disk space in filesystem",
        line=1403,
    )
    warning = replace(finding, fields={**finding.fields, "severity": "warning"})
    results = _run(kit, list(examples.values()), finding, warning)
    assert set(results) == {"note-errors"}
    (logger,) = _by_command(kit)["logger"]
    assert logger["argv"][1:] == [
        "-t",
        "nimwatch",
        "-p",
        "user.err",
        "fail6inst phase 6 0503-008: rule installp-fs-no-space, log line 1403",
    ]
