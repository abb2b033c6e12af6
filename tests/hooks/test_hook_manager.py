"""HookManager with real subprocesses: what a hook receives, when it fires, overlap, timeouts, restarts."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimwatch.engine import Notice
from nimwatch.hooks.manager import (
    MemoryOnceStore,
    fill_argv,
    matched_event,
    placeholder_values,
)
from nimwatch.sources.files import client_from_path

from .hookkit import Kit, group_writable, notice, pid_alive, wait_for, write_script

ALL_PLACEHOLDERS = (
    "{client}",
    "{phase}",
    "{phase_name}",
    "{event}",
    "{code}",
    "{rule}",
    "{severity}",
    "{log}",
    "{line}",
    "{outcome}",
)

FINDING = notice(
    "finding",
    client="fail6inst",
    phase=6,
    phase_name="Installing software",
    rule="installp-fs-no-space",
    code="0503-008",
    severity="error",
    fails_run=True,
    title="Not enough space",
    text="0503-008 installp:  There is not enough free disk space in filesystem",
    explanation="...",
    advice="chfs -a size=+1G /usr",
    line=1403,
    context=["a", "b"],
)
FAILED = notice(
    "run_finished",
    client="fail6inst",
    phase=6,
    phase_name="Installing software",
    line=2078,
    outcome="failed",
    failed_phase=6,
    reason="nimadm aborted and cleaned up",
)
SUCCEEDED = notice(
    "run_finished", phase=12, phase_name="Cleanup", line=4481, outcome="succeeded", failed_phase=None, reason=""
)
PHASE4 = notice("phase_started", phase=4, phase_name="Pre-migration script", line=62)
PHASE7_DONE = notice("phase_finished", phase=7, phase_name="Post-migration script", line=4396, status="done")

# (name in `on`, the notice, NIMWATCH_* expected beyond client/log/event/phase)
EVENT_CASES: list[tuple[str, Notice, dict[str, str]]] = [
    (
        "run_started",
        notice("run_started", line=1, mid_run=False),
        {"NIMWATCH_LINE": "1", "NIMWATCH_MESSAGE": "web73: migration started"},
    ),
    (
        "phase_started",
        PHASE4,
        {"NIMWATCH_LINE": "62", "NIMWATCH_MESSAGE": "web73: phase 4 (Pre-migration script) started"},
    ),
    ("pre_migration", PHASE4, {"NIMWATCH_LINE": "62"}),
    (
        "phase_finished",
        PHASE7_DONE,
        {"NIMWATCH_STATUS": "done", "NIMWATCH_MESSAGE": "web73: phase 7 (Post-migration script) done"},
    ),
    ("post_migration", PHASE7_DONE, {"NIMWATCH_STATUS": "done"}),
    (
        "finding",
        FINDING,
        {
            "NIMWATCH_CODE": "0503-008",
            "NIMWATCH_RULE": "installp-fs-no-space",
            "NIMWATCH_SEVERITY": "error",
            "NIMWATCH_LINE": "1403",
            "NIMWATCH_MESSAGE": "fail6inst: error 0503-008 in phase 6 (Installing software): Not enough space",
            "NIMWATCH_TEXT": "0503-008 installp:  There is not enough free disk space in filesystem",
        },
    ),
    (
        "stalled",
        notice("stalled", phase=6, phase_name="Installing software", silent_minutes=45, threshold_minutes=30),
        {"NIMWATCH_MESSAGE": "web73: phase 6 (Installing software) stalled: no new line for 45 min (threshold 30 min)"},
    ),
    (
        "run_finished",
        SUCCEEDED,
        {"NIMWATCH_OUTCOME": "succeeded", "NIMWATCH_LINE": "4481", "NIMWATCH_MESSAGE": "web73: migration succeeded"},
    ),
    ("run_succeeded", SUCCEEDED, {"NIMWATCH_OUTCOME": "succeeded"}),
    (
        "run_failed",
        FAILED,
        {
            "NIMWATCH_OUTCOME": "failed",
            "NIMWATCH_MESSAGE": "fail6inst: migration failed in phase 6 (Installing software): nimadm aborted and cleaned up",
        },
    ),
]

NIMWATCH_VARS = (
    "NIMWATCH_EVENT",
    "NIMWATCH_CLIENT",
    "NIMWATCH_PHASE",
    "NIMWATCH_PHASE_NAME",
    "NIMWATCH_LOG",
    "NIMWATCH_CODE",
    "NIMWATCH_RULE",
    "NIMWATCH_SEVERITY",
    "NIMWATCH_MESSAGE",
    "NIMWATCH_TEXT",
    "NIMWATCH_LINE",
    "NIMWATCH_OUTCOME",
)


def _value(v: Any) -> str:
    return "" if v is None else str(v)


@pytest.mark.parametrize(("on", "event", "extra"), EVENT_CASES, ids=[c[0] for c in EVENT_CASES])
def test_env_argv_and_stdin_for_each_event_kind(
    kit: Kit, on: str, event: Notice, extra: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NIMWATCH_TEST_SECRET", "must not leak")
    hook = kit.spec("h", on=(on,), run=(str(kit.recorder), *ALL_PLACEHOLDERS), env={"TEAM": "aix"})
    m = kit.manager([hook])
    m.handle(event)
    assert m.wait_idle(30)
    (record,) = kit.records()
    assert record["argv"][1:] == [
        event.client,
        _value(event.phase),
        _value(event.phase_name),
        event.event,
        _value(event.get("code")),
        _value(event.get("rule")),
        _value(event.get("severity")),
        event.log,
        _value(event.get("line")),
        _value(event.get("outcome")),
    ]
    env = record["env"]
    for var in NIMWATCH_VARS:
        assert var in env, var  # always set, empty when it does not apply
    assert env["NIMWATCH_EVENT"] == event.event
    assert env["NIMWATCH_ON"] == on
    assert env["NIMWATCH_HOOK"] == "h"
    assert env["NIMWATCH_CLIENT"] == event.client
    assert env["NIMWATCH_LOG"] == event.log
    assert env["NIMWATCH_PHASE"] == _value(event.phase)
    assert env["NIMWATCH_PHASE_NAME"] == _value(event.phase_name)
    assert env["NIMWATCH_RUN"] == "1"
    for key, value in extra.items():
        assert env[key] == value, key
    if event.event != "finding":
        assert env["NIMWATCH_CODE"] == env["NIMWATCH_RULE"] == env["NIMWATCH_SEVERITY"] == ""
    if event.event != "run_finished":
        assert env["NIMWATCH_OUTCOME"] == ""
    assert env["TEAM"] == "aix" and env["PATH"] and "HOME" in env and "LANG" in env
    assert "NIMWATCH_TEST_SECRET" not in env
    allowed = {"PATH", "HOME", "LANG", "TZ", "TEAM", "RECORD_DIR"}
    leaked = {k for k in env if not k.startswith("NIMWATCH_") and k not in allowed}
    # the interpreter running the recorder may add a few of its own (LC_CTYPE on some systems)
    assert leaked <= {"LC_CTYPE", "PWD", "SHLVL", "_"}, leaked
    assert json.loads(record["stdin"]) == json.loads(json.dumps(event.as_json()))
    (result,) = kit.results()
    assert result.event == "hook_result"
    assert (result.log, result.client, result.run, result.phase) == (event.log, event.client, event.run, event.phase)
    assert result.fields["hook"] == "h" and result.fields["exit_status"] == 0
    assert result.fields["timed_out"] is False and result.fields["error"] is None
    assert result.fields["trigger"] == event.event and result.fields["on"] == on
    assert isinstance(result.fields["duration"], float) and isinstance(result.fields["output_tail"], str)
    for key, value in event.fields.items():  # the triggering event's fields travel with the result
        assert result.fields[key] == value
    json.dumps(result.as_json())


@pytest.mark.parametrize(
    ("on", "fires", "quiet"),
    [
        ("pre_migration", [PHASE4], [replace(PHASE4, phase=5), PHASE7_DONE, notice("phase_finished", phase=4)]),
        (
            "post_migration",
            [PHASE7_DONE, replace(PHASE7_DONE, fields={"status": "failed", "line": 9})],
            [notice("phase_started", phase=7), notice("phase_finished", phase=6), PHASE4],
        ),
        ("run_failed", [FAILED], [SUCCEEDED, notice("run_finished", outcome="incomplete")]),
        ("run_succeeded", [SUCCEEDED], [FAILED, notice("run_finished", outcome="incomplete")]),
        ("run_finished", [SUCCEEDED, FAILED, notice("run_finished", outcome="incomplete")], [PHASE4]),
        ("finding", [FINDING], [FAILED, notice("hook_result", hook="x"), notice("alert_failed")]),
    ],
)
def test_which_notices_an_event_name_matches(on: str, fires: list[Notice], quiet: list[Notice], kit: Kit) -> None:
    hook = kit.spec(on=(on,))
    assert [matched_event(hook, n) for n in fires] == [on] * len(fires)
    assert [matched_event(hook, n) for n in quiet] == [None] * len(quiet)


def test_the_most_specific_event_name_is_reported(kit: Kit) -> None:
    hook = kit.spec(on=("run_finished", "phase_started", "run_failed", "pre_migration"))
    assert matched_event(hook, FAILED) == "run_failed"
    assert matched_event(hook, SUCCEEDED) == "run_finished"
    assert matched_event(hook, PHASE4) == "pre_migration"
    assert matched_event(hook, notice("phase_started", phase=5)) == "phase_started"


def test_filters(kit: Kit) -> None:
    spec = kit.spec
    assert matched_event(spec(on=("phase_started",), phases=frozenset({4, 7})), PHASE4)
    assert not matched_event(spec(on=("phase_started",), phases=frozenset({5})), PHASE4)
    assert not matched_event(spec(on=("run_started",), phases=frozenset({5})), notice("run_started"))
    assert matched_event(spec(on=("run_failed",), phases=frozenset({6})), FAILED)  # the phase it failed in
    web = spec(on=("run_finished",), clients=("web*", "sap[0-9]*"))
    assert matched_event(web, SUCCEEDED)  # web73
    assert matched_event(web, replace(SUCCEEDED, client="sap1"))
    assert not matched_event(web, replace(SUCCEEDED, client="sapx"))
    assert not matched_event(web, replace(SUCCEEDED, client="WEB73"))  # case-sensitive everywhere
    warn = spec(on=("finding",), severity="warning")
    assert matched_event(warn, FINDING)
    assert matched_event(warn, replace(FINDING, fields={**FINDING.fields, "severity": "warning"}))
    assert not matched_event(warn, replace(FINDING, fields={**FINDING.fields, "severity": "info"}))
    error_only = spec(on=("finding", "run_failed"), severity="error")
    assert matched_event(error_only, FAILED)  # finding filters leave other events alone
    assert matched_event(spec(on=("finding",), codes=frozenset({"0503-008"})), FINDING)
    assert not matched_event(spec(on=("finding",), codes=frozenset({"0505-126"})), FINDING)
    assert matched_event(spec(on=("finding",), rules=frozenset({"installp-fs-no-space"})), FINDING)
    assert not matched_event(spec(on=("finding",), rules=frozenset({"other"})), FINDING)


METACHAR_CLIENTS = [
    "a;b$(touch pwned)'\"",
    "`touch pwned`&&touch pwned|x>y<z",
    "-rf --help",
    "x{phase}{log}{client}",
    "sp ace\ttab\nnewline*?[",
]


@pytest.mark.parametrize("name", METACHAR_CLIENTS, ids=range(len(METACHAR_CLIENTS)))
def test_shell_metacharacters_in_a_client_name_arrive_verbatim_and_run_nothing(kit: Kit, name: str) -> None:
    logdir = kit.tmp / "logs"
    logdir.mkdir()
    log = logdir / f"{name}_alt_mig.log"
    log.write_text("")
    client = client_from_path(log)
    assert client == name
    echo = write_script(kit.tmp / "echo.sh", '#!/bin/sh\nprintf "%s" "$NIMWATCH_CLIENT" > "$OUT"\n')
    hooks = [
        kit.spec(
            "rec",
            on=("run_failed",),
            run=(str(kit.recorder), "{client}", "--log={log}", "<{client}>"),
            cwd=str(kit.tmp),
        ),
        kit.spec("sh", on=("run_failed",), run=(str(echo),), env={"OUT": str(kit.tmp / "sh.out")}, cwd=str(kit.tmp)),
    ]
    m = kit.manager(hooks)
    m.handle(replace(FAILED, client=client, log=str(log)))
    assert m.wait_idle(30)
    (record,) = kit.records()
    assert record["argv"][1:] == [name, f"--log={log}", f"<{name}>"]
    assert record["env"]["NIMWATCH_CLIENT"] == name
    assert record["env"]["NIMWATCH_LOG"] == str(log)
    assert json.loads(record["stdin"])["client"] == name
    assert (kit.tmp / "sh.out").read_text() == name
    assert all(r.fields["exit_status"] == 0 for r in kit.results())
    assert not (kit.tmp / "pwned").exists() and not Path("pwned").exists()
    assert not list(kit.tmp.rglob("pwned"))


@given(st.text(), st.text())
def test_placeholders_are_filled_in_one_pass(client: str, phase_name: str) -> None:
    values = placeholder_values(
        notice("phase_started", client=client.replace("\0", ""), phase=4, phase_name=phase_name.replace("\0", ""))
    )
    filled = fill_argv(["{client}", "a{client}b{phase}", "{phase_name}", "{unknown}", "{{client}}"], values)
    c, p = values["client"], values["phase_name"]
    assert filled == [c, f"a{c}b4", p, "{unknown}", "{" + c + "}"]


def test_a_timeout_kills_the_hook_and_its_children(kit: Kit) -> None:
    script = write_script(
        kit.tmp / "slow.sh",
        f"#!/bin/sh\nsleep 300 & echo $! > {kit.tmp}/child.pid\necho $$ > {kit.tmp}/hook.pid\necho waiting\nwait\n",
    )
    m = kit.manager([kit.spec("slow", on=("run_failed",), run=(str(script),), timeout=1)])
    m.handle(FAILED)
    assert m.wait_idle(30)
    (result,) = kit.results()
    assert result.fields["timed_out"] is True
    assert "timed out after 1 s" in result.fields["error"]
    assert result.fields["output_tail"] == "waiting\n"
    for pidfile in ("hook.pid", "child.pid"):
        pid = int((kit.tmp / pidfile).read_text())
        wait_for(lambda pid=pid: not pid_alive(pid), what=f"{pidfile} process gone")  # type: ignore[misc]


GATED = """#!{python}
import os, sys, time
tag = os.environ["NIMWATCH_LINE"]
def note(text):
    with open(os.environ["EVENTS"], "a") as handle:
        handle.write(text + "\\n")
