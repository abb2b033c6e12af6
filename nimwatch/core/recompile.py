"""Compiling regular expressions from a store of their compiled code, as Python keeps its bytecode.

Owns :func:`compile_pattern` and :class:`CodeStore`. Every command compiles
some 500 regular expressions before it reads a line (the rules' patterns, the
scanners' tries, the byte scan's alternations): parsing and compiling them is
most of nimwatch's start-up. ``re.compile`` turns a pattern into a list of
integers (the program ``re``'s C engine runs) and hands it to ``_sre.compile``;
:func:`compile_pattern` keeps that list, and a later process with the same
Python (the store is keyed by its exact version and ``re``'s format) builds
the same pattern object from it without parsing.

Nothing depends on the store but speed: a pattern it does not hold is
compiled by ``re.compile`` itself (so a bad expression raises the same
``re.error``, with the same message); a pattern is recorded only when the
object rebuilt from the recorded program equals (program included) the one
``re.compile`` made, and only when compiling it warned of nothing. Loading and
saving the store is :mod:`nimwatch.regexstore`'s job; nothing here does I/O.
"""

from __future__ import annotations

import importlib
import re
import sys
import warnings
from typing import Any, AnyStr, Callable, Optional, TypeVar, Union

_sre: Any = importlib.import_module("_sre")
_compiler: Any
_parser: Any
try:  # Python 3.11+: re's compiler is private (the same one re.compile runs)
    _compiler = importlib.import_module("re._compiler")
    _parser = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - Python 3.9 / 3.10
    _compiler = importlib.import_module("sre_compile")
    _parser = importlib.import_module("sre_parse")

FORMAT = 1
"""The layout of an entry (see :meth:`CodeStore.record`); a new layout invalidates every stored copy."""

Key = tuple[Union[str, bytes], int]
DerivedKey = tuple[str, Union[str, bytes], int]
T = TypeVar("T")
Entry = tuple[int, list[int], int, dict[str, int], tuple[Optional[str], ...]]
"""(flags, program, groups - 1, group index, index group): the arguments of ``_sre.compile`` after the pattern."""


def python_stamp() -> tuple[Any, ...]:
    """What a stored program depends on: this Python's exact build and ``re``'s program format."""
    return (
        FORMAT,
        sys.version,
        sys.implementation.cache_tag,
        getattr(_sre, "MAGIC", None),
        getattr(_sre, "CODESIZE", None),
        sys.maxunicode,
    )


class CodeStore:
    """Compiled programs by (pattern, flags), and the patterns built from them in this process."""

    def __init__(self, entries: Optional[dict[Key, Entry]] = None) -> None:
        self.entries: dict[Key, Entry] = dict(entries or {})
        self.recording = False
        """Whether new programs are recorded (off when nobody will keep them)."""
        self.alone: Callable[[], bool] = lambda: False
        """Whether this is the process's only thread: a program is recorded only then, as recording checks that
        compiling warns of nothing by changing the (process-wide) warning filters for a moment."""
        self.added = 0
        """Programs recorded in this process (the store is saved only when it grew)."""
        self.used: set[Key] = set()
        self.used_derived: set[DerivedKey] = set()
        """Keys asked for in this process (kept first when the store is trimmed)."""
        self._built: dict[tuple[type, Union[str, bytes], int], re.Pattern[Any]] = {}
        self.derived: dict[DerivedKey, Any] = {}
        """What nimwatch's own code derived from a pattern (its literals...), by (kind, pattern, flags)."""
        self.deriving = False
        """Whether derived values are recorded and used: only when they were stamped with the code that derives
        them (:mod:`nimwatch.regexstore` stamps them with a hash of that code's source)."""

    def derive(self, kind: str, pattern: Union[str, bytes], flags: int, compute: Callable[[], T]) -> T:
        """``compute()`` (what the function ``kind`` finds in ``pattern``), from the store when it holds it.

        ``compute`` must return plain data (tuples, strings, numbers, booleans, None): the stored copy is
        returned as it is to every caller.
        """
        if not self.deriving:
            return compute()
        key: DerivedKey = (kind, pattern, int(flags))
        if key in self.derived:
            self.used_derived.add(key)
            found: T = self.derived[key]
            return found
        value = compute()
        if _plain(value):
            self.derived[key] = value
            self.used_derived.add(key)
            self.added += 1
        return value

    def compile(self, pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
        """``re.compile(pattern, flags)``, from the stored program when there is one."""
        flags = int(flags)
        memo_key = (type(pattern), pattern, flags)
        built = self._built.get(memo_key)
        if built is not None:
            return built
        key: Key = (pattern, flags)
        self.used.add(key)
        entry = self.entries.get(key)
        made: Optional[re.Pattern[AnyStr]] = None
        if entry is not None and type(pattern) in (str, bytes):
            made = _from_entry(pattern, entry)
        if made is None:
            made = re.compile(pattern, flags)
            if self.recording and type(pattern) in (str, bytes) and self.alone():
                recorded = _record(pattern, flags, made)
                if recorded is not None:
                    self.entries[key] = recorded
                    self.added += 1
        if len(self._built) < MEMO_SIZE:
            self._built[memo_key] = made
        return made


MEMO_SIZE = 8192
"""Patterns kept by the process (as ``re`` keeps its own 512): the same pattern compiles to the same object."""


def _from_entry(pattern: AnyStr, entry: Entry) -> Optional[re.Pattern[AnyStr]]:
    """The pattern built from a stored program (None when the entry is not one ``_sre`` takes)."""
    try:
        flags, code, groups, groupindex, indexgroup = entry
        program = code if type(code) is list else list(code)
        made: re.Pattern[AnyStr] = _sre.compile(pattern, flags, program, groups, groupindex, tuple(indexgroup))
    except (TypeError, ValueError, RuntimeError, OverflowError):
        return None
    if made.groups != groups:  # pragma: no cover - a program _sre accepted for another pattern's groups
        return None
    return made


def _record(pattern: AnyStr, flags: int, made: re.Pattern[AnyStr]) -> Optional[Entry]:
    """The program of ``pattern`` as ``re.compile`` builds it, when rebuilding from it gives ``made`` exactly."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # (re.compile has already shown them)
            parsed = _parser.parse(pattern, flags)
            code = _compiler._code(parsed, flags)
        if caught:
            return None  # a pattern that warns is compiled by re.compile every time (and warns every time)
        state = parsed.state
        groupindex = dict(state.groupdict)
        indexgroup: list[Optional[str]] = [None] * state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        program = [int(x) for x in code]
        entry: Entry = (int(flags | state.flags), program, state.groups - 1, groupindex, tuple(indexgroup))
    except Exception:
        return None
    rebuilt = _from_entry(pattern, entry)
    if rebuilt is None or rebuilt != made or rebuilt.groupindex != made.groupindex:
        return None
    return entry


def _plain(value: Any) -> bool:
    """Whether ``value`` is immutable plain data (kept in the store and shared by every caller)."""
    if value is None or isinstance(value, (str, bytes, bool, int, float)):
        return True
    return type(value) is tuple and all(_plain(item) for item in value)


STORE = CodeStore()
"""The process's store (:mod:`nimwatch.regexstore` fills it from disk and saves it)."""


def compile_pattern(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)`` through the process's store (same object, same errors)."""
    return STORE.compile(pattern, flags)


def derive(kind: str, pattern: Union[str, bytes], flags: int, compute: Callable[[], T]) -> T:
    """:meth:`CodeStore.derive` on the process's store."""
    return STORE.derive(kind, pattern, flags, compute)
