"""Every config check's message, on a corpus of mistakes (corpus.txt): wording changes only on purpose.

Each case is written to a file in a directory that also holds ``bin/ok.sh``
(executable), ``bin/noexec.sh`` (not executable), ``work/`` and ``pw``;
``check-config`` must list exactly the messages in messages.json (``{cfg}``:
the file, ``{dir}``: its directory), and start-up (``load_config``) must stop
at the first of them with the same words. After a deliberate change:
``NIMWATCH_UPDATE_GOLDEN=1 python -m pytest tests/config/test_messages.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import nimwatch.trust
from nimwatch.config import check_config, load_config
from nimwatch.errors import ConfigError

HERE = Path(__file__).parent
EXPECTED = HERE / "messages.json"


def cases() -> dict[str, str]:
    out: dict[str, str] = {}
    name = ""
    for line in (HERE / "corpus.txt").read_text().splitlines(keepends=True):
        if line.startswith("--- "):
            name = line[4:].strip()
            out[name] = ""
        elif name:
            out[name] += line
    return out


CASES = cases()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(nimwatch.trust, "running_as_root", lambda: False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    (tmp_path / "bin").mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "pw").write_text("x\n")
    for name, mode in (("ok.sh", 0o755), ("noexec.sh", 0o644)):
        (tmp_path / "bin" / name).write_text("#!/bin/sh\n")
        (tmp_path / "bin" / name).chmod(mode)
    return tmp_path


def run_case(folder: Path, name: str) -> list[str]:
    cfg = folder / f"{name}.yaml"
    cfg.write_text(CASES[name].replace("{dir}", str(folder)))
    cfg.chmod(0o600)
    return [m.replace(str(cfg), "{cfg}").replace(str(folder), "{dir}") for m in check_config(cfg)]


def test_the_corpus_and_the_expected_messages_name_the_same_cases() -> None:
    if os.environ.get("NIMWATCH_UPDATE_GOLDEN"):
        pytest.skip("rewriting messages.json")
    assert list(json.loads(EXPECTED.read_text())) == list(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_each_case_gives_its_messages(folder: Path, name: str) -> None:
    got = run_case(folder, name)
    if os.environ.get("NIMWATCH_UPDATE_GOLDEN"):
        expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
        expected[name] = got
        EXPECTED.write_text(json.dumps({k: expected[k] for k in CASES if k in expected}, indent=1) + "\n")
        return
    assert got == json.loads(EXPECTED.read_text())[name]
    cfg = folder / f"{name}.yaml"
    if not got:
        load_config(cfg)
        return
    with pytest.raises(ConfigError) as caught:
        load_config(cfg)
    assert str(caught.value).replace(str(cfg), "{cfg}").replace(str(folder), "{dir}") == got[0]
