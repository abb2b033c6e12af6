"""The one error hierarchy of nimwatch and the documented exit codes.

Every expected failure (bad input, bad config, unreadable log) is a
:class:`NimwatchError`; the CLI catches it once, prints it to stderr and exits
with its code. Anything else is a bug and is allowed to propagate.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of every nimwatch command (documented in the README)."""

    OK = 0
    """Every run succeeded (report), no failed run (watch --once), or the command did its job."""
    FAILED = 1
    """At least one run failed."""
    USAGE = 2
    """Usage, configuration or input error: nothing was analysed."""
    INCOMPLETE = 3
    """No run failed, but at least one did not finish (still running, killed, or cut off)."""
    STATE = 4
    """The state journal is damaged; ``--rebuild-state`` rebuilds it."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C."""


class NimwatchError(Exception):
    """Base of every error nimwatch reports to the user instead of a traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(NimwatchError):
    """Wrong command-line usage."""


class ConfigError(NimwatchError):
    """A configuration or rule file is invalid; the message names file, line and key."""

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class RuleError(ConfigError):
    """A rule file (phases/*.yaml or a user signature file) is invalid."""


class LogSourceError(NimwatchError):
    """A log file or directory cannot be read."""


class StateError(NimwatchError):
    """The state journal cannot be used."""

    exit_code = ExitCode.STATE

