"""Which program a command names, and whether nimwatch may run it.

Owns the environment a command inherits (:func:`base_env`), where a bare
command name is looked up (:func:`command_path`, :func:`resolve_executable`)
and :func:`executable_problem`: it must exist, be a regular file and be
executable; running as root, it must be trusted (:mod:`nimwatch.trust`). Hooks
and the ``command`` alert sink check it at config load and again before each
run (the file may have been replaced since).
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Mapping
from typing import Optional

from nimwatch import trust

DEFAULT_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
"""PATH for commands when nimwatch's own environment has none (a service)."""


def base_env() -> dict[str, str]:
    """What a command inherits from nimwatch's environment: PATH, HOME, LANG (and TZ, which AIX needs)."""
    env = {
        "PATH": os.environ.get("PATH") or DEFAULT_PATH,
        "HOME": os.environ.get("HOME") or "/",
        "LANG": os.environ.get("LANG") or "C",
    }
    if os.environ.get("TZ"):
        env["TZ"] = os.environ["TZ"]
    return env


def command_path(env: Mapping[str, str]) -> str:
    """The PATH a command's bare name is looked up in."""
    return env.get("PATH") or os.environ.get("PATH") or DEFAULT_PATH


def resolve_executable(command: str, path: str) -> Optional[str]:
    """An absolute path for ``command`` (already absolute, or found in ``path``); None if not found."""
    if os.path.isabs(command):
        return command
    return shutil.which(command, path=path)


def executable_problem(executable: str, root: Optional[bool] = None) -> Optional[str]:
    """Why ``executable`` may not be run as a hook or alert command, or None.

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
    return trust.trust_problem(executable, "the command", root=trust.running_as_root() if root is None else root)
