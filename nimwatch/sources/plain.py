"""The plain table's follower: the live tailer, read in the caller's thread each time ``nimwatch status`` draws.

Owns :class:`PlainFollower`. At every look the paths are listed again with
:func:`~nimwatch.sources.files.find_logs` (each problem said once; a log that
appears in a directory is followed from then on), and what the files gained
is read by the tailer ``watch`` and ``tui`` use (rotation, truncation,
unreadable files). A log unchanged for ``stall.incomplete_after_minutes`` is
read as finished: the parser says whether it succeeded, failed or is
incomplete, as ``report`` does; one that grows again is read anew from its
start. The finished run records of ``nimwatch run`` are read before the logs
(a finished record's log is whole); after the logs, what they cannot say is
applied: nimadm's exit status, the hook results the watcher kept, the clients' NIM state, then the
stall checks.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Callable

from nimwatch.engine import Notice
from nimwatch.launcher.exits import exits_of, finished_exits
from nimwatch.sources.files import find_logs
from nimwatch.vocabulary import LOG_RESTARTED


class PlainFollower:
    """Follows ``paths`` for a session built by :func:`nimwatch.session.plain`, one look at a time.

    Args:
        session: the session (its engine, tailer, config, run records, NIM feed and stall monitor).
        paths: directories (their ``*_alt_mig.log``) and log files.
        say: where each problem is said, once.
    """

    def __init__(self, session: Any, paths: Sequence[str], say: Callable[[str], None]) -> None:
        self.session = session
        self.paths = list(paths)
        self.say = say
        self.problems: dict[str, str] = {}
        """What could not be read (path -> the message said), for the exit status."""
        self.read: set[str] = set()
        """The logs read at least once: the table's rows (a log never readable has none)."""
        self.closed: set[str] = set()
        session.tailer.on_error = self._tailer_error
        session.engine.subscribe(self._on_notice)

    def _problem(self, key: str, message: str) -> None:
        if self.problems.get(key) != message:
            self.problems[key] = message
            self.say(message)

    def _tailer_error(self, message: str) -> None:
        """The tailer says each problem once while it lasts."""
        self.problems[message.split(": ", 1)[0]] = message
        self.say(message)

    def _on_notice(self, notice: Notice) -> None:
        if notice.event == LOG_RESTARTED.name:  # truncated or replaced: a new content, judged anew
            self.closed.discard(notice.log)

    def look(self) -> None:
        """Read what is new: every log at the first look, then what the files gained."""
        session = self.session
        exits = finished_exits(session.runs)  # before the logs: a finished record's log is whole
        found, problems = find_logs(self.paths)
        for problem in problems:
            self._problem(problem.split(": ", 1)[0], problem)
        tailer = session.tailer
        tailer.follow(found)
        for name in sorted(self.closed):
            try:
                grown = os.stat(name).st_size > (tailer.offset(name) or 0)
            except OSError:
                continue
            if grown:  # more lines after it was taken for finished: read it anew
                self.closed.discard(name)
                tailer.reread(name, "resumed")
        tailer.scan_once()
        unreadable = {line.split(": ", 1)[0] for line in tailer.problems()}
        self.read.update(name for name in tailer.logs if name not in unreadable)
        self.close_silent()
        for name in sorted(self.read):
            for event in exits_of(exits, name):
                session.engine.report(event, None, name)
        for source in session.outside:  # what the watcher's hooks gave (from its journal), the NIM state
            source.tick()
        session.check_stalls(session.clock())

    def close_silent(self) -> None:
        """A log unchanged for ``stall.incomplete_after_minutes`` is finished: the parser gives its outcome."""
        limit = self.session.config.stall.incomplete_after_minutes * 60.0
        now = self.session.clock()
        for name in sorted(self.read - self.closed):
            try:
                mtime = os.stat(name).st_mtime
            except OSError:
                continue
            if now - mtime > limit:
                self.session.engine.close(name, at=mtime)
                self.closed.add(name)
