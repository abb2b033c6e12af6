"""Sources: where log bytes come from (finished files for reports and replay, live tails)."""

from __future__ import annotations
