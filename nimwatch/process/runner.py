"""The one place nimwatch starts an external command: hooks and the ``command`` alert sink.

Owns :func:`run_command` and :class:`CommandResult`. The rules, which callers
rely on and must not work around:

* **No shell, ever.** The command is an argv list handed to ``execve`` through
  :class:`subprocess.Popen` with ``shell=False``; nothing in an argument is
  interpreted, so a client name full of ``;``, ``$( )`` or quotes arrives as
  one verbatim argument.
* **Its own session, and everything it starts.** The command starts a new
  session and process group (``start_new_session=True``) and, on Linux where
  nimwatch's cgroup is writable, in a cgroup of its own
  (:mod:`nimwatch.process.containment`). On timeout *every process it started*
  gets SIGTERM, then SIGKILL after :data:`KILL_GRACE` seconds: children a
  script started (``sleep``, ``ssh``, ``curl``), also those that called
  ``setsid`` or were orphaned by a double fork.
* **Bounded output.** stdout and stderr are read together, without a thread,
  and only the last :data:`OUTPUT_TAIL_BYTES` are kept, however much the
  command prints.
* **Never raises** for a command that cannot run (missing, not executable, bad
  working directory): the :class:`CommandResult` carries the ``error``.

stdin receives the given bytes (the event as JSON); a command that does not
read them is fine. :func:`base_env` is what a command inherits from nimwatch's
environment.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Optional

from nimwatch.process.containment import Containment
from nimwatch.trust import DEFAULT_PATH

OUTPUT_TAIL_BYTES = 4096
"""How much of the end of a command's output is kept (stdout and stderr together)."""

KILL_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL to a timed-out command's processes."""

DRAIN_AFTER_EXIT = 1.0
"""Seconds to keep reading output after the command exited while something it left behind
still holds the output pipe; those leftovers are then ended like a timed-out command."""

_SLICE = 0.05
"""Longest wait inside the read loop before checking whether the command exited (AIX has no pidfd)."""

_READ_SIZE = 65536


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


@dataclass(frozen=True)
class CommandResult:
    """What happened to one command run."""

    argv: tuple[str, ...]
    """The argv that was run (or that could not be started)."""
    returncode: Optional[int]
    """Exit status; negative N for death by signal N; None when it never started."""
    timed_out: bool
    """True when the timeout expired and the process group was killed."""
    duration: float
    """Seconds from start to end (monotonic clock)."""
    output_tail: str
    """The last :data:`OUTPUT_TAIL_BYTES` of stdout and stderr, decoded as UTF-8 (bad bytes replaced)."""
    error: Optional[str]
    """Why the command could not be started or was ended early; None when it ran normally."""
    cancelled: bool = False
    """Ended because nimwatch is stopping (it did not finish; the caller may run it again later)."""

    @property
    def ok(self) -> bool:
        """Ran, finished in time and exited 0."""
        return self.error is None and not self.timed_out and self.returncode == 0


def _pump(
    proc: subprocess.Popen[bytes],
    stdin: bytes,
    tail: bytearray,
    deadline: float,
    box: Containment,
    cancel: Optional[threading.Event],
) -> tuple[bool, bool]:
    """Feed stdin and collect output until the output closes, the command exits, the deadline or ``cancel``.

    Returns ``(timed_out, leftovers)``; a cancel returns ``(True, False)`` too
    (the caller tells them apart). ``leftovers`` means the command exited
    but something it started still held its output (or stdin) pipe
    :data:`DRAIN_AFTER_EXIT` seconds later.
    """
    out = proc.stdout
    inp = proc.stdin
    sel = selectors.DefaultSelector()
    pending = memoryview(stdin)
    exited_at: Optional[float] = None
    try:
        if out is not None:
            sel.register(out, selectors.EVENT_READ)
        if inp is not None:
            if pending:
                os.set_blocking(inp.fileno(), False)
                sel.register(inp, selectors.EVENT_WRITE)
            else:
                _close(inp)
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline or (cancel is not None and cancel.is_set()):
                return True, False
            if exited_at is None:
                box.sample()
                exited_at = now if proc.poll() is not None else None
            if exited_at is not None and now - exited_at >= DRAIN_AFTER_EXIT:
                return False, True
            for key, _ in sel.select(min(_SLICE, deadline - now)):
                if key.fileobj is out and out is not None:
                    chunk = os.read(out.fileno(), _READ_SIZE)
                    if chunk:
                        tail += chunk
                        del tail[:-OUTPUT_TAIL_BYTES]
                    else:
                        sel.unregister(out)
                elif key.fileobj is inp and inp is not None:
                    pending = _feed(inp, pending)
                    if not pending:
                        sel.unregister(inp)
                        _close(inp)
        return False, False
    finally:
        sel.close()


