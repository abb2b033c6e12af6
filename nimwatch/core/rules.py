"""The rules nimwatch runs on: the model and how it is built (the module callers import).

Owns nothing of its own: it gathers the rule model (:mod:`nimwatch.core.rulemodel`),
the phase model's builder (:mod:`nimwatch.core.phasebuild`) and the failure
catalog's (:mod:`nimwatch.core.catalogbuild`) under one stable name. Reading the
files is :mod:`nimwatch.rulefiles`' job; nothing here does I/O.
"""

from __future__ import annotations

from nimwatch.core.catalogbuild import build_signatures, merge_signatures
from nimwatch.core.phasebuild import build_phase_model
from nimwatch.core.rulemodel import (
    ABORTED,
    ENGINE_FINDINGS,
    MENTIONED,
    UNKNOWN_CODE,
    Counter,
    InstallpSpec,
    RuleSet,
    Signature,
)

__all__ = [
    "ABORTED",
    "ENGINE_FINDINGS",
    "MENTIONED",
    "UNKNOWN_CODE",
    "Counter",
    "InstallpSpec",
    "RuleSet",
    "Signature",
    "build_phase_model",
    "build_signatures",
    "merge_signatures",
]
