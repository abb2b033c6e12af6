"""How nimadm names its logs: ``<client>_alt_mig.log``.

Owns the file-name convention every source and command shares (the engine
takes a log's client from it), kept here so that the engine never imports a
source. Names only: nothing here touches a file.
"""

from __future__ import annotations

LOG_SUFFIX = "_alt_mig.log"


def client_from_path(path: object) -> str:
    """``<client>_alt_mig.log`` gives the client; other names give '' (taken from the log).

    ``path``: a string or a path object (its ``str`` with ``/`` between directories)."""
    name = str(path).rsplit("/", 1)[-1]
    return name[: -len(LOG_SUFFIX)] if name.endswith(LOG_SUFFIX) and len(name) > len(LOG_SUFFIX) else ""
