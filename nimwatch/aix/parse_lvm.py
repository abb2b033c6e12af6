"""Parsers of LVM and disk output: ``lspv``, ``lspv <disk>``/``lsvg <vg>``, ``lsvg -l``, ``bootinfo -s``.

Everything is parsed on whitespace or on labels, never on columns (pasted
copies collapse spaces). ``lspv`` rows are ``hdiskN PVID VG state``: no VG is
``None``, a varied-off VG (``altinst_rootvg``, ``old_rootvg``) shows its name
with an empty state, and VIOS adds a ``NAME PVID VG STATUS`` header.
``lspv <disk>`` and ``lsvg <vg>`` print two columns of ``LABEL: value``; the
labels are matched from a list of known ones (plus any upper-case ``WORD:``),
and ``lspv`` once printed ``VG IDENTIFIER`` without its colon.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Optional

from nimwatch.aix.parse_common import first_int, lines, squeeze

NOT_VARIED_ON = "0516-010"
"""``Volume group must be varied on; use varyonvg command.``"""

_KNOWN_LABELS = (
    # lsvg <vg>
    "VOLUME GROUP",
    "VG IDENTIFIER",
    "VG STATE",
    "PP SIZE",
    "VG PERMISSION",
    "TOTAL PPs",
    "MAX LVs",
    "FREE PPs",
    "LVs",
    "USED PPs",
    "OPEN LVs",
    "QUORUM",
    "TOTAL PVs",
    "VG DESCRIPTORS",
    "STALE PVs",
    "STALE PPs",
    "ACTIVE PVs",
    "AUTO ON",
    "MAX PPs per VG",
    "MAX PPs per PV",
    "MAX PVs",
    "LTG size (Dynamic)",
    "LTG size",
    "AUTO SYNC",
    "HOT SPARE",
    "BB POLICY",
    "PV RESTRICTION",
    "INFINITE RETRY",
    "DISK BLOCK SIZE",
    "CRITICAL VG",
    "FS SYNC OPTION",
    "CRITICAL PVs",
    "ENCRYPTION",
    "MIRROR POOL STRICT",
    # lspv <disk>
    "PHYSICAL VOLUME",
    "PV IDENTIFIER",
    "PV STATE",
    "STALE PARTITIONS",
    "ALLOCATABLE",
    "LOGICAL VOLUMES",
    "FREE DISTRIBUTION",
    "USED DISTRIBUTION",
    "MIRROR POOL",
    "MAX REQUEST",
)


@functools.lru_cache(maxsize=1)
def _label_pattern() -> re.Pattern[str]:
    """Known labels (longest first, colon optional) or any upper-case ``WORD:``; compiled on first use."""
    known = "|".join(re.escape(k) for k in sorted(_KNOWN_LABELS, key=len, reverse=True))
    return re.compile(
        rf"(?:^|(?<= ))(?P<label>{known})(?::|(?= |$))"
        r"|(?:^|(?<= ))(?P<generic>[A-Z][A-Z0-9]*(?: [A-Z][A-Z0-9]*)*):(?= |$)"
    )


@dataclass(frozen=True)
class PvRow:
    """One ``lspv`` row."""

    disk: str
    pvid: str
    vg: Optional[str]
    """None when the disk is in no volume group."""
    state: str
    """``active``, ``concurrent``... or '' for a varied-off volume group."""
    line: str


def parse_lspv(text: str) -> dict[str, PvRow]:
    """``lspv`` -> disk -> row."""
    out: dict[str, PvRow] = {}
    for line in lines(text):
        tokens = line.split()
        if len(tokens) < 3 or tokens[0] == "NAME":
            continue
        vg = None if tokens[2] == "None" else tokens[2]
        out[tokens[0]] = PvRow(tokens[0], tokens[1], vg, tokens[3] if len(tokens) > 3 else "", squeeze(line))
    return out


def parse_labels(text: str) -> dict[str, str]:
    """``lsvg <vg>`` / ``lspv <disk>`` -> label -> value (first occurrence)."""
    out: dict[str, str] = {}
    for raw in lines(text):
        line = squeeze(raw)
        matches = list(_label_pattern().finditer(line))
        for i, match in enumerate(matches):
            label = match.group("label") or match.group("generic")
            end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
            out.setdefault(label, line[match.end() : end].strip())
    return out


@dataclass(frozen=True)
class VgInfo:
    """The sizes of ``lsvg <vg>``."""

    name: str
    pp_size_mb: int
    total_pps: int
    free_pps: int
    used_pps: int
    free_mb: int
    used_mb: int
    total_pvs: int
    state: str
    labels: dict[str, str]

    def evidence(self, label: str) -> str:
        return f"{label}: {self.labels.get(label, '')}"


def _pps(value: str) -> tuple[Optional[int], Optional[int]]:
    """``201 (6432 megabytes)`` -> (201, 6432)."""
    match = re.match(r"(\d+)\s*\((\d+)\s*megabytes?\)", value)
    if match is None:
        return first_int(value), None
    return int(match.group(1)), int(match.group(2))


def parse_lsvg(text: str) -> Optional[VgInfo]:
    """``lsvg <vg>`` -> its sizes, or None when the output is not that of ``lsvg <vg>``."""
    labels = parse_labels(text)
    pp_size = first_int(labels.get("PP SIZE", ""))
    total, _ = _pps(labels.get("TOTAL PPs", ""))
    free, free_mb = _pps(labels.get("FREE PPs", ""))
    used, used_mb = _pps(labels.get("USED PPs", ""))
    if pp_size is None or total is None or free is None or used is None:
        return None
    return VgInfo(
        name=labels.get("VOLUME GROUP", ""),
        pp_size_mb=pp_size,
        total_pps=total,
        free_pps=free,
        used_pps=used,
        free_mb=free_mb if free_mb is not None else free * pp_size,
        used_mb=used_mb if used_mb is not None else used * pp_size,
        total_pvs=first_int(labels.get("TOTAL PVs", "")) or 1,
        state=labels.get("VG STATE", ""),
        labels=labels,
    )


@dataclass(frozen=True)
class LvRow:
    """One row of ``lsvg -l <vg>``."""

    name: str
    type: str
    lps: int
    pps: int
    pvs: int
    state: str
    mount: str
    line: str


def parse_lsvg_l(text: str) -> list[LvRow]:
    """``lsvg -l <vg>`` -> its logical volumes (the ``<vg>:`` line and the header are skipped)."""
    out: list[LvRow] = []
    for line in lines(text):
        tokens = line.split()
        if len(tokens) < 6 or not (tokens[2].isdigit() and tokens[3].isdigit() and tokens[4].isdigit()):
            continue
        lps, pps, pvs = map(int, tokens[2:5])
        out.append(LvRow(tokens[0], tokens[1], lps, pps, pvs, tokens[5], " ".join(tokens[6:]), squeeze(line)))
    return out


def parse_bootinfo_size(text: str) -> Optional[int]:
    """``bootinfo -s hdiskN`` -> size in MB (None when not one number)."""
    values = [line.strip() for line in lines(text) if line.strip()]
    if len(values) != 1 or not values[0].isdigit():
        return None
    return int(values[0])