note("start " + tag)
while not os.path.exists(os.environ["GATE"]):
    time.sleep(0.01)
note("end " + tag)
"""


def _gated(kit: Kit, name: str, overlap: str) -> Any:
    script = write_script(kit.tmp / f"gated-{name}.py", GATED.format(python=sys.executable))
    events = kit.tmp / f"{name}.events"
    return kit.spec(
        name,
        on=("finding",),
        run=(str(script),),
        overlap=overlap,
        env={"EVENTS": str(events), "GATE": str(kit.tmp / "gate")},
        timeout=60,
    ), events


def _findings(*lines: int) -> list[Notice]:
    return [replace(FINDING, fields={**FINDING.fields, "line": n}) for n in lines]


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_overlap_queue_runs_every_event_one_after_another(kit: Kit) -> None:
    hook, events = _gated(kit, "q", "queue")
    m = kit.manager([hook])
    first, *rest = _findings(1, 2, 3)
    m.handle(first)
    wait_for(lambda: _lines(events) == ["start 1"], what="first run started")
    for n in rest:
        m.handle(n)  # returns at once although the hook is busy
    assert not m.wait_idle(0)
    (kit.tmp / "gate").touch()
    assert m.wait_idle(60)
    assert _lines(events) == ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]
    results = kit.results()
    assert [r.fields["line"] for r in results] == [1, 2, 3]
    assert all(r.fields["exit_status"] == 0 and not r.fields["skipped"] for r in results)


def test_overlap_skip_drops_events_while_the_hook_runs(kit: Kit) -> None:
    hook, events = _gated(kit, "s", "skip")
    m = kit.manager([hook])
    first, second, third, fourth = _findings(1, 2, 3, 4)
    m.handle(first)
    wait_for(lambda: _lines(events) == ["start 1"], what="first run started")
    m.handle(second)
    m.handle(third)
    skipped = kit.results()  # reported at once, as hook_result notices
    assert [(r.fields["line"], r.fields["skipped"]) for r in skipped] == [(2, True), (3, True)]
    assert all("overlap: skip" in r.fields["error"] and r.fields["exit_status"] is None for r in skipped)
    (kit.tmp / "gate").touch()
    assert m.wait_idle(60)
    m.handle(fourth)  # not running any more: this one runs
    assert m.wait_idle(60)
    assert _lines(events) == ["start 1", "end 1", "start 4", "end 4"]
    ran = [r for r in kit.results() if not r.fields["skipped"]]
    assert [r.fields["line"] for r in ran] == [1, 4]


def test_different_hooks_run_side_by_side(kit: Kit) -> None:
    one, events_one = _gated(kit, "one", "queue")
    two, events_two = _gated(kit, "two", "queue")
    m = kit.manager([one, two])
    m.handle(FINDING)
    wait_for(lambda: _lines(events_one) == _lines(events_two) == ["start 1403"], what="both hooks running")
    (kit.tmp / "gate").touch()
    assert m.wait_idle(60)
    assert len(kit.results()) == 2


def test_handle_never_waits_for_a_hook(kit: Kit) -> None:
    hook, events = _gated(kit, "slow", "queue")
    m = kit.manager([replace(hook, timeout=20)])
    m.handle(FINDING)
    # If handle() had run the hook itself, it would only have returned after the hook's 20 s timeout,
    # with the run finished and its result published.
    assert kit.results() == [] and not m.wait_idle(0)
    wait_for(lambda: _lines(events) == ["start 1403"], what="hook started")
    (kit.tmp / "gate").touch()
    assert m.wait_idle(60)


class SqliteOnceStore:
    """A tiny durable once-store, as the state journal implements it."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("CREATE TABLE IF NOT EXISTS once (kind TEXT, key TEXT, PRIMARY KEY (kind, key))")

    def mark_once(self, kind: str, key: str) -> bool:
        cur = self.db.execute("INSERT OR IGNORE INTO once (kind, key) VALUES (?, ?)", (kind, key))
        return cur.rowcount == 1

    def close(self) -> None:
        self.db.close()


