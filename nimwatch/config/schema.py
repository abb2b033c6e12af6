"""The one config validator: sections declared as dataclasses, read from line-aware YAML, and their JSON Schema.

Owns the value kinds (:class:`Flag`, :class:`Num`, :class:`Text`, :class:`File`, :class:`Choice`,
:class:`Addr`, :class:`Many`, :class:`Map`, :class:`Section`, :class:`Switch`, :class:`Sections`), :func:`key`
(a dataclass field that is a config key: its kind, default and help) and :class:`At` (where a value
is: file, line, key). Each kind checks a value, reporting ``file:line: key: message`` into
:class:`~nimwatch.core.validation.Problems`, and describes itself as JSON Schema, so the validator and
the schema editors use cannot disagree. What one key cannot say alone (``severity`` only with
``finding``, a default that depends on another key) is a small check function its :class:`Section`
names. A section with a problem yields nothing; the caller reports, never guesses.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from nimwatch.core.validation import LineDict, LineList, Problems, did_you_mean, type_name
from nimwatch.trust import trust_problem

BAD: Any = object()
"""What a kind returns for a value it reported a problem with."""


@dataclass
class At:
    """Where a value is: the problems it goes to, its line and key as shown, the config file's directory."""

    problems: Problems
    base: Path
    line: int
    key: str
    prefix: Optional[str] = None  # what the keys inside are shown after (None: "key.")
    raw: Any = None  # the mapping, while its section is read
    index: int = 0  # the position of a list item
    seen: dict[str, Any] = field(default_factory=dict)  # shared by the items of a list (names used)

    def add(self, message: str, line: int = 0) -> Any:
        """Report a problem here; returns BAD, for a kind to return."""
        self.problems.add(line or self.line, self.key, message)
        return BAD

    def at(self, line: int, key: Optional[str] = None) -> At:
        """The same place on another line (a list item), or another key under it."""
        return At(self.problems, self.base, line or self.line, self.key if key is None else key)

    def child(self, name: str) -> At:
        """The key ``name`` of the mapping being read (its own line, else the mapping's)."""
        prefix = (f"{self.key}." if self.key else "") if self.prefix is None else self.prefix
        return self.at(self.raw.line_of(name), f"{prefix}{name}")

    @property
    def count(self) -> int:
        return len(self.problems.items)


def line_of(container: Any, index: Any) -> int:
    """The line of an item of a YAML list or mapping (0: unknown)."""
    if isinstance(container, LineList):
        return container.line_of(index)
    return container.line_of(str(index)) if isinstance(container, LineDict) else 0


def not_text(value: Any, what: str) -> str:
    """``must be a WHAT, not TYPE``, with a quoting hint for a number YAML read from unquoted text."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    shown = "an empty string" if value == "" else type_name(value)
    return f"must be a {what}, not {shown}" + (f" (quote it: '{value}')" if number else "")


class Kind:
    """What a key holds: how it is checked and read (:meth:`read`), and its JSON Schema (:meth:`json`)."""

    message: Optional[str] = None
    """Says what is wrong instead of the kind's own words; ``{value!r}`` is the value."""

    def read(self, value: Any, at: At) -> Any:
        raise NotImplementedError

    def json(self) -> dict[str, Any]:
        raise NotImplementedError

    def fail(self, at: At, text: str, value: Any, extra: str = "") -> Any:
        return at.add((self.message.format(value=value) if self.message else text) + extra)


