"""Validation of the ``hooks:`` section of the config into :class:`HookSpec` values.

Owns the hook schema: the keys, the events a hook can react to (with the
``pre_migration`` / ``post_migration`` / ``run_succeeded`` / ``run_failed``
shorthands), the filters, the placeholders allowed in ``run`` and the checks on
the executable. Every problem goes to the shared
:class:`~nimwatch.core.validation.Problems` as ``file:line: hook 'name': key:
message (did you mean 'x'?)``, so ``check-config`` lists them all.

Security rules enforced here (the runner and the manager enforce the rest):
``run`` is an argv list, never a shell line; ``run[0]`` cannot hold a
placeholder, so no log or client name can choose what runs; running as root,
an executable that group or others can write, or that another user owns, is
refused. Pure validation: the only I/O is looking at the executable and ``cwd``.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from nimwatch.core.validation import LineDict, LineList, Problems, did_you_mean, type_name

EVENTS = (
    "run_started",
    "phase_started",
    "phase_finished",
    "finding",
    "stalled",
    "run_finished",
    "run_succeeded",
    "run_failed",
    "pre_migration",
    "post_migration",
)
"""Every name allowed in ``on``."""

SHORTHANDS: dict[str, tuple[str, Optional[int], Optional[str]]] = {
    "run_succeeded": ("run_finished", None, "succeeded"),
    "run_failed": ("run_finished", None, "failed"),
    "pre_migration": ("phase_started", 4, None),
    "post_migration": ("phase_finished", 7, None),
}
"""Shorthand -> (engine event, phase it requires, run outcome it requires).

run_succeeded and run_failed only match migrations: a clean-up (nimadm -C),
wake-up or sleep run that finishes is a ``run_finished`` with its ``operation``.

pre_migration is phase 4 starting (nimadm runs the ``-a`` script there) and
post_migration is phase 7 finishing, whatever its status (the ``-z`` script ran
in it); hooks read ``NIMWATCH_STATUS`` (done or failed) to tell them apart.
"""

PLACEHOLDERS = (
    "client",
    "phase",
    "phase_name",
    "event",
    "code",
    "rule",
    "severity",
    "log",
    "line",
    "outcome",
    "operation",
)
"""Names allowed as ``{name}`` in the elements of ``run`` (filled in one pass, never re-scanned)."""

DEFAULT_RETRIES = 0
"""A failed hook run is reported and not tried again unless the hook asks for ``retries``
(a timed-out or failed check is usually its own answer, and a retry doubles the wait)."""
DEFAULT_RETRY_DELAY = 5.0
MAX_RETRIES = 10

HOOK_KEYS = (
    "name",
    "on",
    "phases",
    "clients",
    "severity",
    "rules",
    "codes",
    "run",
    "env",
    "cwd",
    "timeout",
    "overlap",
    "once_per_run",
    "retries",
    "retry_delay",
    "benign",
)
SEVERITIES = ("info", "warning", "error")
OVERLAP_POLICIES = ("queue", "skip")
DEFAULT_TIMEOUT = 60.0
"""Seconds a hook may run before its whole process group is killed."""
DEFAULT_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
"""PATH for hooks when nimwatch itself runs without one."""

PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""What counts as a placeholder: ``{identifier}``; other braces (``awk '{print $1}'``) are literal text."""

_CODE_RE = re.compile(r"^\d{4}-\d{3}$")
_RULE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FINDING_FILTERS = ("severity", "rules", "codes", "benign")