class _JournalStore:
    """The watcher's real state journal (nimwatch.journal) as a once-store that can be closed."""

    def __init__(self, path: Path) -> None:
        from nimwatch.journal import Journal

        self.journal = Journal.open(path)

    def mark_once(self, kind: str, key: str) -> bool:
        return self.journal.mark_once(kind, key)

    def close(self) -> None:
        self.journal.close()


def _has_journal() -> bool:
    import importlib.util

    return importlib.util.find_spec("nimwatch.journal") is not None


@pytest.mark.parametrize(
    "store_type",
    [
        SqliteOnceStore,
        pytest.param(
            _JournalStore,
            marks=pytest.mark.skipif(not _has_journal(), reason="nimwatch.journal (the state journal) not there yet"),
        ),
    ],
    ids=["sqlite", "journal"],
)
def test_a_restart_does_not_fire_a_hook_again(kit: Kit, store_type: Any) -> None:
    events = [PHASE4, FINDING, FAILED]
    hooks = [kit.spec("any", on=("pre_migration", "finding", "run_failed"))]
    first = store_type(kit.tmp / "state.db")
    m1 = kit.manager(hooks, first)
    for n in events:
        m1.handle(n)
    assert m1.wait_idle(30)
    assert m1.stop()
    first.close()
    assert len(kit.records()) == 3
    # a new watcher process: new manager, new connection to the same journal, the same log read again
    second = store_type(kit.tmp / "state.db")
    m2 = kit.manager(hooks, second)
    for n in events:
        m2.handle(n)
    assert m2.wait_idle(30)
    assert len(kit.records()) == 3
    m2.handle(replace(FAILED, run=2))  # a new run in the same log does fire
    assert m2.wait_idle(30)
    assert len(kit.records()) == 4
    m2.stop()
    second.close()


