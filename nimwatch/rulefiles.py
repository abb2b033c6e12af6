"""Finding and loading the rule files: the built-in ``phases/`` and users' own signatures.

Owns :func:`load_rules`. The built-in data is the top-level ``phases/``
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

from nimwatch.core.rules import RuleSet, Signature, build_phase_model, build_signatures, merge_signatures
from nimwatch.core.validation import Problems
from nimwatch.datacache import load_yaml_cached
from nimwatch.errors import RuleError
from nimwatch.regexstore import open_store

PHASE_FILE = "nimadm.yaml"
CATALOG_FILE = "failures.yaml"


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
    except Exception as exc:  # ConfigError from YAML parsing
        from nimwatch.errors import ConfigError

        if isinstance(exc, ConfigError):
            raise RuleError(exc.message, problems=exc.problems) from None
        raise


@lru_cache(maxsize=8)
def _load_cached(user_files: tuple[str, ...]) -> RuleSet:
    open_store()  # the compiled programs of the patterns, kept from an earlier run
    base = builtin_rules_dir()
    model = build_phase_model(load_yaml_cached(base / PHASE_FILE), str(base / PHASE_FILE))
    builtin = load_signature_file(base / CATALOG_FILE, builtin=True)
    users = [load_signature_file(Path(p)) for p in user_files]
    return RuleSet(model, merge_signatures(builtin, users))


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
