"""The shape README's architecture promises of every module of nimwatch/: at most 450 lines, and a docstring
that says what the module owns (the limit is issue 10's; a module past it is split by concern)."""

from __future__ import annotations

import ast

from helpers import ROOT

LIMIT = 450
MODULES = sorted(p for p in (ROOT / "nimwatch").rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_is_over_the_limit() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in MODULES}
    assert len(sizes) > 150
    assert {name: n for name, n in sizes.items() if n > LIMIT} == {}


def test_every_module_says_what_it_owns() -> None:
    bare = [
        str(p.relative_to(ROOT))
        for p in MODULES
        if p.stat().st_size and not (ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or "").strip()
    ]
    assert bare == []
