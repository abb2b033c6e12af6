"""The pre-flight checks' ids, in display order: all the command line needs, without importing the checks."""

from __future__ import annotations

CHECK_IDS = (
    "client-defined",
    "client-state",
    "spot-defined",
    "lpp-source-defined",
    "client-reachable",
    "client-master",
    "alt-disk-master",
    "alt-disk-spot",
    "alt-disk-lpp-source",
    "spot-lpp-level",
    "master-level",
    "client-level",
    "client-hardware",
    "target-disk-free",
    "leftover-alt-vg",
    "target-disk-size",
    "cache-vg",
    "no-multibos",
    "no-alt-lock",
    "master-nfs",
    "client-nfs",
    "master-netboot",
)
"""Kept equal to the ids of :data:`nimwatch.preflight.checks.ALL_CHECKS` (a test compares them)."""
