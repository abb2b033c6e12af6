"""Views: the state rendered for people (text, Markdown) and programs (JSON)."""

from __future__ import annotations
