"""``nimwatch check-config``: exit 0 with ``FILE: OK``, exit 2 with every problem on stdout, one per line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nimwatch.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hooks" / "nimwatch.yaml"


def test_a_clean_file_is_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text("hooks:\n  - name: log\n    on: [run_failed]\n    run: [sh, -c, 'exit 0', '{client}']\n")
    assert main(["check-config", str(cfg)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{cfg}: OK\n" and err == ""


def test_every_problem_is_listed_and_the_exit_status_is_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], not_root: None
) -> None:
    cfg = tmp_path / "nimwatch.yaml"
    cfg.write_text(
        "hooks:\n"
        "  - name: page\n"
        "    on: [run_faild]\n"
        "    clients: ['sap[0-9*']\n"
        "    run: [sh, '{clinet}']\n"
        "    timout: 30\n"
    )
    assert main(["check-config", str(cfg)]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert sorted(lines) == sorted(
        [
            f"{cfg}:3: hook 'page': on: unknown event 'run_faild' (did you mean 'run_failed'?)",
            f"{cfg}:4: hook 'page': clients: bad glob 'sap[0-9*': '[' at position 4 is never closed by ']' "
            "(did you mean 'sap[0-9]*'?)",
            f"{cfg}:5: hook 'page': run[1]: unknown placeholder {{clinet}} (did you mean 'client'?)",
            f"{cfg}:6: hook 'page': timout: unknown key (did you mean 'timeout'?)",
        ]
    )


def test_a_missing_or_broken_file_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(tmp_path / "none.yaml")]) == 2
    assert capsys.readouterr().out == f"{tmp_path / 'none.yaml'}: no such config file\n"
    broken = tmp_path / "broken.yaml"
    broken.write_text("hooks:\n  - name: x\n    on: [run_failed\n")
    assert main(["check-config", str(broken)]) == 2
    assert capsys.readouterr().out.startswith(f"{broken}:")


def test_without_a_file_the_discovered_config_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "env.yaml"
    cfg.write_text("hooks: []\n")
    monkeypatch.setenv("NIMWATCH_CONFIG", str(cfg))
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out == f"{cfg}: OK\n"


def test_the_example_config_is_clean(capsys: pytest.CaptureFixture[str], not_root: None) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0, capsys.readouterr().out