def test_a_restart_with_a_shared_memory_store(kit: Kit) -> None:
    store = MemoryOnceStore()
    hooks = [kit.spec("any", on=("run_failed",))]
    for _ in range(2):
        m = kit.manager(hooks, store)
        m.handle(FAILED)
        m.handle(FAILED)  # the same event twice in one process
        assert m.wait_idle(30)
        m.stop()
    assert len(kit.records()) == 1


def test_once_per_run(kit: Kit) -> None:
    hook = kit.spec("first-only", on=("phase_started", "phase_finished"), once_per_run=True)
    m = kit.manager([hook])
    for n in (PHASE4, notice("phase_started", phase=5, line=66), PHASE7_DONE):
        m.handle(n)
    m.handle(replace(PHASE4, run=2))
    m.handle(replace(PHASE4, log="/var/adm/ras/alt_mig/other_alt_mig.log", client="other"))
    assert m.wait_idle(30)
    assert sorted((r["env"]["NIMWATCH_CLIENT"], r["env"]["NIMWATCH_RUN"]) for r in kit.records()) == [
        ("other", "1"),
        ("web73", "1"),
        ("web73", "2"),
    ]


def test_a_failing_or_missing_hook_is_a_result_not_an_exception(kit: Kit) -> None:
    failing = write_script(kit.tmp / "fail.sh", "#!/bin/sh\necho 'cannot reach pager' >&2\nexit 7\n")
    hooks = [
        kit.spec("fails", on=("run_failed",), run=(str(failing),)),
        kit.spec("missing", on=("run_failed",), run=("no-such-hook-command",)),
        kit.spec("bad-cwd", on=("run_failed",), cwd=str(kit.tmp / "gone")),
    ]
    m = kit.manager(hooks)
    m.handle(FAILED)
    assert m.wait_idle(30)
    by_hook = {r.fields["hook"]: r.fields for r in kit.results()}
    assert by_hook["fails"]["exit_status"] == 7 and by_hook["fails"]["output_tail"] == "cannot reach pager\n"
    assert by_hook["missing"]["exit_status"] is None and "not found in PATH" in by_hook["missing"]["error"]
    assert by_hook["bad-cwd"]["exit_status"] is None and "working directory" in by_hook["bad-cwd"]["error"]


