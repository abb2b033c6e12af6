"""Parsed copies of the built-in YAML files, kept beside them as Python keeps its bytecode.

Owns :func:`load_yaml_cached`, and how every such copy is read and written
(:func:`read_copy`, :func:`write_copy`; :mod:`nimwatch.regexstore` keeps its
own with them). Every nimwatch command reads the rules
(``phases/nimadm.yaml``, ``failures.yaml``) and the scan anchors: parsing them
costs ~25 ms with PyYAML's C loader and ~200 ms with the pure-Python one (AIX,
where PyYAML has no compiled part), plus importing PyYAML itself. So the first
read of a file stores what it parsed to (line numbers included) as JSON in the
``__pycache__`` directory beside it, keyed by a hash of the file's bytes; later
reads use that copy while the file is unchanged. A changed file is parsed
again, and a cache that cannot be written (a read-only install, another user's
package) is simply not kept: results never depend on it. A copy that group or
others can write, or that another user owns, is ignored (it would be a way to
change the rules).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

from nimwatch.core.validation import LineDict, LineList

CACHE_DIR = "__pycache__"
FORMAT = "nimwatch-yaml-cache 1"
"""Salts the hash: a new layout (or a loader that builds other values) invalidates every copy."""
_MAP = "\x00m"
_LIST = "\x00l"


class _Unstorable(Exception):
    """The parsed value holds something JSON cannot carry exactly (a YAML date, binary): not cached."""


def cache_path(path: Path) -> Path:
    """Where the parsed copy of ``path`` is kept."""
    return path.parent / CACHE_DIR / (path.name + ".json")


def load_yaml_cached(path: Path) -> Any:
    """What :func:`nimwatch.yamlfile.load_yaml` gives for ``path``, from its parsed copy when it is current."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        from nimwatch.yamlfile import load_yaml

        return load_yaml(path)  # the error as load_yaml words it (unreadable, not UTF-8)
    digest = hashlib.sha256(FORMAT.encode() + b"\n" + raw).hexdigest()
    found = _read(cache_path(path), digest)
    if found is not None:
        return found[0]
    from nimwatch.yamlfile import parse_yaml

    from_yaml = parse_yaml(text, str(path))
    _write(cache_path(path), digest, from_yaml)
    return from_yaml


def read_copy(where: Path) -> bytes | None:
    """The bytes of a kept copy, unless there is none or group, others or another user could have written it."""
    try:
        with open(where, "rb") as handle:
            st = os.fstat(handle.fileno())
            if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or st.st_uid not in (0, os.geteuid()):
                return None
            return handle.read()
    except OSError:
        return None


def write_copy(where: Path, blob: bytes) -> bool:
    """Keep ``blob`` at ``where`` (best effort: any failure leaves the old copy or none, never a partial one)."""
    tmp = where.with_name(f".{where.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        where.parent.mkdir(mode=0o755, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        os.replace(tmp, where)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    return True


def _read(where: Path, digest: str) -> tuple[Any] | None:
    """The stored document (in a 1-tuple: it may be None) when ``where`` holds one for ``digest``."""
    blob = read_copy(where)
    if blob is None:
        return None
    try:
        data = json.loads(blob, object_hook=_decode)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("digest") != digest or "doc" not in data:
        return None
    return (data["doc"],)


def _write(where: Path, digest: str, doc: Any) -> None:
    """Keep the parsed copy (best effort: any failure leaves no copy, never a partial one)."""
    try:
        text = json.dumps({"digest": digest, "doc": _encode(doc)}, ensure_ascii=False, separators=(",", ":"))
    except _Unstorable:
        return
    write_copy(where, text.encode("utf-8"))


def _encode(value: Any) -> Any:
    if isinstance(value, LineDict):
        pairs = [[key, _encode(item)] for key, item in value.items()]
        return {_MAP: [value.line, value.key_lines, pairs]}
    if isinstance(value, LineList):
        return {_LIST: [value.line, list(value.item_lines), [_encode(item) for item in value]]}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise _Unstorable(type(value).__name__)


def _decode(obj: dict[str, Any]) -> Any:
    """``json.loads``' object hook: rebuilds the line-aware mappings and lists (the innermost first)."""
    for tag, kind, lines in ((_MAP, LineDict, "key_lines"), (_LIST, LineList, "item_lines")):
        entry = obj.get(tag)
        if entry is not None:
            value = kind(entry[2])
            value.line = entry[0]
            setattr(value, lines, entry[1])
            return value
    return obj