@dataclass(frozen=True)
class Flag(Kind):
    def read(self, value: Any, at: At) -> Any:
        return value if isinstance(value, bool) else self.fail(at, f"must be true or false, not {value!r}", value)

    def json(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Num(Kind):
    """A number: above or at least a bound, at most another; ``whole`` for integers; ``auto`` also allowed."""

    above: Optional[float] = None
    least: Optional[float] = None
    most: Optional[float] = None
    whole: bool = False
    unit: str = ""
    auto: bool = False
    message: Optional[str] = None

    def describe(self) -> str:
        kind = "whole number" if self.whole else "number"
        if self.most is not None and self.least is not None:
            text = f"a {kind} from {self.least:g} to {self.most:g}"
        elif self.unit:
            text = f"a positive {kind} of {self.unit}" if self.above == 0 else f"a {kind} of {self.unit}"
            text += f" ({self.least:g} or more)" if self.least is not None else ""
        else:
            text = f"a {kind} " + (f"above {self.above:g}" if self.above is not None else f"of at least {self.least:g}")
        text += f" (at most {self.most:g})" if self.most is not None and self.least is None else ""
        return f"'auto' or {text}" if self.auto else text

    def read(self, value: Any, at: At) -> Any:
        if self.auto and value == "auto":
            return None
        if isinstance(value, bool) or not isinstance(value, int if self.whole else (int, float)) or not (
            (self.above is None or value > self.above)
            and (self.least is None or value >= self.least)
            and (self.most is None or value <= self.most)
        ):
            return self.fail(at, f"must be {self.describe()}, not {value!r}", value)
        return value if self.whole else float(value)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer" if self.whole else "number"}
        for name, bound in (("exclusiveMinimum", self.above), ("minimum", self.least), ("maximum", self.most)):
            if bound is not None:
                out[name] = bound
        return {"anyOf": [{"const": "auto"}, out]} if self.auto else out


@dataclass(frozen=True)
class Text(Kind):
    """A non-empty string, matching ``pattern`` (else ``message``), passing ``check`` (a problem or None)."""

    what: str = "non-empty string"
    pattern: str = ""
    check: Optional[Callable[[str], Optional[str]]] = None
    scalars: bool = False  # numbers are taken as their text (PORT: 25)
    empty: bool = False  # the empty string is allowed
    message: Optional[str] = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # more JSON Schema, for what check enforces

    def read(self, value: Any, at: At) -> Any:
        if self.scalars and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not (value or self.empty):
            return at.add(not_text(value, self.what))
        pattern = self.pattern[:-1] + r"\Z" if self.pattern.endswith("$") else self.pattern  # JSON Schema's $
        if pattern and not re.search(pattern, value):
            return self.fail(at, f"{value!r} is not a {self.what}", value)
        return self.done(value, at, self.check)

    @staticmethod
    def done(value: Any, at: At, *checks: Optional[Callable[[str], Optional[str]]]) -> Any:
        """``value``, or BAD when one of ``checks`` finds a problem (said as it is)."""
        problem = next((p for p in (c(value) for c in checks if c) if p), None)
        return at.add(problem) if problem else value

    def json(self) -> dict[str, Any]:
        out = {"type": ["string", "number"] if self.scalars else "string", "minLength": 0 if self.empty else 1}
        return {**out, **({"pattern": self.pattern} if self.pattern else {}), **self.extra}


@dataclass(frozen=True)
class File(Text):
    """A path, relative to the config file's directory: ``must`` exist as a file or dir; trusted as ``trust``."""

    what: str = "file path"
    must: str = ""
    trust: str = ""

    def read(self, value: Any, at: At) -> Any:
        text = Text.read(dataclasses.replace(self, check=None), value, at)
        if text is BAD:
            return BAD
        path = os.path.normpath(at.base / text)
        if self.must == "file" and not os.path.isfile(path):
            return self.done(path, at, lambda p: f"no such file: {p}")
        if self.must == "dir" and not os.path.isdir(path):
            return self.done(path, at, lambda p: f"{p} is not a directory")
        trusted = (lambda p: trust_problem(p, self.trust)) if self.trust else None
        return self.done(path, at, self.check, trusted)


@dataclass(frozen=True)
class Choice(Kind):
    """One of ``values`` (names, or a mapping of names to what they stand for); ``what`` names one."""

    values: Any
    what: str = ""
    message: Optional[str] = None

    def read(self, value: Any, at: At) -> Any:
        names = tuple(self.values)
        if isinstance(value, str) and value in names:
            return self.values[value] if isinstance(self.values, Mapping) else value
        text = f"unknown {self.what} {value!r}" if self.what else f"must be one of {', '.join(names)}"
        return self.fail(at, text, value, did_you_mean(str(value), names))

    def json(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


@dataclass(frozen=True)
class Addr(Kind):
    """``HOST:PORT`` (or ``:PORT``, or a port alone, when there is a ``host`` to default to), as a tuple."""

    host: str = ""

    def read(self, value: Any, at: At) -> Any:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            host, _, port = str(value).rpartition(":")
            if (host.strip("[]") or self.host) and port.isdigit() and 0 < int(port) < 65536:
                return (host.strip("[]") or self.host, int(port))
        return self.fail(at, f"{value!r} is not HOST:PORT" + (f" (e.g. {self.host}:9731)" if self.host else ""), value)

    def json(self) -> dict[str, Any]:
        if self.host:
            return {"type": ["string", "integer"], "pattern": r"^(\S*:)?[0-9]{1,5}$"}
        return {"type": "string", "pattern": r"^\S+:[0-9]{1,5}$"}


@dataclass(frozen=True)
class Many(Kind):
    """A list of ``item`` (one item may be written alone), repeats dropped; made into ``into``."""

    item: Kind
    what: str
    into: Callable[[list[Any]], Any] = tuple
    empty: bool = False  # an empty list is allowed

    def read(self, value: Any, at: At) -> Any:
        items = value if isinstance(value, list) else [] if value is None or isinstance(value, dict) else [value]
        if not items and not (self.empty and isinstance(value, list)):
            choices = f": {', '.join(self.item.values)}" if isinstance(self.item, Choice) else ""
            shown = f", not {type_name(value)}" if isinstance(value, dict) else ""
            return self.fail(at, f"must list at least one {self.what}{choices}{shown}", value)
        count, out = at.count, []
        for got in (self.item.read(one, at.at(line_of(value, i))) for i, one in enumerate(items)):
            out += [] if got is BAD or got in out else [got]
        return self.into(out) if at.count == count else BAD

    def json(self) -> dict[str, Any]:
        many = {"type": "array", "items": self.item.json(), "minItems": int(not self.empty)}
        return {"anyOf": [self.item.json(), many]}


@dataclass(frozen=True)
class Map(Kind):
    """A mapping of ``keys`` to ``values`` (each entry shown as ``key.name``); ``what`` says what maps to what."""

    keys: Kind
    values: Kind
    what: str
    pattern: str = ""  # the keys' pattern in the JSON Schema when they are not text (phase numbers)

    def read(self, value: Any, at: At) -> Any:
        if not isinstance(value, dict):
            return self.fail(at, f"must map {self.what}, not {type_name(value)}", value)
        count, out = at.count, {}
        for name, one in value.items():
            entry = at.at(line_of(value, name), f"{at.key}.{name}")
            got = self.keys.read(name, entry)
            if got is not BAD and (item := self.values.read(one, entry)) is not BAD:
                out[got] = item
        return out if at.count == count else BAD

    def json(self) -> dict[str, Any]:
        names = {"pattern": self.pattern} if self.pattern else self.keys.json()
        names = {k: v for k, v in names.items() if k not in ("type", "minLength")}
        return {"type": "object", "propertyNames": names, "additionalProperties": self.values.json()}


def key(
    kind: Kind, default: Any = MISSING, help: str = "", name: str = "", required: bool = False, factory: Any = MISSING
) -> Any:
    """A dataclass field that is a config key (``name`` when the key is not the field's name)."""
    meta = {"kind": kind, "help": help, "name": name, "required": required}
    if isinstance(default, (dict, list, set)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, default_factory=factory, metadata=meta)


def keys_of(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """The config keys of a section class, as written in the file."""
    return {f.metadata["name"] or f.name: f for f in dataclasses.fields(cls) if "kind" in f.metadata}


def read_keys(cls: type, raw: LineDict, at: At, only: tuple[str, ...] = ()) -> dict[str, Any]:
    """The keys of ``cls`` found in ``raw`` (those in ``only``, when given), read into field values."""
    values: dict[str, Any] = {}
    for name, f in keys_of(cls).items():
        kind: Kind = f.metadata["kind"]
        if only and name not in only:
            continue
        if name not in raw:
            if f.metadata["required"]:
                hint = f": one of {', '.join(kind.values)}" if isinstance(kind, Choice) else ""
                at.child(name).add("missing (required)" + hint)
        elif raw[name] is None and isinstance(kind, (Section, Sections, Switch)):
            continue  # an empty section: its defaults
        elif (got := kind.read(raw[name], at.child(name))) is not BAD:
            values[f.name] = got
    return values


@dataclass(frozen=True)
class Section(Kind):
    """A mapping read into ``cls``; ``check`` sees the values read (and may add defaults) before it is made.

    With ``tag``, that key's value picks one of ``variants`` (a Section each), whose keys are allowed too
    and whose dataclass goes into the field ``into``. ``hints`` say why a key that is not allowed is not.
    """

    cls: type
    check: Optional[Callable[[dict[str, Any], At], None]] = None
    tag: str = ""
    variants: Mapping[str, Section] = field(default_factory=dict)
    into: str = ""
    hints: Mapping[str, str] = field(default_factory=dict)
    message: Optional[str] = None  # for a value that is not a mapping: {value} is its type

    def read(self, value: Any, at: At) -> Any:
        if not isinstance(value, LineDict):
            need = [name for name, f in keys_of(self.cls).items() if f.metadata["required"]]
            names = " and ".join([", ".join(need[:-1]), need[-1]] if len(need) > 1 else need)
            text = f"with {names}" if need else f"({', '.join(keys_of(self.cls))})"
            return self.fail(at, f"must be a mapping {text}, not {type_name(value)}", type_name(value))
        if True in value and "on" in keys_of(self.cls):  # YAML 1.1 reads a bare `on:` key as true
            value, old = LineDict((("on" if k is True else k), v) for k, v in value.items()), value
            value.line, value.key_lines = old.line, {("on" if k == "True" else k): n for k, n in old.key_lines.items()}
        at, variant = dataclasses.replace(at, raw=value), None
        count = at.count
        if self.tag:
            if self.tag not in (tag := read_keys(self.cls, value, at, only=(self.tag,))):
                return BAD
            variant = self.variants[tag[self.tag]]
        allowed = [*keys_of(self.cls), *(keys_of(variant.cls) if variant else ())]
        for name in (str(n) for n in value if n not in allowed):
            at.child(name).add(self.hints.get(name) or "unknown key" + did_you_mean(name, allowed))
        values = read_keys(self.cls, value, at)
        if variant is not None:
            values[self.into] = variant.build(read_keys(variant.cls, value, at), at, count)
        return self.build(values, at, count)

    def build(self, values: dict[str, Any], at: At, count: int) -> Any:
        if self.check is not None:
            self.check(values, at)
        return self.cls(**values) if at.count == count else BAD

    def json(self) -> dict[str, Any]:
        doc = (self.cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        out: dict[str, Any] = {"type": "object", "description": doc, **_object(self.cls)}
        if self.tag:  # each variant closed on its own keys and the common ones
            del out["additionalProperties"]
            out["allOf"] = [
                {"if": {"properties": {self.tag: {"const": name}}}, "then": _object(self.cls, variant.cls)}
                for name, variant in self.variants.items()
            ]
        return out


def _object(*classes: type) -> dict[str, Any]:
    """Properties (with help and defaults), required keys, nothing else allowed."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, f in ((n, f) for cls in classes for n, f in keys_of(cls).items()):
        props[name] = f.metadata["kind"].json()
        if f.metadata["help"]:
            props[name]["description"] = f.metadata["help"]
        default = f.default if f.default_factory is MISSING else f.default_factory()
        if default not in (MISSING, None) and not dataclasses.is_dataclass(default):
            props[name]["default"] = _plain(default)
        required += [name] if f.metadata["required"] else []
    return {"properties": props, **({"required": required} if required else {}), "additionalProperties": False}


def _plain(value: Any) -> Any:
    """A default as JSON: tuples and sets as lists, paths as text."""
    if isinstance(value, (tuple, list, frozenset, set)):
        return [_plain(v) for v in (sorted(value) if isinstance(value, (set, frozenset)) else value)]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value) if isinstance(value, Path) else value


@dataclass(frozen=True)
class Switch(Kind):
    """A section ``true`` turns on with its defaults, and ``false`` (or ``enabled: false`` in it) leaves off (None)."""

    section: Section

    def read(self, value: Any, at: At) -> Any:
        if isinstance(value, bool):
            return self.section.cls() if value else None
        got = self.section.read(value, at)
        return None if got is not BAD and not got.enabled else got

    def json(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "boolean"}, self.section.json()]}


@dataclass(frozen=True)
class Sections(Kind):
    """A list of ``item`` sections; ``label`` gives what an item's keys are shown after (``alerts[0].``)."""

    item: Section
    noun: str
    label: Optional[Callable[[int, Any], str]] = None

    def read(self, value: Any, at: At) -> Any:
        if not isinstance(value, list):
            return self.fail(at, f"must be a list of {self.noun}s, not {type_name(value)}", value)
        out: list[Any] = []
        seen: dict[str, Any] = {}
        for i, raw in enumerate(value):
            prefix = self.label(i, raw) if self.label else None
            item = At(at.problems, at.base, line_of(value, i) or at.line, f"{at.key}[{i}]", prefix, index=i, seen=seen)
            out += [got] if (got := self.item.read(raw, item)) is not BAD else []
        return out

    def json(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.json()}
