"""Validation helpers shared by the rule and config loaders (pure: no I/O).

Owns :class:`LineDict` / :class:`LineList` (YAML values that remember their
lines), the :class:`Problems` collector, ``did_you_mean`` and the check of a
client glob (``glob_problem``, shared by the alerts' and hooks' filters). Validators report
``file:line: key: message (did you mean 'x'?)`` and either stop at the first
problem (start-up) or list them all (``check-config``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional

from nimwatch.errors import ConfigError


class LineDict(dict):
    """A mapping from YAML that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence from YAML that remembers its line and the line of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    import difflib  # (here: only a bad file needs it, and every command loads the rules)

    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass
class Problems:
    """Collects validation problems; ``fail_fast`` raises at the first one."""

    source: str
    fail_fast: bool = False
    items: list[str] = field(default_factory=list)

    def add(self, line: int, key: str, message: str) -> None:
        where = f"{self.source}:{line}" if line else self.source
        text = f"{where}: {key}: {message}" if key else f"{where}: {message}"
        self.items.append(text)
        if self.fail_fast:
            raise ConfigError(text, problems=list(self.items))

    def raise_if_any(self) -> None:
        if self.items:
            summary = (
                self.items[0]
                if len(self.items) == 1
                else f"{len(self.items)} problems:\n  " + ("\n  ".join(self.items))
            )
            raise ConfigError(summary, problems=list(self.items))

    def check_keys(self, mapping: LineDict, allowed: Iterable[str], context: str, required: Iterable[str] = ()) -> None:
        """Report unknown keys (with the nearest valid one) and missing required keys."""
        allowed = list(allowed)
        for key in mapping:
            if key not in allowed:
                self.add(
                    mapping.line_of(str(key)),
                    f"{context}{key}",
                    "unknown key" + did_you_mean(str(key), allowed),
                )
        for key in required:
            if key not in mapping:
                self.add(mapping.line, f"{context}{key}", "missing (required)")


def type_name(value: object) -> str:
    """The YAML name of a value's type, for messages."""
    if value is None:
        return "null"
    for kind, name in (bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"):
        if isinstance(value, kind):
            return name
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__


def glob_problem(pattern: str) -> Optional[str]:
    """Why ``pattern`` is not a usable fnmatch glob, or None.

    :mod:`fnmatch` never rejects a pattern: an unclosed ``[`` silently becomes
    a literal character and the glob then matches nothing anyone meant.
    """
    if not pattern:
        return "an empty glob matches no client"
    if "/" in pattern:
        return f"{pattern!r}: a client name has no '/' (globs match the client, not the log path)"
    i = pattern.find("[")
    while i >= 0:
        j = i + 2 if pattern.startswith("!", i + 1) else i + 1
        if pattern.startswith("]", j):  # a ']' first is a member of the set, not its end
            j += 1
        j = pattern.find("]", j)
        if j < 0:
            return f"{pattern!r}: '[' at position {i + 1} is never closed by ']'"
        body = pattern[i + 1 : j].lstrip("!")
        for m in re.finditer(r"(.)-(.)", body):
            if m.group(1) > m.group(2):
                return f"{pattern!r}: range '{m.group(0)}' is backwards"
        i = pattern.find("[", j + 1)
    return None


def glob_suggestion(pattern: str) -> Optional[str]:
    """A nearby valid glob for a bad one: ``sap[0-9*`` -> ``sap[0-9]*``, ``db[9-0]`` -> ``db[0-9]``."""
    fixed = re.sub(
        r"\[(!?)(\w)-(\w)\]",
        lambda m: f"[{m.group(1)}{min(m.group(2), m.group(3))}-{max(m.group(2), m.group(3))}]",
        pattern,
    )
    start = fixed.rfind("[")
    if start >= 0 and "]" not in fixed[start:]:
        body = re.match(r"!?(?:\w-\w|\w)+", fixed[start + 1 :])
        if body:
            end = start + 1 + body.end()
            fixed = fixed[:end] + "]" + fixed[end:]
    if fixed != pattern and glob_problem(fixed) is None:
        return fixed
    return None