def test_as_root_a_hook_made_writable_after_start_is_refused(kit: Kit, as_root: None) -> None:
    m = kit.manager([kit.spec("rec", on=("run_failed",))])
    group_writable(kit.recorder)
    m.handle(FAILED)
    assert m.wait_idle(30)
    (result,) = kit.results()
    assert result.fields["exit_status"] is None
    assert f"group can write the file {kit.recorder}" in result.fields["error"]
    assert kit.records() == []


def test_hook_env_overrides_path_for_the_lookup(kit: Kit) -> None:
    bindir = kit.tmp / "bin"
    bindir.mkdir()
    os.symlink(kit.recorder, bindir / "site-hook")
    m = kit.manager(
        [kit.spec("rec", on=("run_failed",), run=("site-hook", "x"), env={"PATH": f"{bindir}:/usr/bin:/bin"})]
    )
    m.handle(FAILED)
    assert m.wait_idle(30)
    (record,) = kit.records()
    assert record["argv"][0] == str(bindir / "site-hook") and record["argv"][1:] == ["x"]
    assert record["env"]["PATH"].startswith(str(bindir))


def test_stop_drops_queued_runs_and_reports_them(kit: Kit) -> None:
    hook, events = _gated(kit, "q", "queue")
    m = kit.manager([hook])
    first, second = _findings(1, 2)
    m.handle(first)
    wait_for(lambda: _lines(events) == ["start 1"], what="first run started")
    m.handle(second)
    done = threading.Event()
    stopped: list[Optional[bool]] = [None]

    def stop() -> None:
        stopped[0] = m.stop()
        done.set()

    threading.Thread(target=stop, name="test-stop").start()
    wait_for(lambda: any(r.fields.get("line") == 2 for r in kit.results()), what="dropped run reported")
    (kit.tmp / "gate").touch()
    assert done.wait(60) and stopped[0] is True
    by_line = {r.fields["line"]: r.fields for r in kit.results()}
    assert by_line[1]["exit_status"] == 0
    assert by_line[2]["skipped"] is True and "stopped" in by_line[2]["error"]
    m.handle(FINDING)  # after stop: ignored
    assert _lines(events) == ["start 1", "end 1"] and len(kit.results()) == 2


