"""Snapshots of a log's live state, so that a restart resumes where it stopped instead of re-reading the log.

Owns :func:`encode` / :func:`decode` (a JSON codec for the state nimwatch keeps per
log: the reader, that is the byte decoder with its partial line and the parser
with its run, counters and context, the :class:`~nimwatch.core.state.LogState`,
the engine's flood counts) and :func:`fingerprint`.

The codec is generic on purpose: it walks ``dataclasses.fields`` of dataclasses
and the attributes of nimwatch's other objects, and tags what JSON cannot say
(tuples, sets, deques with their ``maxlen``, bytes, enums, mappings with
non-string keys), so a field added to the parser or the state needs no change
here. Classes are recreated by name, only from nimwatch's own modules, without
running their ``__init__``. Objects shared by every log (the rule set, the
scanners) are written as references and given back by the caller
(``wiring``). A value of any other type (an open file, a compiled pattern)
raises :class:`SnapshotError`: that log is then simply re-read at the next
start.

A snapshot is only used when its :func:`fingerprint` matches: it covers the
snapshot format, the source of the modules whose objects it holds and the rule
files, so an upgraded nimwatch or changed rules re-read the logs once instead of
trusting state another version built.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import hashlib
import importlib
import json
import re
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nimwatch import __version__

SNAPSHOT_VERSION = 1
_SOURCES = ("core", "engine.py", "feed.py", "recorder.py", "snapshot.py", "sources/tail.py", "sources/identity.py")
"""Parts of nimwatch whose source decides what a snapshot means (a directory: every .py in it)."""


class SnapshotError(Exception):
    """A value the codec cannot write or read back."""


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


@functools.lru_cache(maxsize=256)
def _class(name: str) -> type:
    module, _, qualname = name.partition(":")
    if not module.startswith("nimwatch.") and module != "nimwatch":
        raise SnapshotError(f"refusing to recreate {name}: not a nimwatch class")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise SnapshotError(f"unknown class {name}: {exc}") from None
    if not isinstance(obj, type):
        raise SnapshotError(f"{name} is not a class")
    return obj


def encode(value: Any, wiring: Mapping[str, Any]) -> Any:
    """``value`` as JSON-able data; the objects in ``wiring`` are written as references to their names."""
    for name, shared in wiring.items():
        if value is shared:
            return {"__w": name}
    if isinstance(value, enum.Enum):  # before str and int: PhaseStatus is a str, and must stay an enum
        return {"__e": _name(type(value)), "v": encode(value.value, wiring)}
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, list):
        return [encode(v, wiring) for v in value]
    if isinstance(value, tuple):
        return {"__t": [encode(v, wiring) for v in value]}
    if isinstance(value, (frozenset, set)):
        return {"__fs" if isinstance(value, frozenset) else "__s": [encode(v, wiring) for v in _sorted(value)]}
    if isinstance(value, deque):
        return {"__q": [encode(v, wiring) for v in value], "maxlen": value.maxlen}
    if isinstance(value, dict):
        return {"__d": [[encode(k, wiring), encode(v, wiring)] for k, v in value.items()]}
    if isinstance(value, (bytes, bytearray)):
        return {"__ba" if isinstance(value, bytearray) else "__b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, re.Pattern):  # a signature the engine defines in code carries its compiled pattern
        return {"__re": encode(value.pattern, wiring), "fl": value.flags}
    cls = type(value)
    if not cls.__module__.startswith("nimwatch"):
        raise SnapshotError(f"cannot snapshot a {_name(cls)}")
    if dataclasses.is_dataclass(value):
        fields = {f.name: encode(getattr(value, f.name), wiring) for f in dataclasses.fields(value)}
        return {"__c": _name(cls), "f": fields}
    attrs = getattr(value, "__dict__", None)
    if attrs is None:
        raise SnapshotError(f"cannot snapshot a {_name(cls)} (no attributes to walk)")
    return {"__o": _name(cls), "a": {k: encode(v, wiring) for k, v in attrs.items()}}


def _sorted(items: Iterable[Any]) -> list[Any]:
    """Set members in a stable order when they can be ordered (the snapshot of equal state is equal)."""
    values = list(items)
    try:
        return sorted(values)
    except TypeError:
        return values


def decode(data: Any, wiring: Mapping[str, Any]) -> Any:
    """The value :func:`encode` wrote (classes recreated without ``__init__``, references from ``wiring``)."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, wiring) for v in data]
    if not isinstance(data, dict):
        raise SnapshotError(f"unexpected {type(data).__name__} in a snapshot")
    if "__w" in data:
        name = data["__w"]
        if name not in wiring:
            raise SnapshotError(f"nothing to wire for {name!r}")
        return wiring[name]
    if "__e" in data:
        return _class(data["__e"])(decode(data["v"], wiring))
    for tag, collection in (("__t", tuple), ("__fs", frozenset), ("__s", set)):
        if tag in data:
            return collection(decode(v, wiring) for v in data[tag])
    if "__q" in data:
        return deque((decode(v, wiring) for v in data["__q"]), data.get("maxlen"))
    if "__d" in data:
        return {decode(k, wiring): decode(v, wiring) for k, v in data["__d"]}
    if "__ba" in data:
        return bytearray(base64.b64decode(data["__ba"]))
    if "__b" in data:
        return base64.b64decode(data["__b"])
    if "__re" in data:
        return re.compile(decode(data["__re"], wiring), data["fl"])
    if "__c" in data:
        cls = _class(data["__c"])
        if not dataclasses.is_dataclass(cls):
            raise SnapshotError(f"{data['__c']} is no longer a dataclass")
        obj = object.__new__(cls)
        stored = data["f"]
        names = {f.name for f in dataclasses.fields(cls)}
        if set(stored) != names:
            raise SnapshotError(f"{data['__c']} has other fields than when the snapshot was written")
        for name in names:
            object.__setattr__(obj, name, decode(stored[name], wiring))
        return obj
    if "__o" in data:
        obj = object.__new__(_class(data["__o"]))
        for name, value in data["a"].items():
            setattr(obj, name, decode(value, wiring))
        return obj
    raise SnapshotError("an object without a type tag in a snapshot")


