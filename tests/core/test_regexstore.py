"""The store of compiled regex programs: patterns rebuilt from it are the ones re.compile makes, and nothing
(reports, validation of a changed or bad rules file) depends on it."""

from __future__ import annotations

import json
import marshal
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, SAMPLE_LOGS

from nimwatch import regexstore
from nimwatch.core import literals, recompile, scanner
from nimwatch.core.recompile import CodeStore
from nimwatch.core.rules import RuleSet, build_phase_model, build_signatures, merge_signatures
from nimwatch.errors import RuleError
from nimwatch.rulefiles import load_signature_file
from nimwatch.sources.files import read_log
from nimwatch.views.report_data import report_records
from nimwatch.yamlfile import load_yaml

PHASES = ROOT / "phases"


def _clear_caches() -> None:
    """The per-process caches in front of the store (so that each build asks the store)."""
    scanner.cached_required_literals.cache_clear()
    literals._prefilter.cache_clear()
    literals.line_local.cache_clear()
    literals._multiline.cache_clear()
    scanner._UNANCHORED.clear()


@pytest.fixture
def use_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Makes a given store the process's store (the real one is restored after the test)."""

    def use(store: CodeStore) -> CodeStore:
        monkeypatch.setattr(recompile, "STORE", store)
        _clear_caches()
        return store

    yield use
    _clear_caches()


def recording_store(entries: Any = None) -> CodeStore:
    store = CodeStore(entries)
    store.recording = True
    store.deriving = True
    store.alone = lambda: True
    return store


def fresh_rules() -> RuleSet:
    """The built-in rules, validated and compiled now (not load_rules' copy of the process)."""
    model = build_phase_model(load_yaml(PHASES / "nimadm.yaml"), str(PHASES / "nimadm.yaml"))
    signatures = build_signatures(load_yaml(PHASES / "failures.yaml"), str(PHASES / "failures.yaml"))
    return RuleSet(model, merge_signatures(signatures, []))


def all_reports(rules: RuleSet) -> str:
    logs = sorted(SAMPLE_LOGS.glob("*_alt_mig.log"))
    assert len(logs) >= 10
    return json.dumps(report_records([read_log(path, rules) for path in logs], rules), sort_keys=True, default=str)


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, parsing or compiling a regular expression fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"parsed a regular expression again: {args[:1]!r}")

    monkeypatch.setattr(recompile._parser, "parse", refuse)
    monkeypatch.setattr(recompile._compiler, "compile", refuse)


