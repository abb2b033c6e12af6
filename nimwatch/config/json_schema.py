"""The JSON Schema of the config file, generated from the same declarations the validator reads.

Owns :func:`render`: ``python -m nimwatch.gendocs`` writes it to
``share/nimwatch-config.schema.json`` (installed under ``share/nimwatch/``) and
CI checks that it is current. Editors validate and complete ``nimwatch.yaml``
with it (yaml-language-server: ``# yaml-language-server: $schema=PATH``). It
holds what a schema can say: keys, types, ranges, choices, patterns, defaults
and help; what needs the file system (a command exists, root may trust a
file) or several keys at once stays with ``nimwatch check-config``.
"""

from __future__ import annotations

import json
from typing import Any

from nimwatch.config.file import CONFIG


def schema() -> dict[str, Any]:
    out = CONFIG.json()
    out["properties"] = {name: _nullable(name, s) for name, s in out["properties"].items()}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": "nimwatch.yaml", **out}


def _nullable(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A section left empty (``hooks:``) is allowed: it keeps its defaults."""
    if schema.get("type") not in ("object", "array"):
        return schema
    help = schema.pop("description", "")
    return {"description": help, "anyOf": [schema, {"type": "null"}]}


def render(_spec: object = None) -> str:
    """The schema file's text (``_spec``: the CLI description gendocs passes every renderer; not needed)."""
    return json.dumps(schema(), indent=2, ensure_ascii=True) + "\n"