def test_a_failing_hook_is_reported_and_retried_with_backoff(kit: Kit) -> None:
    counter = kit.tmp / "attempts"
    script = write_script(
        kit.tmp / "flaky.sh",
        f"#!/bin/sh\necho x >> {counter}\n[ $(wc -l < {counter}) -ge 3 ] && exit 0\necho 'pager down' >&2\nexit 7\n",
    )
    m = kit.manager([kit.spec("flaky", on=("run_failed",), run=(str(script),), retries=3, retry_delay=0.01)])
    m.handle(FAILED)
    assert m.wait_idle(30)
    results = kit.results()
    assert [r.get("attempt") for r in results] == [1, 2, 3]
    assert [r.get("exit_status") for r in results] == [7, 7, 0]
    assert [r.get("will_retry") for r in results] == [True, True, False]
    assert "pager down" in results[0].get("output_tail")
    assert counter.read_text().count("x") == 3


def test_retries_stop_when_they_run_out_and_when_nimwatch_stops(kit: Kit) -> None:
    script = write_script(kit.tmp / "down.sh", "#!/bin/sh\nexit 1\n")
    m = kit.manager([kit.spec("down", on=("run_failed",), run=(str(script),), retries=2, retry_delay=0.01)])
    m.handle(FAILED)
    assert m.wait_idle(30)
    assert [r.get("will_retry") for r in kit.results()] == [True, True, False]
    slow = kit.manager([kit.spec("down2", on=("run_failed",), run=(str(script),), retries=5, retry_delay=600)])
    slow.handle(FAILED)
    wait_for(lambda: any(r.get("hook") == "down2" for r in kit.results()), what="first attempt reported")
    assert slow.stop(timeout=10)  # does not sit out the 600 s delay
    assert [r.get("attempt") for r in kit.results() if r.get("hook") == "down2"] == [1]