def pack_log(parts: Mapping[str, Any], wiring: Mapping[str, Any], base: int, counts: Mapping[str, int]) -> str:
    """One log's snapshot as the journal keeps it: the engine's objects (:meth:`Engine.export_log`), the runs
    before its content (``base``) and the dedupe-key counts a resumed session still needs."""
    data = {"engine": encode(parts, wiring), "base": base, "counts": dict(counts)}
    return json.dumps(data, ensure_ascii=True, separators=(",", ":"))


def unpack_log(text: str, wiring: Mapping[str, Any]) -> tuple[Any, int, dict[str, int]]:
    """What :func:`pack_log` wrote: (the engine's objects, base, counts). Raises ValueError, KeyError,
    TypeError or :class:`SnapshotError` on a snapshot it cannot read."""
    data = json.loads(text)
    return decode(data["engine"], wiring), int(data["base"]), {str(k): int(v) for k, v in data["counts"].items()}


def counts_to_keep(counts: Mapping[str, int], last_line: int) -> dict[str, int]:
    """The occurrence counts a resumed session can still need: those above 1, and those of the last line
    (later notices are about later lines; a run end or a stall on the last line may come again)."""
    return {key: n for key, n in counts.items() if n > 1 or key.rsplit("|", 2)[-2] == str(last_line)}


def fingerprint(rule_files: Iterable[Path]) -> str:
    """What a snapshot is valid for: this format, this nimwatch's source, these rules (a hex digest)."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(f"snapshot {SNAPSHOT_VERSION} nimwatch {__version__}\n".encode())

    def add(name: str, file: Path) -> None:
        h.update(name.encode())
        try:
            h.update(file.read_bytes())
        except OSError:
            h.update(b"?")

    here = Path(__file__).resolve().parent
    for part in _SOURCES:
        path = here / part
        for file in sorted(path.glob("*.py")) if path.is_dir() else [path]:
            add(file.name, file)
    for rules in rule_files:
        add(str(rules), Path(rules))
    return h.hexdigest()