def test_reports_from_the_store_are_the_reports_of_re_compile(use_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sample log's report, with every pattern compiled by re.compile, then rebuilt from the store
    without parsing one pattern (rules, scanners, byte scans, counters, derived literals)."""
    first = use_store(recording_store())
    expected = all_reports(fresh_rules())
    assert first.added > 200 and len(first.derived) > 50
    second = use_store(recording_store({**first.entries}))
    second.derived.update(first.derived)
    no_parsing(monkeypatch)
    assert all_reports(fresh_rules()) == expected
    assert second.added == 0  # everything came from the store


def test_a_rebuilt_pattern_equals_the_compiled_one(use_store: Any) -> None:
    store = use_store(recording_store())
    fresh_rules()
    assert store.entries
    again = CodeStore(store.entries)
    for pattern, flags in store.entries:
        made = again.compile(pattern, flags)
        compiled = re.compile(pattern, flags)
        assert made == compiled and made is not compiled
        assert (made.pattern, made.flags, made.groups, made.groupindex) == (
            compiled.pattern,
            compiled.flags,
            compiled.groups,
            compiled.groupindex,
        )


def test_a_bad_pattern_is_never_stored_and_raises_what_re_raises(use_store: Any) -> None:
    store = use_store(recording_store())
    with pytest.raises(re.error) as expected:
        re.compile("MYAPP-(1 failed")
    for _ in range(2):
        with pytest.raises(re.error) as got:
            recompile.compile_pattern("MYAPP-(1 failed")
        assert str(got.value) == str(expected.value)
    assert ("MYAPP-(1 failed", 0) not in store.entries


def test_a_pattern_that_warns_is_not_stored_and_warns_every_time(use_store: Any) -> None:
    store = use_store(recording_store())
    pattern = "[[:alpha:]]x"  # re: "Possible nested set" (a FutureWarning)
    for _ in range(2):
        re.purge()
        recompile.STORE._built.clear()
        with pytest.warns(FutureWarning):
            recompile.compile_pattern(pattern)
    assert (pattern, 0) not in store.entries


def test_nothing_is_recorded_while_other_threads_run(use_store: Any) -> None:
    store = use_store(recording_store())
    store.alone = lambda: False
    recompile.compile_pattern(r"only-here-\d+")
    assert not store.entries and store.added == 0


def test_a_user_file_changed_to_a_bad_pattern_is_reported_with_file_and_line(
    tmp_path: Path, use_store: Any
) -> None:
    """The good pattern was compiled and stored; the file then changes: the bad one is validated as ever."""
    store = use_store(recording_store())
    path = tmp_path / "mine.yaml"
    good = "signatures:\n  - id: my-rule\n    pattern: 'MYAPP-(1) failed'\n    severity: error\n"
    path.write_text(good + "    explanation: x\n    advice: y\n", encoding="utf-8")
    assert [s.id for s in load_signature_file(path)] == ["my-rule"]
    assert ("MYAPP-(1) failed", 0) in store.entries
    path.write_text(good.replace("(1)", "(1") + "    explanation: x\n    advice: y\n", encoding="utf-8")
    with pytest.raises(RuleError) as err:
        load_signature_file(path)
    assert f"{path}:3: signature 'my-rule': pattern: bad regular expression: missing )" in str(err.value)


def _check_rules(path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run(
        [sys.executable, "-m", "nimwatch", "check-rules", str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(ROOT),
        timeout=300,
    )


def test_check_rules_reports_a_changed_bad_pattern_in_a_real_process(tmp_path: Path) -> None:
    """Through the store on disk: the first run keeps the good pattern's program, the second still
    validates the changed file and names file, line and key."""
    path = tmp_path / "mine.yaml"
    body = (
        "signatures:\n  - id: my-rule\n    pattern: 'MYAPP-(7) failed'\n    severity: error\n"
        "    explanation: x\n    advice: y\n    examples: ['MYAPP-7 failed']\n"
    )
    path.write_text(body, encoding="utf-8")
    first = _check_rules(path)
    assert first.returncode == 0, first.stderr
    path.write_text(body.replace("(7)", "(7"), encoding="utf-8")
    second = _check_rules(path)
    assert second.returncode != 0
    assert f"{path}:3: signature 'my-rule': pattern: bad regular expression: missing )" in second.stdout + second.stderr


# --------------------------------------------------------------------------- the file


def _stored(tmp_path: Path) -> tuple[Path, CodeStore]:
    store = recording_store()
    store.compile(r"(?P<total>\d+) of (?P<done>\d+)")
    store.compile(rb"\x00(?:abc|de)")
    store.derive("kind", "pattern", 0, lambda: (("lit",), False))
    where = tmp_path / "__pycache__" / "regex.bin"
    regexstore.save_store(where, store, "stamp")
    return where, store


def test_the_file_keeps_programs_and_derived_values(tmp_path: Path) -> None:
    where, store = _stored(tmp_path)
    entries, derived = regexstore.read_store(where, "stamp")
    assert entries == store.entries and derived == {("kind", "pattern", 0): (("lit",), False)}
    # derived values of other code are dropped; the programs (which depend on Python only) are kept
    entries, derived = regexstore.read_store(where, "other code")
    assert entries == store.entries and derived == {}


def test_a_copy_others_can_write_is_ignored(tmp_path: Path) -> None:
    where, _ = _stored(tmp_path)
    os.chmod(where, 0o666)
    assert regexstore.read_store(where, "stamp") == ({}, {})


def test_a_copy_of_another_python_or_a_damaged_one_is_ignored(tmp_path: Path) -> None:
    where, store = _stored(tmp_path)
    where.write_bytes(marshal.dumps((("another", "python"), store.entries, "stamp", {})))
    assert regexstore.read_store(where, "stamp") == ({}, {})
    where.write_bytes(b"\x00garbage")
    assert regexstore.read_store(where, "stamp") == ({}, {})
    # an entry _sre refuses is compiled by re.compile instead
    bad = CodeStore({("abc", 0): (32, [1, 2, 3], 0, {}, (None,))})
    assert bad.compile("abc") == re.compile("abc")


def test_a_store_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("", encoding="utf-8")  # (a file where __pycache__ would go: even root cannot write there)
    store = recording_store()
    store.compile("cannot-keep-[0-9]+")
    regexstore.save_store(blocked / "__pycache__" / "regex.bin", store, None)
    assert blocked.read_text(encoding="utf-8") == "" and store.added == 1
    assert store.compile("cannot-keep-[0-9]+").search("x cannot-keep-42")


def test_only_a_copy_that_can_be_kept_is_recorded(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    assert regexstore._writable(tmp_path / "pkg" / "__pycache__" / "regex.bin")  # __pycache__ made on save
    (tmp_path / "file").write_text("", encoding="utf-8")
    assert not regexstore._writable(tmp_path / "file" / "__pycache__" / "regex.bin")