def _feed(inp: IO[bytes], pending: memoryview) -> memoryview:
    """Write what the pipe takes now; the rest is for later (a command that never reads is fine)."""
    try:
        written = os.write(inp.fileno(), pending[:_READ_SIZE])
    except BlockingIOError:
        written = 0
    except OSError:  # EPIPE: the command closed stdin or exited without reading it
        written = len(pending)
    return pending[written:]


def _close(stream: Optional[IO[bytes]]) -> None:
    if stream is not None:
        with contextlib.suppress(OSError):
            stream.close()


def _start_error(argv: tuple[str, ...], cwd: Optional[str], exc: BaseException) -> str:
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        if cwd is not None and exc.filename == cwd:
            return f"cannot start {argv[0]}: working directory {cwd}: {reason}"
        return f"cannot start {argv[0]}: {reason}"
    return f"cannot start {argv[0] if argv else 'an empty command'}: {exc}"


def run_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    stdin: bytes,
    timeout: float,
    cwd: Optional[str] = None,
    cancel: Optional[threading.Event] = None,
    contain: str = "auto",
) -> CommandResult:
    """Run ``argv`` without a shell, in its own session (and cgroup), within ``timeout`` seconds.

    Args:
        argv: the program (absolute path, or a name looked up in ``env["PATH"]``) and its arguments.
        env: the command's whole environment (nothing is inherited).
        stdin: bytes written to the command's stdin, which is then closed.
        timeout: seconds before every process of the command is sent SIGTERM, then SIGKILL.
        cwd: working directory (None: nimwatch's own).
        cancel: set it to end the command early the same way (nimwatch is stopping).
        contain: how its processes are found (:class:`~nimwatch.process.containment.Containment`).

    Returns:
        The result; a command that cannot be started gives ``error`` and ``returncode=None``.
    """
    args = tuple(argv)
    started = time.monotonic()
    if not args or not args[0]:
        return CommandResult(args, None, False, 0.0, "", "cannot start an empty command")
    box = Containment(contain)
    try:
        proc = subprocess.Popen(
            list(args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            shell=False,
            close_fds=True,
            start_new_session=True,
            preexec_fn=box.preexec(),
        )
    except (OSError, ValueError, TypeError, subprocess.SubprocessError) as exc:
        box.failed_to_start()
        return CommandResult(args, None, False, time.monotonic() - started, "", _start_error(args, cwd, exc))
    box.started(proc.pid)
    tail = bytearray()
    deadline = started + max(timeout, 0.0)
    error: Optional[str] = None
    try:
        timed_out, leftovers = _pump(proc, stdin, tail, deadline, box, cancel)
        if not timed_out:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                timed_out = True
        cancelled = timed_out and cancel is not None and cancel.is_set() and time.monotonic() < deadline
        if cancelled:
            timed_out = False
            error = "cancelled: nimwatch is stopping; every process it started was ended"
        elif timed_out:
            error = f"timed out after {timeout:g} s: every process it started was ended ({box.kind})"
        elif leftovers:
            error = "exited, but processes it started still held its output: they were ended"
        if error is not None:
            box.end(KILL_GRACE, proc)
    finally:
        _close(proc.stdin)
        _close(proc.stdout)
        if proc.returncode is None:  # an exception above: never leave a process behind
            box.end(0.0, proc)
        box.release()
    output = tail.decode("utf-8", errors="replace")
    return CommandResult(args, proc.returncode, timed_out, time.monotonic() - started, output, error, cancelled)
