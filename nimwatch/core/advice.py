"""Advice with the run's known facts filled in.

Owns :func:`advice_values` and :func:`fill_advice`. The catalog's advice uses
placeholders (``<client>``, ``<spot>``, ``<cachevg>``, ...); those the log
told (the client, cache VG, SPOT, lpp_source, target and boot disks, the
fileset a line names) are replaced, the others stay as written so the admin
sees what to put there. Pure: values in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Optional

from nimwatch.core.state import RunState

_PLACEHOLDER = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")

FACT_PLACEHOLDERS = {
    "spot": "spot",
    "lpp_source": "lpp_source",
    "cachevg": "cache_vg",
    "master": "master",
    "mksysb_file": "mksysb_output",
    "new_mksysb_resource": "mksysb_resource",
    "mksysb_resource": "mksysb",
    "boot_disk": "boot_disk",
}
"""Placeholder -> the fact that fills it."""


def advice_values(run: Optional[RunState], client: str = "", fills: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """The placeholder values known for ``run`` (and its finding's own ``fills``)."""
    values: dict[str, str] = {}
    if run is not None:
        values = {name: run.facts[fact] for name, fact in FACT_PLACEHOLDERS.items() if run.facts.get(fact)}
        if run.target_disks:
            values["migrated_hdisk"] = values["target_disk"] = run.target_disks[0]
        client = run.client or client
    if client:
        values["client"] = client
    for key, value in fills:
        values.setdefault(key, value)
    return values


def fill_advice(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every ``<name>`` whose value is known replaced; unknown ones stay."""
    if not values or "<" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
