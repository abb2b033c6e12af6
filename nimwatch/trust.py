"""Root trusts only root: may a file decide what nimwatch does while it runs as root?

Owns :func:`trust_problem`, used for the config
file, the rules files and every command nimwatch runs (hook executables, the
``command`` alert sink), at start, on SIGHUP and before each run; and
:func:`executable_problem` with the ``PATH`` lookup of those commands.

Running as root (effective uid 0), a path is trusted when the file and every
directory above it, up to ``/``, are owned by a trusted owner and writable by
neither group nor others, as OpenSSH's ``StrictModes`` and cron check their
files. Trusted owners are root, the user nimwatch runs as, and the system
accounts ``bin`` and ``sys`` (they own ``/usr`` and ``/usr/bin`` on AIX).
Symbolic links are followed component by component: the link itself must
belong to a trusted owner and its target is checked the same way.

One exception, for a reason: a directory with the sticky bit (``/tmp``) owned
by root. Others may write in it, but the sticky bit lets no one rename or
delete an entry they do not own, so an entry owned by a trusted owner (which
the walk requires anyway) cannot be swapped by another user. An entry there
owned by someone else is refused like anywhere else.

Not running as root, nothing is checked: the files can do no more than the
user already can. POSIX ACLs and AIX extended permissions are not read.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Optional, Union

MAX_LINKS = 40
"""Symbolic links followed in one path before it counts as a loop (as the kernel does)."""
SYSTEM_ACCOUNTS = ("bin", "sys")
"""System accounts that own the system directories on AIX; trusted like root."""


DEFAULT_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
"""PATH for hooks and command sinks when nimwatch itself runs without one."""


def running_as_root() -> bool:
    """Whether nimwatch runs with effective uid 0 (tests replace this function)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def trusted_owners() -> frozenset[int]:
    """Root, the effective user, and the system accounts that own /usr on AIX."""
    uids = {0}
    if hasattr(os, "geteuid"):
        uids.add(os.geteuid())
    for name in SYSTEM_ACCOUNTS:
        with suppress(KeyError):
            uids.add(pwd.getpwnam(name).pw_uid)
    return frozenset(uids)


def _owner_name(uid: int) -> str:
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def _root_group() -> str:
    """The name of gid 0: ``system`` on AIX, ``root`` on Linux."""
    try:
        return grp.getgrgid(0).gr_name
    except KeyError:
        return "0"


def _judge(path: str, st: os.stat_result, owners: frozenset[int], final: bool) -> Optional[str]:
    """Why this one object is not trustworthy, or None."""
    kind = "directory" if stat.S_ISDIR(st.st_mode) else "symbolic link" if stat.S_ISLNK(st.st_mode) else "file"
    if st.st_uid not in owners:
        return (
            f"the {kind} {path} belongs to {_owner_name(st.st_uid)}, who could change it: "
            f"chown root:{_root_group()} {path}"
        )
    if stat.S_ISLNK(st.st_mode):
        return None  # a link's own mode bits mean nothing; its directory was checked
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if not writable:
        return None
    if not final and stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX and st.st_uid == 0:
        return None  # sticky, like /tmp: no one can replace an entry they do not own
    who = {stat.S_IWGRP: "group", stat.S_IWOTH: "others"}.get(writable, "group and others")
    return f"{who} can write the {kind} {path} (mode {stat.filemode(st.st_mode)}): chmod go-w {path}"


def trust_problem(path: Union[str, Path], what: str, *, root: Optional[bool] = None) -> Optional[str]:
    """Why ``path`` may not be used as ``what`` while running as root, or None when it may.

    ``root`` overrides the effective-uid test (None: ask :func:`running_as_root`).
    A path that does not exist is not judged here (its user reports that).
    """
    if not (running_as_root() if root is None else root):
        return None
    owners = trusted_owners()
    full = os.path.abspath(os.fspath(path))
    todo = [part for part in full.split("/") if part]
    current = "/"
    links = 0
    try:
        problem = _judge("/", os.lstat("/"), owners, final=False)
        if problem:
            return _refusal(full, what, problem)
        while todo:
            part = todo.pop(0)
            if part == ".":
                continue
            if part == "..":
                current = os.path.dirname(current) or "/"
                continue
            candidate = os.path.join(current, part)
            st = os.lstat(candidate)
            problem = _judge(candidate, st, owners, final=not todo)
            if problem:
                return _refusal(full, what, problem)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_LINKS:
                    return _refusal(full, what, f"too many symbolic links under {candidate}")
                target = os.readlink(candidate)
                if target.startswith("/"):
                    current = "/"
                todo = [p for p in target.split("/") if p] + todo
                continue
            current = candidate
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _refusal(full, what, f"cannot check it: {exc.strerror or exc}")
    return None


def _refusal(path: str, what: str, problem: str) -> str:
    return f"refusing {what} {path} while running as root: {problem}"


def hook_path(env: Mapping[str, str]) -> str:
    """The PATH a command's bare name is looked up in: its own ``env``'s, else nimwatch's, else a default."""
    return env.get("PATH") or os.environ.get("PATH") or DEFAULT_PATH


def resolve_executable(command: str, path: str) -> Optional[str]:
    """An absolute path for ``command`` (already absolute, or found in ``path``); None if not found."""
    if os.path.isabs(command):
        return command
    return shutil.which(command, path=path)


def executable_problem(executable: str) -> Optional[str]:
    """Why ``executable`` may not be run as a hook or a command sink, or None.

    Always: it must exist, be a regular file and be executable. Running as
    root: it and every directory above it must be trusted (:func:`trust_problem`).
    """
    try:
        st = os.stat(executable)
    except OSError as exc:
        return f"{executable}: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return f"{executable} is not a regular file"
    if not os.access(executable, os.X_OK):
        return f"{executable} is not executable (chmod +x)"
    return trust_problem(executable, "the command")
