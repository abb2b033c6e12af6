"""YAML hooks: user commands run on migration events, safely (argv lists, timeouts, no shell)."""

from __future__ import annotations
