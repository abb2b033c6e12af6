"""phases/anchors.yaml: computed by `nimwatch anchors --update`, read back, and reported stale when the rules change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, SAMPLE_LOGS

from nimwatch import anchorfile
from nimwatch.cli import main
from nimwatch.core.anchors import choose_anchors
from nimwatch.core.rules import RuleSet, build_phase_model, merge_signatures
from nimwatch.errors import RuleError
from nimwatch.rulefiles import load_rules, load_signature_file
from nimwatch.yamlfile import load_yaml

SIGNATURE = """
  - id: site-thing
    pattern: 'SITE-9 something broke'
    severity: error
    explanation: x
    advice: y
"""


def rules_from(directory: Path) -> RuleSet:
    model = build_phase_model(load_yaml(directory / "nimadm.yaml"), "nimadm.yaml")
    return RuleSet(model, merge_signatures(load_signature_file(directory / "failures.yaml"), []))


def test_the_stored_file_is_valid_and_used() -> None:
    data, problem = anchorfile.load_anchor_data(ROOT / "phases")
    assert not problem and data.frequencies and data.stored
    plans = anchorfile.plans(load_rules())
    assert all(choose_anchors(plan, data).source in ("stored", "measured") for plan in plans.values())


def test_the_shipped_anchors_fit_the_shipped_catalog() -> None:
    """A catalog change must come with `nimwatch anchors --update` (stale anchors are exact but slower)."""
    path = ROOT / "phases" / "anchors.yaml"
    found = anchorfile.freshness(load_rules(), anchorfile.read_anchor_data(path), path)
    assert found.fresh, found.message
    assert "sample_logs/*_alt_mig.log" in found.message


def test_update_then_fresh_then_stale_after_a_catalog_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_dir = tmp_path / "phases"
    shutil.copytree(ROOT / "phases", rules_dir)
    out_file = rules_dir / "anchors.yaml"
    assert main(["anchors", "--update", "--output", str(out_file), str(SAMPLE_LOGS)]) == 0
    assert "wrote" in capsys.readouterr().out
    content = yaml.safe_load(out_file.read_text(encoding="utf-8"))
    assert set(content["phases"]) == set(range(13)) and content["catalog_hash"]
    data = anchorfile.read_anchor_data(out_file)
    rules = rules_from(rules_dir)
    assert anchorfile.freshness(rules, data, out_file).fresh
    catalog = rules_dir / "failures.yaml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + SIGNATURE, encoding="utf-8")
    changed = rules_from(rules_dir)
    found = anchorfile.freshness(changed, data, out_file)
    assert not found.fresh and "stale" in found.message and "nimwatch anchors --update" in found.message
    assert set(found.stale_keys) == set(range(13))
    # stale anchors are recomputed from the stored frequencies for the changed phases
    plan = anchorfile.plans(changed)[6]
    assert choose_anchors(plan, data).source == "measured"


def test_missing_file_is_reported_and_estimated(tmp_path: Path) -> None:
    data = anchorfile.read_anchor_data(tmp_path / "anchors.yaml")
    assert not data.frequencies
    found = anchorfile.freshness(load_rules(), data, tmp_path / "anchors.yaml")
    assert not found.fresh and "missing" in found.message


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ("[1, 2]", "(top)"),
        ("version: 9\nfrequencies: {}\n", "version"),
        ("version: 1\nfrequencies: {300: 1}\n", "frequencies"),
        ("version: 1\nfrequencies: {65: 1}\nphases: {0: {key: abc, anchors: [200]}}\n", "phases.0.anchors"),
        ("version: 1\nfrequencies: {65: 1}\nphases: {0: 5}\n", "phases.0"),
    ],
)
def test_a_bad_file_names_the_key_and_never_stops_a_scan(tmp_path: Path, content: str, key: str) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RuleError, match=key.replace("(", r"\(").replace(")", r"\)")):
        anchorfile.read_anchor_data(path)
    data, problem = anchorfile.load_anchor_data(tmp_path)
    assert problem and not data.frequencies


def test_anchors_command_lists_every_phase(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["anchors"]) == 0
    out = capsys.readouterr().out
    assert "before phase 1" in out and "phase 12" in out


def test_the_stored_anchors_fit_the_shipped_catalog() -> None:
    """A catalog or phase-model change needs `nimwatch anchors --update` (and phases/anchors.yaml committed)."""
    path = anchorfile.anchor_path(ROOT / "phases")
    found = anchorfile.freshness(load_rules(), anchorfile.read_anchor_data(path), path)
    assert found.fresh, found.message


def test_every_reader_scans_from_the_anchors_the_rules_carry() -> None:
    """The rules carry the stored anchors, so an engine, a reader or a session needs no anchors of its own
    (before, only `report` passed them: every other command chose its own at start-up, ~0.6 s of CPU)."""
    from nimwatch.core.reader import LogReader
    from nimwatch.engine import Engine

    rules = load_rules()
    assert rules.anchors is not None and rules.anchors.stored
    for scanners in (Engine(rules).scanner, LogReader(rules, "lpar1").parser.scanners):
        sources = {scanners.bytes.for_phase(key).anchors.source for key in range(13)}
        assert sources <= {"stored", "extended"}, sources
    bare = RuleSet(rules.model, rules.signatures)  # rules built without their file: estimated, still exact
    assert bare == rules and Engine(bare).scanner.bytes.for_phase(6).anchors.source == "estimated"
