"""The compiled programs of nimwatch's regular expressions, kept beside its bytecode.

Owns :func:`open_store`: it fills :data:`nimwatch.core.recompile.STORE` from
``nimwatch/__pycache__/regex.<python tag>.bin`` and saves the store there when
the process ends, if it recorded programs the file did not hold. Like Python's
own ``.pyc`` files (the same :mod:`marshal` format), the file is tied to the
exact Python that wrote it (another build's copy is ignored), written whole or
not at all, and simply not kept where it cannot be written (a read-only
install): results never depend on it, only start-up time. A copy that group or
others can write, or that another user owns, is ignored (it would be a way to
change how patterns match).

The store also keeps what nimwatch's scanners derive from each pattern (its
required literals, whether a line alone decides it): those are stamped with a
hash of the source of the code that derives them (:data:`DERIVING_MODULES`),
so a changed nimwatch derives them again.
"""

from __future__ import annotations

import atexit
import hashlib
import marshal
import os
import sys
import threading
from pathlib import Path
from typing import Any, Optional

from nimwatch.core.recompile import STORE, CodeStore, DerivedKey, Entry, Key, python_stamp
from nimwatch.datacache import read_copy, write_copy

MAX_ENTRIES = 4096
"""Programs kept in the file; past it, those this process used are kept (a user's changed rules do not pile up)."""

DERIVING_MODULES = ("scanner.py", "literals.py", "recompile.py")
"""The modules of :mod:`nimwatch.core` whose functions derive the values the store keeps (see :meth:`derive`)."""

_opened: list[Path] = []


def store_path() -> Path:
    """Where this Python's store is kept: beside nimwatch's bytecode."""
    package = Path(__file__).resolve().parent
    return package / "__pycache__" / f"regex.{sys.implementation.cache_tag or 'python'}.bin"


def open_store(path: Optional[Path] = None, store: CodeStore = STORE) -> None:
    """Fill ``store`` from the file (once per process) and save what it records when the process ends."""
    if _opened:
        return
    where = path or store_path()
    _opened.append(where)
    stamp = code_stamp()
    entries, derived = read_store(where, stamp)
    store.entries.update({key: entry for key, entry in entries.items() if key not in store.entries})
    store.derived.update({key: value for key, value in derived.items() if key not in store.derived})
    store.deriving = stamp is not None
    if _writable(where):  # (recording costs a second parse of each new pattern: only for a copy that is kept)
        store.recording = True
        store.alone = lambda: threading.active_count() == 1
        atexit.register(save_store, where, store, stamp)


def _writable(where: Path) -> bool:
    """Whether a copy at ``where`` could be written (its directory, or the one that would hold it)."""
    folder = where.parent if where.parent.is_dir() else where.parent.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def code_stamp() -> Optional[str]:
    """A hash of the source of the code that derives the stored values (None when it cannot be read)."""
    digest = hashlib.sha256()
    core = Path(__file__).resolve().parent / "core"
    try:
        for name in DERIVING_MODULES:
            digest.update((core / name).read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def read_store(where: Path, stamp: Optional[str]) -> tuple[dict[Key, Entry], dict[DerivedKey, Any]]:
    """The programs stored at ``where`` for this Python, and the derived values when ``stamp`` is theirs."""
    blob = read_copy(where)
    if blob is None:
        return {}, {}
    try:
        data = marshal.loads(blob)
    except Exception:  # truncated or not marshal data: no copy
        return {}, {}
    if not isinstance(data, tuple) or len(data) != 4 or data[0] != python_stamp() or not isinstance(data[1], dict):
        return {}, {}
    entries, derived_stamp, derived = data[1], data[2], data[3]
    if stamp is None or derived_stamp != stamp or not isinstance(derived, dict):
        derived = {}
    return entries, derived


def save_store(where: Path, store: CodeStore = STORE, stamp: Optional[str] = None) -> None:
    """Keep the store at ``where`` when it grew (best effort: a failure leaves the old copy or none)."""
    if not store.added:
        return
    old_entries, old_derived = read_store(where, stamp)  # what other processes kept meanwhile
    entries = _trimmed({**old_entries, **store.entries}, store.used)
    derived = _trimmed({**old_derived, **store.derived}, store.used_derived) if stamp is not None else {}
    data: Any = (python_stamp(), entries, stamp, derived)
    try:
        blob = marshal.dumps(data)
    except ValueError:
        return
    if write_copy(where, blob):
        store.added = 0


def _trimmed(table: dict[Any, Any], used: set[Any]) -> dict[Any, Any]:
    """``table`` cut to :data:`MAX_ENTRIES`, keeping first what this process used."""
    if len(table) <= MAX_ENTRIES:
        return table
    kept = {key: table[key] for key in used if key in table}
    for key, value in table.items():
        if len(kept) >= MAX_ENTRIES:
            break
        kept.setdefault(key, value)
    return kept