def test_benign_findings_run_no_hook_unless_asked(kit: Kit) -> None:
    routine = replace(FINDING, fields={**FINDING.fields, "benign": True, "severity": "info", "rule": "src-fileset-script"})
    assert matched_event(kit.spec(on=("finding",)), FINDING) == "finding"
    assert matched_event(kit.spec(on=("finding",)), routine) is None
    assert matched_event(replace(kit.spec(on=("finding",)), benign=True), routine) == "finding"
    # naming the rule asks for it
    assert matched_event(replace(kit.spec(on=("finding",)), rules=frozenset({"src-fileset-script"})), routine) == "finding"


def test_run_succeeded_and_run_failed_mean_a_migration(kit: Kit) -> None:
    cleanup = replace(SUCCEEDED, fields={**SUCCEEDED.fields, "operation": "cleanup"})
    assert matched_event(kit.spec(on=("run_succeeded",)), cleanup) is None
    assert matched_event(kit.spec(on=("run_finished",)), cleanup) == "run_finished"
    migration = replace(SUCCEEDED, fields={**SUCCEEDED.fields, "operation": "migration"})
    assert matched_event(kit.spec(on=("run_succeeded",)), migration) == "run_succeeded"
    assert placeholder_values(cleanup)["operation"] == "cleanup"
