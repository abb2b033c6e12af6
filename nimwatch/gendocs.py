"""Writes (or checks) the generated files: the man page and completions (from argparse), the config's JSON Schema.

Owns :data:`GENERATED` and :func:`main`: ``python -m nimwatch.gendocs``
rewrites them under the source tree, ``--check`` exits 1 naming each file
that is not current. The build runs the same generation (``setup.py``), so a
wheel always carries pages that match its code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nimwatch.clispec import describe

GENERATED: dict[str, str] = {
    "share/man/man1/nimwatch.1": "nimwatch.manpage:render",
    "share/bash-completion/completions/nimwatch": "nimwatch.completion:render_bash",
    "share/nimwatch/nimwatch.ksh": "nimwatch.completion:render_ksh",
    "share/nimwatch-config.schema.json": "nimwatch.config.json_schema:render",
}
"""Path under the source tree (and under the install prefix) -> the function that renders it."""


def render_all() -> dict[str, str]:
    import importlib

    spec, out = describe(), {}
    for path, target in GENERATED.items():
        module, _, function = target.partition(":")
        out[path] = getattr(importlib.import_module(module), function)(spec)
    return out


def write_all(root: Path) -> list[Path]:
    """Write every generated file under ``root``; the paths that changed."""
    changed = []
    for rel, text in render_all().items():
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def stale(root: Path) -> list[str]:
    """The generated files under ``root`` that differ from what the code generates now."""
    out = []
    for rel, text in render_all().items():
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(rel)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nimwatch.gendocs", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]), help="the source tree")
    parser.add_argument("--check", action="store_true", help="exit 1 when a generated file is not current")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.check:
        late = stale(root)
        for rel in late:
            print(f"{rel}: not current; run python -m nimwatch.gendocs", file=sys.stderr)
        return 1 if late else 0
    for path in write_all(root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
