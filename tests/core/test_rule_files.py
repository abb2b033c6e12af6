"""Rule files: the built-in ones load; a bad user file names file, line and key (and the nearest valid key)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import ROOT

from nimwatch.core.rules import build_phase_model
from nimwatch.errors import ConfigError, RuleError
from nimwatch.rulefiles import load_rules, load_signature_file
from nimwatch.yamlfile import load_yaml, parse_yaml

BAD = Path(__file__).parent / "bad_rules"

CASES = {
    "typo_key.yaml": ("typo_key.yaml:4", "severty", "did you mean 'severity'?"),
    "bad_regex.yaml": ("bad_regex.yaml:3", "pattern", "bad regular expression"),
    "bad_severity.yaml": ("bad_severity.yaml:4", "severity", "did you mean 'error'?"),
    "example_mismatch.yaml": ("example_mismatch.yaml:", "examples", "does not match"),
    "duplicate_id.yaml": ("duplicate_id.yaml:7", "id", "duplicate id (first at line 2)"),
    "bad_phase.yaml": ("bad_phase.yaml:4", "phases", "13 is not a phase"),
    "not_yaml.yaml": ("not_yaml.yaml:", "", "not valid YAML"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_rule_file_message(name: str) -> None:
    where, key, what = CASES[name]
    with pytest.raises(ConfigError) as err:
        load_signature_file(BAD / name)
    message = str(err.value)
    assert where in message
    assert key in message
    assert what in message


def test_all_problems_are_listed_at_once() -> None:
    with pytest.raises(RuleError) as err:
        load_signature_file(BAD / "example_mismatch.yaml")
    assert len(err.value.problems) == 2  # the example that misses and the near miss that matches


def test_builtin_phase_model_loads_with_12_phases() -> None:
    rules = load_rules()
    assert [p.number for p in rules.model.phases] == list(range(1, 13))
    assert {v.id for v in rules.model.variants} >= {
        "cache",
        "nfs",
        "mksysb",
        "mksysb_output",
        "wakeup",
        "sleep",
        "update",
    }
    heavy = sorted(rules.model.phases, key=lambda p: p.weight, reverse=True)[:3]
    assert {p.number for p in heavy} == {3, 6, 9}
    assert all(p.summary and p.runs_on for p in rules.model.phases)


def test_phase_model_validation_names_the_key() -> None:
    text = (
        (ROOT / "phases" / "nimadm.yaml")
        .read_text(encoding="utf-8")
        .replace("stall_minutes: 90", "stall_minute: 90", 1)
    )
    with pytest.raises(ConfigError) as err:
        build_phase_model(parse_yaml(text, "nimadm.yaml"), "nimadm.yaml")
    assert "stall_minute: unknown key (did you mean 'stall_minutes'?)" in str(err.value)


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    evil = tmp_path / "evil.yaml"
    evil.write_text("signatures: !!python/object/apply:os.system ['touch pwned']\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_yaml(evil)
    assert not (tmp_path / "pwned").exists()
