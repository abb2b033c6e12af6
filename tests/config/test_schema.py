"""The JSON Schema of the config file (share/nimwatch-config.schema.json), as an editor would use it.

Every example config (examples/, and every ``yaml`` block of the README and
docs/ that is a nimwatch config) validates against it with the ``jsonschema``
package; mistakes the validator rejects, the schema rejects too. The shipped
file being current is checked with the man page (test_generated_docs.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import nimwatch.trust
from nimwatch.config import check_config
from nimwatch.config.json_schema import schema

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "share" / "nimwatch-config.schema.json"
VALIDATOR = jsonschema.Draft7Validator(json.loads(SHIPPED.read_text()))


def as_editor_reads(data: Any) -> Any:
    """YAML as JSON, the way an editor (YAML 1.2) reads it: a bare ``on:`` key is "on", not true."""
    if isinstance(data, dict):
        return {("on" if k is True else str(k)): as_editor_reads(v) for k, v in data.items()}
    if isinstance(data, list):
        return [as_editor_reads(v) for v in data]
    return data


def examples() -> dict[str, str]:
    keys = set(schema()["properties"])
    out: dict[str, str] = {}
    for path in sorted((ROOT / "examples").rglob("*.y*ml")):
        text = path.read_text()
        if set(yaml.safe_load(text) or {}) & keys:
            out[str(path.relative_to(ROOT))] = text
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for n, block in enumerate(re.findall(r"^```yaml\n(.*?)^```", doc.read_text(), re.M | re.S)):
            data = yaml.safe_load(block)
            if isinstance(data, dict) and set(data) & keys:
                out[f"{doc.relative_to(ROOT)} block {n + 1}"] = block
    return out


EXAMPLES = examples()


def test_the_shipped_schema_is_the_generated_one_and_a_valid_draft_07_schema() -> None:
    shipped = json.loads(SHIPPED.read_text())
    assert shipped == schema()
    jsonschema.Draft7Validator.check_schema(shipped)


def test_the_build_renders_it_with_the_standard_library_only() -> None:
    """setup.py regenerates share/ in pip's build environment, where PyYAML, watchdog and Textual are not installed."""
    blocked = "import sys; sys.modules.update(dict.fromkeys(['yaml', 'watchdog', 'textual', 'rich']))"
    code = f"{blocked}; from nimwatch.gendocs import render_all; print(len(render_all()))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_examples_are_found() -> None:
    assert "examples/hooks/nimwatch.yaml" in EXAMPLES
    assert sum(name.startswith("README.md") for name in EXAMPLES) >= 4, list(EXAMPLES)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_config_validates(name: str) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(as_editor_reads(yaml.safe_load(EXAMPLES[name])))]
    assert errors == []


BAD = {
    "poll: fast\n": "poll",
    "hoks: []\n": "hoks",
    "stall:\n  phases: {13: 5}\n": "phases",
    "limits: {findings_per_rule: 0}\n": "findings_per_rule",
    "metrics: {listen: nowhere}\n": "listen",
    "alerts:\n  - type: webhok\n    url: http://x\n": "type",
    "alerts:\n  - type: webhook\n    url: http://x\n    thrrottle: 5\n": "thrrottle",
    "alerts:\n  - type: webhook\n    url: http://x\n    labels: {team: aix}\n": "labels",
    "alerts:\n  - type: email\n    host: h\n    from: a@b\n": "to",
    "alerts:\n  - type: syslog\n    socket: /dev/log\n    facility: locl0\n": "facility",
    "alerts:\n  - type: webhook\n    url: http://x\n    severity: fatal\n": "severity",
    "hooks:\n  - name: a\n    on: [run_faild]\n    run: [/bin/sh]\n": "run_faild",
    "hooks:\n  - name: a\n    on: [run_failed]\n    run: mail -s failed root\n": "run",
    "hooks:\n  - name: a\n    on: [finding]\n    codes: [505-126]\n    run: [/bin/sh]\n": "codes",
    "hooks:\n  - name: a\n    on: [run_failed]\n    run: [/bin/sh]\n    env: {NIMWATCH_CLIENT: x}\n": "NIMWATCH_CLIENT",
    "hooks:\n  - name: a\n    on: [run_failed]\n    run: [/bin/sh]\n    retries: 11\n": "retries",
    "hooks:\n  - name: a\n    on: [run_failed]\n    run: [/bin/sh]\n    timeout: 60s\n": "timeout",
    "hooks:\n  - on: [run_failed]\n    run: [/bin/sh]\n": "name",
}


@pytest.mark.parametrize("text", list(BAD))
def test_what_the_validator_rejects_the_schema_rejects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(nimwatch.trust, "running_as_root", lambda: False)
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text(text)
    problems = check_config(cfg)
    assert problems and all(f"{cfg}:" in p for p in problems)
    errors = list(VALIDATOR.iter_errors(as_editor_reads(yaml.safe_load(text))))
    assert errors, f"the schema accepts what check-config rejects: {problems}"
    assert any(BAD[text] in (json.dumps(list(e.absolute_path)) + e.message + str(e.context)) for e in errors), errors
