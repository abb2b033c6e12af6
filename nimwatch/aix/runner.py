"""The one way nimwatch runs AIX and NIM commands: argv lists, ``LC_ALL=C``, a timeout each.

A :class:`Runner` runs one argv list and returns a :class:`CommandResult`
(exit status, stdout, stderr, or why it could not run). The real one,
:class:`SubprocessRunner`, never uses a shell, forces the C locale (a French
``lslpp`` translates its header and states), gives the command ``/dev/null``
as stdin and its own process group, and kills the group when the timeout
expires. Tests give the checks a runner that replays recorded outputs.

:func:`run_remote` runs a command on a NIM client through NIM's remote shell
``/usr/lpp/bos.sysmgt/nim/methods/c_rsh`` (rsh or nimsh, per the client's
``connect`` attribute). ``c_rsh`` does not return the remote exit status, so
the remote command runs in a subshell followed by ``echo rc=$?`` and the
status is read back from the end of stdout (the approach of IBM's
ansible-power-aix ``nim.py``). Only fixed command words and validated names
reach the remote shell, each quoted.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Optional, Protocol

from nimwatch.aix.text import decode

C_RSH = "/usr/lpp/bos.sysmgt/nim/methods/c_rsh"
"""NIM's remote shell from the master to a client."""

LOCAL_TIMEOUT = 120.0
"""Default seconds for a command on the master."""
REMOTE_TIMEOUT = 300.0
"""Default seconds for a command on a client (IBM's automation waits 300 s for ``oslevel``)."""

AFTER_KILL = 5.0
"""Seconds to collect what a killed command printed before giving up on its pipes."""

_RC_TRAILER = re.compile(r"rc=(-?\d+)[ \t\r\n]*\Z")


@dataclass(frozen=True)
class CommandResult:
    """What one command did.

    ``rc`` is the command's exit status (for a remote command, the status on
    the client). ``error`` is set when the command could not run or its
    status is unknown (not found, timed out, remote shell failed); ``rc`` is
    then None.
    """

    argv: tuple[str, ...]
    rc: Optional[int]
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    host: str = ""
    """The NIM client's host for a remote command ('' on the master)."""

    @property
    def ran(self) -> bool:
        """The command ran and its exit status is known."""
        return not self.error and self.rc is not None

    @property
    def ok(self) -> bool:
        return self.ran and self.rc == 0

    @property
    def display(self) -> str:
        """The command as an admin would type it (remote commands prefixed with the host)."""
        text = " ".join(shlex.quote(a) for a in self.argv)
        return f"[{self.host}] {text}" if self.host else text

    def why_not(self) -> str:
        """One line saying why the command gave no usable answer."""
        if self.error:
            return f"`{self.display}`: {self.error}"
        detail = first_line(self.stderr) or first_line(self.stdout)
        return f"`{self.display}` exited {self.rc}" + (f": {detail}" if detail else "")


def first_line(text: str) -> str:
    return next((line for line in (raw.strip() for raw in text.splitlines()) if line), "")


class Runner(Protocol):
    """Runs one argv list with a timeout."""

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult: ...


class SubprocessRunner:
    """Runs commands as real processes: no shell, C locale, own process group, killed at the timeout.

    Args:
        env: the environment to start from (default: this process's);
            ``LC_ALL``, ``LANG`` and ``LC_MESSAGES`` are always ``C``.
    """

    def __init__(self, env: Optional[Mapping[str, str]] = None) -> None:
        self.env = {**(os.environ if env is None else env), "LC_ALL": "C", "LANG": "C", "LC_MESSAGES": "C"}

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        args = tuple(argv)
        try:
            proc = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.env,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            return CommandResult(args, None, error=f"cannot run: {exc.strerror or exc}")
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            try:
                out, err = proc.communicate(timeout=AFTER_KILL)
            except subprocess.TimeoutExpired:  # something outside the group still holds the pipes
                for stream in (proc.stdout, proc.stderr):
                    if stream is not None:
                        with contextlib.suppress(OSError):
                            stream.close()
                proc.wait()
                out, err = b"", b""
            return CommandResult(args, None, decode(out), decode(err), error=f"no answer within {timeout:g} s (killed)")
        return CommandResult(args, proc.returncode, decode(out), decode(err))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        with contextlib.suppress(OSError):  # it ended on its own between the timeout and the kill
            proc.kill()


def remote_script(argv: Sequence[str]) -> str:
    """The shell text ``c_rsh`` runs on the client: the quoted command in a C-locale subshell, then its status."""
    words = " ".join(shlex.quote(a) for a in argv)
    return f"(LC_ALL=C; export LC_ALL; {words}); echo rc=$?"


def split_remote_status(stdout: str) -> tuple[Optional[int], str]:
    """(remote exit status, stdout without the ``rc=N`` trailer); status None when the trailer is missing."""
    match = _RC_TRAILER.search(stdout)
    if match is None:
        return None, stdout
    return int(match.group(1)), stdout[: match.start()]


def run_remote(runner: Runner, host: str, argv: Sequence[str], timeout: float = REMOTE_TIMEOUT) -> CommandResult:
    """Run ``argv`` on the NIM client ``host`` through ``c_rsh``; the result carries the remote exit status."""
    inner = tuple(argv)
    result = runner.run([C_RSH, host, remote_script(inner)], timeout)
    if result.error:
        return replace(result, argv=inner, host=host)
    status, stdout = split_remote_status(result.stdout)
    if result.rc != 0 or status is None:
        detail = first_line(result.stderr) or first_line(stdout)
        if result.rc != 0:
            why = f"the NIM remote shell (c_rsh) exited {result.rc}"
        else:
            why = "the NIM remote shell returned no exit status (the command did not run on the client)"
        why += f": {detail}" if detail else ""
        return CommandResult(inner, None, stdout, result.stderr, error=why, host=host)
    return CommandResult(inner, status, stdout, result.stderr, host=host)