@dataclass(frozen=True)
class HookSpec:
    """One validated hook."""

    name: str
    on: tuple[str, ...]
    """Names from :data:`EVENTS`, as written (shorthands kept)."""
    run: tuple[str, ...]
    """The argv; ``run[0]`` is absolute (resolved against the config's directory) or a bare name for PATH."""
    phases: frozenset[int] = frozenset()
    """Only events in these phases (empty: any). run_finished counts in the phase the run ended in."""
    clients: tuple[str, ...] = ()
    """fnmatch globs on the client name, case-sensitive (empty: any client)."""
    severity: Optional[str] = None
    """Minimum severity of a finding."""
    rules: frozenset[str] = frozenset()
    """Only findings of these rule ids."""
    codes: frozenset[str] = frozenset()
    """Only findings with these AIX message codes (NNNN-NNN)."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment; cannot set NIMWATCH_* (those describe the event)."""
    cwd: Optional[str] = None
    timeout: float = DEFAULT_TIMEOUT
    overlap: str = "queue"
    """``queue``: an event arriving while the hook runs waits its turn; ``skip``: it is dropped."""
    once_per_run: bool = False
    """Fire at most once for each run of each log, on the first matching event."""
    retries: int = DEFAULT_RETRIES
    """Attempts after a failed one (could not start, timed out, or exited non-zero)."""
    retry_delay: float = DEFAULT_RETRY_DELAY
    """Seconds before the first retry; doubles for each further one."""
    source: str = ""
    benign: bool = False
    """Also run for findings the catalog marks benign (routine lines); a rule named in ``rules`` always runs."""
    """``file:line`` of the hook in its config, for messages."""


def is_root() -> bool:
    """Whether nimwatch runs as root (the config module's test, so one monkeypatch covers both)."""
    from nimwatch import config

    return config._is_root()


def hook_path(env: Mapping[str, str]) -> str:
    """The PATH a hook's bare command name is looked up in."""
    return env.get("PATH") or os.environ.get("PATH") or DEFAULT_PATH


def resolve_executable(command: str, path: str) -> Optional[str]:
    """An absolute path for ``command`` (already absolute, or found in ``path``); None if not found."""
    if os.path.isabs(command):
        return command
    return shutil.which(command, path=path)


def executable_problem(executable: str, root: Optional[bool] = None) -> Optional[str]:
    """Why ``executable`` may not be run as a hook, or None.

    Always: it must exist, be a regular file and be executable. Running as
    root: it and every directory above it must belong to root (or to the user
    running nimwatch) and be writable by neither group nor others, since
    whoever can change it runs as root (:mod:`nimwatch.trust`).
    """
    try:
        st = os.stat(executable)
    except OSError as exc:
        return f"{executable}: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return f"{executable} is not a regular file"
    if not os.access(executable, os.X_OK):
        return f"{executable} is not executable (chmod +x)"
    from nimwatch.trust import trust_problem

    return trust_problem(executable, "the command", root=is_root() if root is None else root)


def glob_problem(pattern: str) -> Optional[str]:
    """Why ``pattern`` is not a usable fnmatch glob, or None.

    :mod:`fnmatch` never rejects a pattern: an unclosed ``[`` silently becomes
    a literal character and the glob then matches nothing anyone meant.
    """
    if not pattern:
        return "an empty glob matches no client"
    if "/" in pattern:
        return f"{pattern!r}: a client name has no '/' (globs match the client, not the log path)"
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] == "[":
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                return f"{pattern!r}: '[' at position {i + 1} is never closed by ']'"
            body = pattern[i + 1 : j].lstrip("!")
            for m in re.finditer(r"(.)-(.)", body):
                if m.group(1) > m.group(2):
                    return f"{pattern!r}: range '{m.group(0)}' is backwards"
            i = j
        i += 1
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


def placeholders_in(text: str) -> list[str]:
    return PLACEHOLDER_RE.findall(text)


def _hook_mapping(item: LineDict) -> tuple[dict[str, Any], dict[str, int]]:
    """The hook's keys as written; YAML 1.1 reads a bare ``on:`` key as the boolean True."""
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key, value in item.items():
        name = "on" if key is True else str(key)
        values[name] = value
        lines[name] = item.line_of(str(key))
    return values, lines


