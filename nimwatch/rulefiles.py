"""Finding and loading the rule files: the built-in ``phases/`` and users' own signatures.

Owns :func:`load_rules` and the reading of the scan anchors stored with the
rules (``anchors.yaml``, :func:`load_anchor_data`; checked and recomputed by
:mod:`nimwatch.anchorfile`): the rules carry them, so every scan of a process
starts from them instead of estimating its own. The built-in data is the top-level ``phases/``
directory of a checkout, shipped inside the installed package as
``nimwatch/_phases``. Users add or override failure signatures with their own
YAML files (same schema as ``failures.yaml``): their signatures are tried
first, and one with a built-in id replaces it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from nimwatch.core.anchors import AnchorData
from nimwatch.core.literals import FORMAT_VERSION
from nimwatch.core.rules import RuleSet, Signature, build_phase_model, build_signatures, merge_signatures
from nimwatch.core.validation import Problems
from nimwatch.datacache import load_yaml_cached
from nimwatch.errors import ConfigError, RuleError
from nimwatch.regexstore import open_store

PHASE_FILE = "nimadm.yaml"
CATALOG_FILE = "failures.yaml"
ANCHOR_FILE = "anchors.yaml"


def builtin_rules_dir() -> Path:
    """The directory holding nimadm.yaml and failures.yaml (``NIMWATCH_RULES_DIR`` overrides it)."""
    override = os.environ.get("NIMWATCH_RULES_DIR")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    for candidate in (here / "_phases", here.parent / "phases"):
        if (candidate / PHASE_FILE).is_file():
            return candidate
    raise RuleError(
        f"nimwatch's rule data ({PHASE_FILE}) is missing: looked in {here / '_phases'} and {here.parent / 'phases'}"
    )


def load_signature_file(path: Path, problems: Problems | None = None, *, builtin: bool = False) -> list[Signature]:
    """The signatures of a catalog file (``builtin``: one of nimwatch's own, read through its parsed copy)."""
    try:
        if builtin:
            content = load_yaml_cached(path)
        else:
            from nimwatch.yamlfile import load_yaml

            content = load_yaml(path)
        return build_signatures(content, str(path), problems)
    except RuleError:
        raise
    except ConfigError as exc:  # from YAML parsing
        raise RuleError(exc.message, problems=exc.problems) from None


@lru_cache(maxsize=8)
def _load_cached(user_files: tuple[str, ...]) -> RuleSet:
    open_store()  # the compiled programs of the patterns, kept from an earlier run
    base = builtin_rules_dir()
    model = build_phase_model(load_yaml_cached(base / PHASE_FILE), str(base / PHASE_FILE))
    builtin = load_signature_file(base / CATALOG_FILE, builtin=True)
    users = [load_signature_file(Path(p)) for p in user_files]
    anchors, _problem = load_anchor_data(base)  # (a bad file: `check-rules` and `report` say so)
    return RuleSet(model, merge_signatures(builtin, users), anchors)


def load_rules(user_files: Sequence[str | Path] = ()) -> RuleSet:
    """The built-in rules plus the users' signature files (compiled once per process).

    Running as root, a signature file that another user could change is refused
    (checked at every call, not cached: :mod:`nimwatch.trust`).
    """
    from nimwatch.trust import trust_problem

    for path in user_files:
        problem = trust_problem(path, "the rules file")
        if problem:
            raise RuleError(problem)
    return _load_cached(tuple(str(Path(p)) for p in user_files))


# ------------------------------------------------------------------ the scan anchors stored with the rules


def anchor_path(rules_dir: Optional[Path] = None) -> Path:
    return (rules_dir or builtin_rules_dir()) / ANCHOR_FILE


def parse_anchor_data(content: Any, source: str) -> AnchorData:
    """Validate the parsed YAML of an anchors file (a bad file is a :class:`RuleError` naming the key)."""

    def bad(key: str, why: str) -> RuleError:
        return RuleError(f"{source}: {key}: {why} (regenerate it with `nimwatch anchors --update`)")

    if not isinstance(content, dict):
        raise bad("(top)", "must be a mapping")
    if content.get("version") != FORMAT_VERSION:
        raise bad("version", f"must be {FORMAT_VERSION}")
    freq = content.get("frequencies")
    if not isinstance(freq, dict) or not all(
        isinstance(k, int) and 0 <= k < 256 and isinstance(v, int) and v > 0 for k, v in freq.items()
    ):
        raise bad("frequencies", "must map byte values 0-255 to positive counts")
    stored: dict[str, frozenset[int]] = {}
    follows: dict[str, frozenset[int]] = {}
    by_phase: dict[int, tuple[frozenset[int], frozenset[int]]] = {}
    phases = content.get("phases") or {}
    if not isinstance(phases, dict):
        raise bad("phases", "must be a mapping")
    for key, entry in phases.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise bad(f"phases.{key}", "needs key and anchors")
        sets = []
        for name in ("anchors", "follow"):
            values = entry.get(name, [] if name == "follow" else None)
            if not isinstance(values, list) or not all(isinstance(b, int) and 0 < b < 128 for b in values):
                raise bad(f"phases.{key}.{name}", "must be a list of ASCII byte values")
            sets.append(frozenset(values))
        stored[entry["key"]] = sets[0]
        if "follow" in entry:  # without it, whatever byte follows an anchor is looked at
            follows[entry["key"]] = sets[1]
            if isinstance(key, int):
                by_phase[key] = (sets[0], sets[1])
    return AnchorData(
        frequencies=dict(freq),
        stored=stored,
        catalog_hash=str(content.get("catalog_hash", "")),
        corpus=str(content.get("corpus", "")),
        follows=follows,
        by_phase=by_phase,
    )


def read_anchor_data(path: Path) -> AnchorData:
    """The anchors file at ``path``; an empty :class:`AnchorData` when there is none."""
    try:
        content = load_yaml_cached(path)
    except ConfigError as exc:
        if not path.exists():
            return AnchorData()
        raise RuleError(exc.message) from None
    return parse_anchor_data(content, str(path))


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[AnchorData, str]:
    try:
        return read_anchor_data(Path(path)), ""
    except RuleError as exc:
        return AnchorData(), str(exc)


def load_anchor_data(rules_dir: Optional[Path] = None) -> tuple[AnchorData, str]:
    """The built-in anchors (read once per process) and a problem to report, if the file is bad.

    A bad file never stops a scan: the scan is exact without it, only slower.
    """
    return _load(str(anchor_path(rules_dir)))
