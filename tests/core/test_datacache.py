"""The parsed copies of the built-in YAML files: the same values and lines as PyYAML gives, never stale."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT

from nimwatch import datacache, yamlfile
from nimwatch.core.validation import LineDict, LineList
from nimwatch.errors import ConfigError


def same(a: Any, b: Any, where: str = "") -> None:
    """``a`` and ``b`` are equal, of the same types, with the same lines, all the way down."""
    assert type(a) is type(b), where
    if isinstance(a, LineDict):
        assert (a.line, a.key_lines) == (b.line, b.key_lines), where
        assert list(a) == list(b), where
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, LineList):
        assert (a.line, a.item_lines, len(a)) == (b.line, b.item_lines, len(b)), where
        for index, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{index}]")
    else:
        assert a == b, where


def no_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("parsed the YAML again")

    monkeypatch.setattr(yamlfile, "parse_yaml", refuse)
    monkeypatch.setattr(yamlfile, "load_yaml", refuse)


@pytest.mark.parametrize("name", ["nimadm.yaml", "failures.yaml", "anchors.yaml"])
def test_the_copy_gives_what_pyyaml_gives_lines_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    path = tmp_path / name
    shutil.copy(ROOT / "phases" / name, path)
    expected = yamlfile.load_yaml(path)
    same(datacache.load_yaml_cached(path), expected)  # parsed, and kept
    assert datacache.cache_path(path).is_file()
    no_yaml(monkeypatch)
    same(datacache.load_yaml_cached(path), expected)  # from the copy


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert datacache.load_yaml_cached(path) == {"a": 1}
    path.write_text("a: 2\nb: [x]\n", encoding="utf-8")
    got = datacache.load_yaml_cached(path)
    assert got == {"a": 2, "b": ["x"]} and got.line_of("b") == 2


def plant(path: Path, doc: dict[str, Any]) -> Path:
    """A copy for ``path``'s current bytes that says ``doc`` (what a tampered copy would say)."""
    datacache.load_yaml_cached(path)
    where = datacache.cache_path(path)
    stored = json.loads(where.read_text(encoding="utf-8"))
    stored["doc"] = {"\x00m": [1, {key: 1 for key in doc}, [[key, value] for key, value in doc.items()]]}
    where.write_text(json.dumps(stored), encoding="utf-8")
    return where


def test_a_copy_others_can_write_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    where = plant(path, {"a": 666})
    assert datacache.load_yaml_cached(path) == {"a": 666}  # the planted copy is read: the test plants right
    os.chmod(where, 0o666)
    assert datacache.load_yaml_cached(path) == {"a": 1}
    assert not where.stat().st_mode & 0o022  # and replaced by a good one


@pytest.mark.parametrize("content", ["", "not json", '{"digest": 1}', '["x"]', '{"digest": "0", "doc": 1}'])
def test_a_bad_copy_is_parsed_again_and_replaced(tmp_path: Path, content: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("a: [1, 2]\n", encoding="utf-8")
    where = datacache.cache_path(path)
    where.parent.mkdir()
    where.write_text(content, encoding="utf-8")
    assert datacache.load_yaml_cached(path) == {"a": [1, 2]}
    assert json.loads(where.read_text(encoding="utf-8"))["doc"] != 1


def test_no_copy_where_none_can_be_kept_and_the_value_still_right(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    (tmp_path / datacache.CACHE_DIR).write_text("a file where the directory would go", encoding="utf-8")
    assert datacache.load_yaml_cached(path) == {"a": 1}
    assert (tmp_path / datacache.CACHE_DIR).is_file()
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def test_a_value_json_cannot_carry_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("when: 2024-01-02\nkeys: {1: one, 2.5: two, true: three, null: four}\n", encoding="utf-8")
    got = datacache.load_yaml_cached(path)
    assert str(got["when"]) == "2024-01-02"
    assert not datacache.cache_path(path).exists()
    path.write_text("keys: {1: one, 2.5: two, true: three, null: four}\n", encoding="utf-8")
    expected = yamlfile.load_yaml(path)
    datacache.load_yaml_cached(path)
    same(datacache.load_yaml_cached(path), expected)  # keys keep their types through the copy


def test_errors_are_the_files_own(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("a: [1\nb: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rules\.yaml:\d+: not valid YAML"):
        datacache.load_yaml_cached(path)
    path.write_bytes(b"a: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        datacache.load_yaml_cached(path)
    with pytest.raises(ConfigError, match="cannot read"):
        datacache.load_yaml_cached(tmp_path / "missing.yaml")
