"""Diagnostics through the stdlib ``logging``: levels, text or JSON records, stderr or a size-bounded file.

Owns :func:`configure`, called once per command by the CLI from the global
``--log-level``, ``--log-format``, ``--log-file``, ``--log-max-size`` and
``--log-backups`` options. Every module logs to a child of the ``nimwatch``
logger (``logging.getLogger(__name__)``); nothing else writes diagnostics.

A text record is one line, ``2026-11-22T03:21:33.120Z WARNING nimwatch: message``
(UTC, milliseconds); a JSON record is one object per line with ``schema``,
``ts``, ``level``, ``logger`` and ``message`` (``exception`` when there is a
traceback). Control characters in a message are escaped and a character
stderr cannot encode (an ISO8859-1 terminal) becomes a backslash escape, so a
file name from a log can never garble the terminal. With ``--log-file`` the
records go to that file instead, rotated by size (``file``, ``file.1`` ...
``file.N``), so a service's diagnostics stay bounded.

Also owns :func:`keep_appending`: the service's stdout and stderr files get
``O_APPEND``, so that a copy-and-truncate rotation from cron leaves no hole.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any, Optional, TextIO

from nimwatch.errors import UsageError
from nimwatch.schema import SCHEMA_VERSION
from nimwatch.terminal import escape_controls

LOGGER = "nimwatch"
LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
DEFAULT_LEVEL = "info"
DEFAULT_MAX_SIZE = "10M"
DEFAULT_BACKUPS = 5

_SIZE = re.compile(r"^\s*(\d+)\s*([kKmMgG]?)[bB]?\s*$")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """``10M``, ``512K``, ``1G`` or plain bytes; at least 4 KiB."""
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"--log-max-size: expected a size such as 10M, 512K or 1048576, not {text!r}")
    size = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if size < 4096:
        raise UsageError("--log-max-size: at least 4K (a few hundred records)")
    return size


def _iso(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created * 1000) % 1000:03d}Z"


class TextFormatter(logging.Formatter):
    """``TIMESTAMP LEVEL nimwatch: message``, one line (a traceback follows, indented)."""

    def format(self, record: logging.LogRecord) -> str:
        lines = [escape_controls(line) for line in record.getMessage().splitlines() or [""]]
        text = f"{_iso(record.created)} {record.levelname} nimwatch: " + "\n    ".join(lines)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record (``ensure_ascii``: safe on any terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "ts": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=True, default=str)


class StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time, in what its encoding can carry."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + "\n"
            stream: TextIO = sys.stderr
            encoding = getattr(stream, "encoding", None) or "ascii"
            try:
                text.encode(encoding)
            except (UnicodeEncodeError, LookupError):
                text = text.encode(encoding if encoding else "ascii", "backslashreplace").decode(encoding, "replace")
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass  # stderr is gone (closed terminal, a service without logs): nowhere left to say it
        except Exception:  # the logging module's own policy for a formatting bug
            self.handleError(record)


_state: dict[str, Any] = {"file": None}


def configure(
    level: str = DEFAULT_LEVEL,
    fmt: str = "text",
    log_file: Optional[str] = None,
    max_size: str = DEFAULT_MAX_SIZE,
    backups: int = DEFAULT_BACKUPS,
) -> None:
    """Set up the ``nimwatch`` logger (again: a second call replaces the first's handlers)."""
    if level not in LEVELS:
        raise UsageError(f"--log-level: one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise UsageError(f"--log-format: one of {', '.join(FORMATS)}")
    if not 1 <= backups <= 100:
        raise UsageError("--log-backups: from 1 to 100 (the file is rotated, never truncated)")
    handler: logging.Handler
    if log_file:
        from logging.handlers import RotatingFileHandler  # only with a log file: a leaner start-up

        try:
            handler = RotatingFileHandler(
                log_file, maxBytes=parse_size(max_size), backupCount=backups, encoding="utf-8"
            )
        except OSError as exc:
            raise UsageError(f"--log-file {log_file}: cannot open: {exc.strerror or exc}") from None
    else:
        handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger = logging.getLogger(LOGGER)
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    _state["file"] = log_file or None


def logging_to_file() -> bool:
    """True when diagnostics go to ``--log-file`` rather than stderr."""
    return _state["file"] is not None


def keep_appending(*streams: TextIO) -> None:
    """Give each stream that is a regular file ``O_APPEND`` (SRC's ``-o``/``-e`` files, a shell's ``>``).

    A rotation that copies the file and truncates it then goes on at the new
    end instead of leaving a hole of NUL bytes up to the old offset.
    """
    try:
        import fcntl
        import stat
    except ImportError:  # not a POSIX system
        return
    for stream in streams:
        try:
            fd = stream.fileno()
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            if not flags & os.O_APPEND:
                fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_APPEND)
        except (OSError, ValueError, AttributeError):
            continue  # not a real file (a test's capture), or gone