def _as_list(value: Any) -> Optional[list[Any]]:
    """A list as is, a scalar as a one-item list, a mapping as None (wrong type)."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return None
    return [value]


class _HookReader:
    """Validates one hook mapping, reporting into ``problems``."""

    def __init__(self, item: LineDict, ctx: str, problems: Problems, base: Path) -> None:
        self.values, self.lines = _hook_mapping(item)
        self.item = item
        self.ctx = ctx
        self.problems = problems
        self.base = base
        self.ok = True

    def line(self, key: str) -> int:
        return self.lines.get(key, self.item.line)

    def item_line(self, key: str, index: int) -> int:
        value = self.values.get(key)
        if isinstance(value, LineList):
            return value.line_of(index)
        return self.line(key)

    def bad(self, key: str, message: str, line: Optional[int] = None) -> None:
        self.ok = False
        self.problems.add(self.line(key) if line is None else line, self.ctx + key, message)

    def strings(self, key: str, what: str) -> list[tuple[int, str]]:
        """A list (or one value) of non-empty strings, with the line of each."""
        if key not in self.values:
            return []
        items = _as_list(self.values[key])
        if not items:
            self.bad(key, f"must be a list of {what}s, not {type_name(self.values[key])}")
            return []
        out = []
        for i, value in enumerate(items):
            line = self.item_line(key, i)
            if not isinstance(value, str):
                self.bad(key, f"{value!r} is {type_name(value)}, not a {what} (quote it)", line)
            elif not value:
                self.bad(key, f"an empty string is not a {what}", line)
            else:
                out.append((line, value))
        return out

    # ------------------------------------------------------------------ keys

    def events(self) -> tuple[str, ...]:
        if "on" not in self.values:
            return ()
        items = _as_list(self.values["on"]) if self.values["on"] is not None else []
        if not items:
            self.bad("on", "must list at least one event: " + ", ".join(EVENTS))
            return ()
        out: list[str] = []
        for i, value in enumerate(items):
            line = self.item_line("on", i)
            if not isinstance(value, str):
                self.bad("on", f"{value!r} is not an event name", line)
            elif value not in EVENTS:
                self.bad("on", f"unknown event '{value}'" + did_you_mean(value, EVENTS), line)
            elif value not in out:
                out.append(value)
        return tuple(out)

    def phases(self) -> frozenset[int]:
        if "phases" not in self.values:
            return frozenset()
        items = _as_list(self.values["phases"])
        if not items:
            self.bad("phases", "must be a list of phase numbers (1-12)")
            return frozenset()
        out = set()
        for i, value in enumerate(items):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 12:
                self.bad("phases", f"{value!r} is not a phase number (1-12)", self.item_line("phases", i))
            else:
                out.add(value)
        return frozenset(out)

    def clients(self) -> tuple[str, ...]:
        out = []
        for line, glob in self.strings("clients", "client glob"):
            problem = glob_problem(glob)
            if problem:
                message = f"bad glob {problem}" if problem.startswith("'") else problem
                suggestion = glob_suggestion(glob)
                if suggestion:
                    message += f" (did you mean '{suggestion}'?)"
                self.bad("clients", message, line)
            else:
                out.append(glob)
        return tuple(out)

    def severity(self) -> Optional[str]:
        if "severity" not in self.values:
            return None
        value = self.values["severity"]
        if value not in SEVERITIES:
            shown = value if isinstance(value, str) else type_name(value)
            self.bad(
                "severity",
                f"'{shown}' is not a severity: use info, warning or error" + did_you_mean(str(value), SEVERITIES),
            )
            return None
        return str(value)

    def rules(self) -> frozenset[str]:
        out = set()
        for line, rule in self.strings("rules", "rule id"):
            if not _RULE_RE.match(rule):
                self.bad("rules", f"{rule!r} is not a rule id (lowercase letters, digits, '.', '_', '-')", line)
            else:
                out.add(rule)
        return frozenset(out)

    def codes(self) -> frozenset[str]:
        out = set()
        for line, code in self.strings("codes", "message code"):
            if not _CODE_RE.match(code):
                self.bad("codes", f"{code!r} does not look like NNNN-NNN (e.g. 0505-126); quote it in YAML", line)
            else:
                out.add(code)
        return frozenset(out)

    def run(self) -> tuple[str, ...]:
        if "run" not in self.values:
            return ()
        value = self.values["run"]
        if isinstance(value, str):
            self.bad(
                "run",
                "must be a list of arguments, not a string: nimwatch never uses a shell "
                f"(e.g. run: [{', '.join(value.split()[:2]) or '/path/to/script'}])",
            )
            return ()
        if not isinstance(value, list) or not value:
            self.bad("run", f"must be a non-empty list of arguments, not {type_name(value)}")
            return ()
        argv: list[str] = []
        for i, arg in enumerate(value):
            line = self.item_line("run", i)
            if not isinstance(arg, str):
                self.bad(f"run[{i}]", f"must be a string, not {type_name(arg)} (quote it: '{arg}')", line)
                continue
            for name in placeholders_in(arg):
                if name not in PLACEHOLDERS:
                    self.bad(
                        f"run[{i}]",
                        f"unknown placeholder {{{name}}}" + did_you_mean(name, PLACEHOLDERS),
                        line,
                    )
            argv.append(arg)
        if not isinstance(value[0], str):
            return tuple(argv)
        command = argv[0]
        if not command:
            self.bad("run[0]", "the command is empty", self.item_line("run", 0))
        elif placeholders_in(command):
            self.bad(
                "run[0]",
                "the command cannot hold a placeholder: a log or client name must never choose what runs",
                self.item_line("run", 0),
            )
        elif "/" in command and not os.path.isabs(command):
            argv[0] = os.path.normpath(self.base / command)
        return tuple(argv)

    def env(self) -> dict[str, str]:
        if "env" not in self.values:
            return {}
        value = self.values["env"]
        if not isinstance(value, LineDict):
            self.bad("env", f"must be a mapping of NAME: value, not {type_name(value)}")
            return {}
        out: dict[str, str] = {}
        for key, v in value.items():
            line = value.line_of(str(key))
            if not isinstance(key, str) or not _ENV_NAME_RE.match(key):
                self.bad("env", f"{key!r} is not an environment variable name", line)
            elif key.startswith("NIMWATCH_"):
                self.bad(f"env.{key}", "NIMWATCH_* variables describe the event and cannot be set here", line)
            elif not isinstance(v, str):
                self.bad(f"env.{key}", f"must be a string, not {type_name(v)} (quote it: '{v}')", line)
            elif "\0" in v:
                self.bad(f"env.{key}", "cannot hold a NUL character", line)
            else:
                out[key] = v
        return out

    def cwd(self) -> Optional[str]:
        if "cwd" not in self.values:
            return None
        value = self.values["cwd"]
        if not isinstance(value, str) or not value:
            self.bad("cwd", f"must be a directory path, not {type_name(value)}")
            return None
        path = Path(os.path.normpath(self.base / value))
        if not path.is_dir():
            self.bad("cwd", f"{path} is not a directory")
            return None
        return str(path)

    def timeout(self) -> float:
        if "timeout" not in self.values:
            return DEFAULT_TIMEOUT
        value = self.values["timeout"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            self.bad("timeout", f"must be a positive number of seconds, not {value!r}")
            return DEFAULT_TIMEOUT
        return float(value)

    def overlap(self) -> str:
        if "overlap" not in self.values:
            return "queue"
        value = self.values["overlap"]
        if value not in OVERLAP_POLICIES:
            self.bad(
                "overlap",
                f"must be skip or queue, not {value!r}" + did_you_mean(str(value), OVERLAP_POLICIES),
            )
            return "queue"
        return str(value)

    def retries(self) -> int:
        if "retries" not in self.values:
            return DEFAULT_RETRIES
        value = self.values["retries"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
            self.bad("retries", f"must be a whole number from 0 to {MAX_RETRIES}, not {value!r}")
            return DEFAULT_RETRIES
        return value

    def retry_delay(self) -> float:
        if "retry_delay" not in self.values:
            return DEFAULT_RETRY_DELAY
        value = self.values["retry_delay"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            self.bad("retry_delay", f"must be a positive number of seconds, not {value!r}")
            return DEFAULT_RETRY_DELAY
        return float(value)

    def once_per_run(self) -> bool:
        return self.flag("once_per_run")

    def flag(self, key: str) -> bool:
        if key not in self.values:
            return False
        value = self.values[key]
        if not isinstance(value, bool):
            self.bad(key, f"must be true or false, not {value!r}")
            return False
        return value


def _check_executable(reader: _HookReader, spec_env: Mapping[str, str], argv: tuple[str, ...]) -> None:
    command = argv[0]
    line = reader.item_line("run", 0)
    resolved = resolve_executable(command, hook_path(spec_env))
    if resolved is None:
        reader.bad("run[0]", f"'{command}' is not found in PATH ({hook_path(spec_env)})", line)
        return
    problem = executable_problem(resolved)
    if problem:
        reader.bad("run[0]", problem, line)


def _parse_hook(item: Any, index: int, line: int, problems: Problems, base: Path) -> Optional[HookSpec]:
    if not isinstance(item, LineDict):
        problems.add(line, f"hooks[{index}]", f"must be a mapping with name, on and run, not {type_name(item)}")
        return None
    raw_name = item.get("name")
    ctx = f"hook '{raw_name}': " if isinstance(raw_name, str) and raw_name else f"hooks[{index}]."
    reader = _HookReader(item, ctx, problems, base)
    for key in reader.values:
        if key not in HOOK_KEYS:
            reader.bad(key, "unknown key" + did_you_mean(key, HOOK_KEYS))
    for key in ("name", "on", "run"):
        if key not in reader.values:
            reader.bad(key, "missing (required)", item.line)
    name = raw_name if isinstance(raw_name, str) else ""
    if "name" in reader.values and (not name.strip() or "\n" in name):
        reader.bad("name", "must be a non-empty one-line string")
    events = reader.events()
    phases = reader.phases()
    clients = reader.clients()
    severity = reader.severity()
    rules = reader.rules()
    codes = reader.codes()
    before = len(problems.items)
    argv = reader.run()
    run_ok = len(problems.items) == before
    env = reader.env()
    cwd = reader.cwd()
    timeout = reader.timeout()
    overlap = reader.overlap()
    once = reader.once_per_run()
    retries = reader.retries()
    retry_delay = reader.retry_delay()
    benign = reader.flag("benign")
    if events and "finding" not in events:
        for key in _FINDING_FILTERS:
            if key in reader.values:
                reader.bad(key, "only applies to finding events: add 'finding' to on, or drop this filter")
    if run_ok and argv:
        _check_executable(reader, env, argv)
    if not reader.ok:
        return None
    return HookSpec(
        name=name,
        on=events,
        run=argv,
        phases=phases,
        clients=clients,
        severity=severity,
        rules=rules,
        codes=codes,
        env=env,
        cwd=cwd,
        timeout=timeout,
        overlap=overlap,
        once_per_run=once,
        retries=retries,
        retry_delay=retry_delay,
        source=f"{problems.source}:{item.line}",
        benign=benign,
    )


def parse_section(value: Any, line: int, problems: Problems, path: Path) -> list[HookSpec]:
    """Validate the ``hooks:`` list; relative paths in it are relative to the config file's directory."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(line, "hooks", f"must be a list of hooks, not {type_name(value)}")
        return []
    base = path.parent.resolve()
    hooks: list[HookSpec] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(value):
        item_line = value.line_of(index) if isinstance(value, LineList) else line
        name = item.get("name") if isinstance(item, LineDict) else None
        if isinstance(name, str) and name:
            name_line = item.line_of("name")
            if name in seen:
                problems.add(name_line, f"hook '{name}': name", f"duplicate hook name (first at line {seen[name]})")
                continue
            seen[name] = name_line
        spec = _parse_hook(item, index, item_line, problems, base)
        if spec is not None:
            hooks.append(spec)
    return hooks
