"""The one config validator: sections declared as dataclasses, read from line-aware YAML, and their JSON Schema.

Owns the value kinds (:class:`Flag`, :class:`Num`, :class:`Text`, :class:`File`, :class:`Choice`,
:class:`Addr`, :class:`Many`, :class:`Map`, :class:`Argv`, :class:`Section`, :class:`Sections`), :func:`key`
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
from dataclasses import dataclass, field
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
    prefix: Optional[str] = None
    """What the keys inside this value are shown after (None: ``key.``)."""
    raw: Any = None
    """The mapping, while its section is read."""
    index: int = 0
    """The position in its list, for a list item."""
    seen: dict[str, Any] = field(default_factory=dict)
    """Shared by the items of one list (names already used)."""

    def add(self, message: str, line: int = 0) -> None:
        self.problems.add(line or self.line, self.key, message)

    def at(self, line: int, key: Optional[str] = None) -> At:
        """The same place on another line (a list item), or another key under it."""
        return At(self.problems, self.base, line or self.line, self.key if key is None else key)

    def child(self, name: str) -> At:
        """The key ``name`` of the mapping being read (its own line, else the mapping's)."""
        line = self.raw.line_of(name) if isinstance(self.raw, LineDict) else self.line
        prefix = (f"{self.key}." if self.key else "") if self.prefix is None else self.prefix
        return At(self.problems, self.base, line, f"{prefix}{name}")

    @property
    def count(self) -> int:
        return len(self.problems.items)


def quote_hint(value: Any) -> str:
    return f" (quote it: '{value}')" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _shown(value: Any) -> str:
    return "an empty string" if value == "" else type_name(value)


class Kind:
    """What a key holds: how it is checked and read, and its JSON Schema."""

    message: Optional[str] = None
    """Says what is wrong instead of the kind's own words; ``{value!r}`` is the value."""

    def read(self, value: Any, at: At) -> Any:
        raise NotImplementedError

    def json(self) -> dict[str, Any]:
        raise NotImplementedError

    def hint(self) -> str:
        """Added to ``missing (required)``."""
        return ""

    def fail(self, at: At, text: str, value: Any, extra: str = "") -> Any:
        at.add((self.message.format(value=value) if self.message else text) + extra)
        return BAD


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
        auto = "'auto' or " if self.auto else ""
        if self.most is not None:
            return f"{auto}a {kind} from {self.least:g} to {self.most:g}"
        if self.unit:
            if self.above == 0:
                return f"{auto}a positive {kind} of {self.unit}"
            return f"{auto}a {kind} of {self.unit} ({self.least:g} or more)"
        if self.above is not None:
            return f"{auto}a {kind} above {self.above:g}"
        return f"a {kind} of at least {self.least:g}"

    def read(self, value: Any, at: At) -> Any:
        if self.auto and value == "auto":
            return None
        ok = not isinstance(value, bool) and isinstance(value, int if self.whole else (int, float))
        if ok and (
            (self.above is not None and value <= self.above)
            or (self.least is not None and value < self.least)
            or (self.most is not None and value > self.most)
        ):
            ok = False
        if not ok:
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
    scalars: bool = False
    """Numbers are taken as their text (``PORT: 25``)."""
    empty: bool = False
    """The empty string is allowed."""
    message: Optional[str] = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """More JSON Schema, for what ``check`` enforces."""

    def read(self, value: Any, at: At) -> Any:
        if self.scalars and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not (value or self.empty):
            at.add(f"must be a {self.what}, not {_shown(value)}{quote_hint(value)}")
            return BAD
        pattern = self.pattern[:-1] + r"\Z" if self.pattern.endswith("$") else self.pattern  # JSON Schema's $
        if pattern and not re.search(pattern, value):
            return self.fail(at, f"{value!r} is not a {self.what}", value)
        problem = self.check(value) if self.check else None
        if problem:
            at.add(problem)
            return BAD
        return value

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": ["string", "number"] if self.scalars else "string"}
        out["minLength"] = 0 if self.empty else 1
        if self.pattern:
            out["pattern"] = self.pattern
        return {**out, **self.extra}


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
            problem: Optional[str] = f"no such file: {path}"
        elif self.must == "dir" and not os.path.isdir(path):
            problem = f"{path} is not a directory"
        else:
            problem = self.check(path) if self.check else None
            problem = problem or (trust_problem(path, self.trust) if self.trust else None)
        if problem:
            at.add(problem)
            return BAD
        return path


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

    def hint(self) -> str:
        return f": one of {', '.join(self.values)}"

    def json(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


@dataclass(frozen=True)
class Addr(Kind):
    """``HOST:PORT`` (or ``:PORT``, or a port alone, when there is a ``host`` to default to), as a tuple."""

    host: str = ""

    def read(self, value: Any, at: At) -> Any:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            host, _, port = str(value).rpartition(":")
            host = host.strip("[]") or self.host
            if host and port.isdigit() and 0 < int(port) < 65536:
                return (host, int(port))
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
    empty: bool = False
    """An empty list is allowed."""

    def read(self, value: Any, at: At) -> Any:
        items = value if isinstance(value, list) else [] if value is None or isinstance(value, dict) else [value]
        if not items and not (self.empty and isinstance(value, list)):
            choices = self.item.hint().replace(": one of", ":")
            shown = f", not {type_name(value)}" if isinstance(value, dict) else ""
            return self.fail(at, f"must list at least one {self.what}{choices}{shown}", value)
        out: list[Any] = []
        bad = False
        for i, one in enumerate(items):
            got = self.item.read(one, at.at(value.line_of(i) if isinstance(value, LineList) else 0))
            bad = bad or got is BAD
            if got is not BAD and got not in out:
                out.append(got)
        return BAD if bad else self.into(out)

    def json(self) -> dict[str, Any]:
        many = {"type": "array", "items": self.item.json(), "minItems": 0 if self.empty else 1}
        return {"anyOf": [self.item.json(), many]}


@dataclass(frozen=True)
class Map(Kind):
    """A mapping of ``keys`` to ``values`` (each entry shown as ``key.name``); ``what`` says what maps to what."""

    keys: Kind
    values: Kind
    what: str
    pattern: str = ""
    """The keys' pattern in the JSON Schema, when their kind is not text (phase numbers)."""

    def read(self, value: Any, at: At) -> Any:
        if not isinstance(value, dict):
            return self.fail(at, f"must map {self.what}, not {type_name(value)}", value)
        out: dict[Any, Any] = {}
        count = at.count
        for name, one in value.items():
            entry = at.at(value.line_of(str(name)) if isinstance(value, LineDict) else 0, f"{at.key}.{name}")
            got = self.keys.read(name, entry)
            if got is not BAD and (item := self.values.read(one, entry)) is not BAD:
                out[got] = item
        return out if at.count == count else BAD

    def json(self) -> dict[str, Any]:
        names = {"pattern": self.pattern} if self.pattern else self.keys.json()
        names = {k: v for k, v in names.items() if k not in ("type", "minLength")}
        return {"type": "object", "propertyNames": names, "additionalProperties": self.values.json()}


@dataclass(frozen=True)
class Argv(Kind):
    """A command as an argv list, never a shell line; ``run[0]`` with a '/' is relative to the config."""

    shell: str
    """Said when a string is given."""
    placeholders: tuple[str, ...] = ()
    """Names allowed as ``{name}`` in the arguments (never in the command itself); () when none is filled in."""
    scalars: bool = False

    def read(self, value: Any, at: At) -> Any:
        if isinstance(value, str):
            return self.fail(at, self.shell.format(example=", ".join(value.split()[:2]) or "/path/to/script"), value)
        if not isinstance(value, list) or not value:
            return self.fail(at, f"must be a non-empty list of arguments, not {type_name(value)}", value)
        argv: list[str] = []
        count = at.count
        for i, arg in enumerate(value):
            where = at.at(value.line_of(i) if isinstance(value, LineList) else 0, f"{at.key}[{i}]")
            if self.scalars and isinstance(arg, (int, float)) and not isinstance(arg, bool):
                arg = str(arg)
            if not isinstance(arg, str):
                where.add(f"must be a string, not {type_name(arg)}{quote_hint(arg)}")
                continue
            names = re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", arg) if self.placeholders else []
            if i == 0 and not arg:
                where.add("the command is empty")
            elif i == 0 and names:
                where.add("the command cannot hold a placeholder: a log or client name must never choose what runs")
            for name in names if i else ():
                if name not in self.placeholders:
                    where.add(f"unknown placeholder {{{name}}}" + did_you_mean(name, self.placeholders))
            argv.append(os.path.normpath(at.base / arg) if i == 0 and "/" in arg else arg)
        return tuple(argv) if at.count == count else BAD

    def json(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "items": {"type": ["string", "number"] if self.scalars else "string"}}


def key(
    kind: Kind,
    default: Any = dataclasses.MISSING,
    help: str = "",
    name: str = "",
    required: bool = False,
    factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field that is a config key (``name`` when the key is not the field's name)."""
    meta = {"kind": kind, "help": help, "name": name, "required": required}
    if isinstance(default, (dict, list, set)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, default_factory=factory, metadata=meta)


def keys_of(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """The config keys of a section class, as written in the file."""
    return {f.metadata["name"] or f.name: f for f in dataclasses.fields(cls) if "kind" in f.metadata}


Check = Callable[[dict[str, Any], At], None]


@dataclass(frozen=True)
class Section(Kind):
    """A mapping read into ``cls``; ``check`` sees the values read (and may add defaults) before it is made.

    With ``tag``, that key's value picks one of ``variants`` (a Section each), whose keys are allowed too
    and whose dataclass goes into the field ``into``. ``hints`` say why a key that is not allowed is not.
    """

    cls: type
    check: Optional[Check] = None
    tag: str = ""
    variants: Mapping[str, Section] = field(default_factory=dict)
    into: str = ""
    hints: Mapping[str, str] = field(default_factory=dict)
    message: Optional[str] = None

    def required(self) -> list[str]:
        return [name for name, f in keys_of(self.cls).items() if f.metadata["required"]]

    def read(self, value: Any, at: At) -> Any:
        if not isinstance(value, LineDict):
            need = self.required()
            names = " and ".join([", ".join(need[:-1]), need[-1]] if len(need) > 1 else need)
            text = f"with {names}" if need else f"({', '.join(keys_of(self.cls))})"
            return self.fail(at, f"must be a mapping {text}, not {type_name(value)}", type_name(value))
        if True in value and "on" in keys_of(self.cls):  # YAML 1.1 reads a bare `on:` key as true
            renamed = LineDict((("on" if k is True else k), v) for k, v in value.items())
            renamed.line = value.line
            renamed.key_lines = {("on" if k == "True" else k): n for k, n in value.key_lines.items()}
            value = renamed
        at = dataclasses.replace(at, raw=value)
        count = at.count
        variant: Optional[Section] = None
        if self.tag:
            tag = read_keys(self.cls, value, at, only=(self.tag,))
            if self.tag not in tag:
                return BAD
            variant = self.variants[tag[self.tag]]
        allowed = [*keys_of(self.cls), *(keys_of(variant.cls) if variant else ())]
        for name in value:
            if name not in allowed:
                at.child(str(name)).add(self.hints.get(str(name)) or "unknown key" + did_you_mean(str(name), allowed))
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
        if self.tag:
            tag = out["properties"][self.tag]
            out["allOf"] = []
            for name, variant in self.variants.items():
                closed = _object(self.cls, variant.cls)
                closed["properties"][self.tag] = {**tag, "const": name}
                out["allOf"].append({"if": {"properties": {self.tag: {"const": name}}}, "then": closed})
            del out["additionalProperties"]
        return out


def _object(*classes: type) -> dict[str, Any]:
    """Properties (with help and defaults), required keys, nothing else allowed."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for cls in classes:
        for name, f in keys_of(cls).items():
            schema = f.metadata["kind"].json()
            if f.metadata["help"]:
                schema["description"] = f.metadata["help"]
            default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            plain = default is not dataclasses.MISSING and default is not None and not dataclasses.is_dataclass(default)
            if plain and not f.metadata["required"]:
                schema["default"] = _plain(default)
            props[name] = schema
            required += [name] if f.metadata["required"] else []
    return {"properties": props, **({"required": required} if required else {}), "additionalProperties": False}


def _plain(value: Any) -> Any:
    """A default as JSON: tuples and sets as lists, paths as text."""
    if isinstance(value, (tuple, list, frozenset, set)):
        return [_plain(v) for v in (sorted(value) if isinstance(value, (set, frozenset)) else value)]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value) if isinstance(value, Path) else value


def read_keys(cls: type, raw: LineDict, at: At, only: tuple[str, ...] = ()) -> dict[str, Any]:
    """The keys of ``cls`` found in ``raw`` (those in ``only``, when given), read into field values."""
    values: dict[str, Any] = {}
    for name, f in keys_of(cls).items():
        if only and name not in only:
            continue
        kind: Kind = f.metadata["kind"]
        if name not in raw:
            if f.metadata["required"]:
                at.child(name).add("missing (required)" + kind.hint())
            continue
        if raw[name] is None and isinstance(kind, (Section, Sections)):
            continue  # an empty section: its defaults
        got = kind.read(raw[name], at.child(name))
        if got is not BAD:
            values[f.name] = got
    return values


@dataclass(frozen=True)
class Sections(Kind):
    """A list of ``item`` sections; ``label`` gives what an item's keys are shown after (``alerts[0].``)."""

    item: Section
    noun: str
    label: Optional[Callable[[int, Any], str]] = None

    def read(self, value: Any, at: At) -> Any:
        if not isinstance(value, list):
            return self.fail(at, f"must be a list of {self.noun}s, not {type_name(value)}", value)
        out = []
        seen: dict[str, Any] = {}
        for i, raw in enumerate(value):
            line = value.line_of(i) if isinstance(value, LineList) else at.line
            prefix = self.label(i, raw) if self.label else None
            got = self.item.read(raw, At(at.problems, at.base, line, f"{at.key}[{i}]", prefix, index=i, seen=seen))
            if got is not BAD:
                out.append(got)
        return out

    def json(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.json()}
