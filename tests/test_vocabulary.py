"""Every event kind is declared once (nimwatch.vocabulary) and reaches each output from there.

A kind added to the vocabulary shows up, with no other change, in the ``watch``
JSON lines (and the alert ``events:`` choices), the alert payloads (severity and
summary from its declaration), the hooks (``on:`` accepts it, the environment
carries it) and the TUI's lists; the README's JSON-lines table documents every
public kind with the fields it declares. Also: no event name is written as a
bare string outside the vocabulary.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, KeptSink

from nimwatch import vocabulary
from nimwatch.alerts.message import alert_body, template_values
from nimwatch.config.alerts import DEFAULT_EVENTS, SinkSpec
from nimwatch.config.hooks import EVENTS as HOOK_ON
from nimwatch.config.hooks import HookSpec
from nimwatch.hooks.payload import hook_env, matched_event, once_key
from nimwatch.output import json_line
from nimwatch.vocabulary import KINDS, PUBLIC_EVENTS, SEVERITIES, EventKey, Kind, Notice

ALL = list(KINDS.values())



def _notice(kind: Kind, **fields: Any) -> Notice:
    return Notice(kind.name, 1_700_000_000.0, "/var/adm/ras/alt_mig/web73_alt_mig.log", "web73", 1, 6, "Installing software",
                  {"line": 7, "severity": "warning", **fields})  # fmt: skip


@pytest.mark.parametrize("kind", ALL, ids=[k.name for k in ALL])
def test_every_kind_reaches_the_json_lines_and_the_alerts(kind: Kind) -> None:
    notice = _notice(kind)
    assert notice.kind is kind
    line = json.loads(json_line(notice, "k"))
    assert line["event"] == kind.name and line["schema"] == 1 and line["id"] == "k"
    assert (kind.name in PUBLIC_EVENTS) is kind.public, "public kinds are the watch contract and the alert choices"
    body = alert_body(notice, "k")
    assert body["severity"] in SEVERITIES and body["severity"] == kind.severity(notice)
    assert body["summary"] == kind.summary(notice, "web73", "phase 6 (Installing software)")
    assert body["summary"].startswith(("web73: ", "alerts through ")) and len(body["summary"].splitlines()) == 1
    assert template_values(notice, "k")["summary"] == body["summary"]
    if kind.public:
        spec = SinkSpec(name="s", type="command", events=(kind.name,), severity="info")
        assert KeptSink(spec).wants(notice), f"a sink listing {kind.name} takes it"


@pytest.mark.parametrize("kind", [k for k in ALL if k.hook], ids=lambda k: k.name)
def test_every_hook_kind_reaches_the_hooks(kind: Kind) -> None:
    notice = _notice(kind, text="the line", outcome="failed")
    assert kind.name in HOOK_ON, "hooks' on: accepts it"
    hook = HookSpec(name="h", on=(kind.name,), run=("/bin/true",))
    assert matched_event(hook, notice) == kind.name
    env = hook_env(hook, notice, kind.name)
    assert env["NIMWATCH_EVENT"] == kind.name
    assert env["NIMWATCH_MESSAGE"] == notice.summary() != ""  # the one text of the event
    key = EventKey("a|b|c", ("log", "1:2:0", "1"))
    assert json.loads(once_key(replace(hook, once_per_run=True), notice, key)) == ["run", "h", "log", "1:2:0", "1"]


def test_kinds_hooks_do_not_take_are_ignored_by_them() -> None:
    for kind in ALL:
        if not kind.hook:
            assert kind.name not in HOOK_ON
            assert matched_event(HookSpec(name="h", on=("finding",), run=("/bin/true",)), _notice(kind)) is None


def test_every_shown_kind_reaches_the_tui() -> None:
    pytest.importorskip("textual")
    from nimwatch.tui.bridge import NoticeBridge

    class Target:
        def post_message(self, message: object) -> bool:
            return True

    bridge = NoticeBridge(Target())  # type: ignore[arg-type]
    for kind in ALL:
        bridge(_notice(kind))
    kept, dirty = bridge.drain()
    assert [n.event for n in kept] == [k.name for k in ALL if k.shown]
    assert dirty == {"/var/adm/ras/alt_mig/web73_alt_mig.log"}


def test_the_readme_documents_every_public_kind_with_its_fields() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| event | extra keys |") :].split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (.*) \|$", table, re.M))
    for kind in ALL:
        if not kind.public:
            continue
        assert kind.name in rows, f"README's JSON-lines table has no row for {kind.name}"
        for name in re.findall(r"[a-z_]{3,}", kind.fields):
            if name not in {"and", "the", "eta", "keys", "trigger"}:
                assert f"`{name}`" in rows[kind.name] or name in rows[kind.name], (kind.name, name)
    envelope = readme[readme.index("| `schema` | `1`") :].split("\n\n", 1)[0]
    events_row = dict(re.findall(r"^\| `([a-z_]+)` \| (.*) \|$", envelope, re.M))["event"]
    assert all(f"`{name}`" in events_row for name in PUBLIC_EVENTS)


def test_derived_sets_follow_the_declarations() -> None:
    assert DEFAULT_EVENTS == ("finding", "stalled", "run_finished")
    assert vocabulary.HOOK_EVENTS == ("run_started", "phase_started", "phase_finished", "finding", "stalled", "run_finished")
    assert {k.name for k in ALL if k.public and not k.journaled} == {"hook_result", "alert_failed", "alert_recovered"}
    unknown = Notice("from_a_newer_version", 0.0, "/x", "c")
    assert not unknown.public and unknown.severity() == "info" and unknown.summary() == "c: from_a_newer_version"


def _bare_event_names(path: Path) -> list[str]:
    """String constants naming an event kind compared with or built into a notice's event."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "event":
            for right in node.comparators:
                consts = right.elts if isinstance(right, (ast.Tuple, ast.Set, ast.List)) else [right]
                found += [c.value for c in consts if isinstance(c, ast.Constant) and c.value in KINDS]
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in {"Notice", "make", "_make"}:
            found += [a.value for a in node.args if isinstance(a, ast.Constant) and a.value in KINDS]
    return found


def test_no_event_name_is_a_bare_string_outside_the_vocabulary() -> None:
    offenders = {}
    for path in sorted((ROOT / "nimwatch").rglob("*.py")):
        if path.name != "vocabulary.py" and (names := _bare_event_names(path)):
            offenders[str(path.relative_to(ROOT))] = names
    assert offenders == {}
