"""The commands a pre-flight runs, each once, and the facts parsed from them.

:class:`Probe` runs commands on the master and on the client through one
:class:`~nimwatch.aix.runner.Runner` and remembers every answer, so that
several checks can read ``lspv`` or ``lsvg -l rootvg`` without running them
twice. A remote command is only attempted once the client is known to NIM and
has answered the reachability test; otherwise it gives a result that says why
it did not run. Each check sees the list of commands it consulted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from nimwatch.aix.levels import FilesetLevel
from nimwatch.aix.parse_nim import NimObject, parse_lsnim_l
from nimwatch.aix.parse_system import Fileset, find_fileset, parse_installp_L, parse_lslpp_Lc, parse_lslpp_lc
from nimwatch.aix.runner import LOCAL_TIMEOUT, REMOTE_TIMEOUT, CommandResult, Runner, run_remote
from nimwatch.preflight.model import Request

LSNIM = "/usr/sbin/lsnim"
NIM = "/usr/sbin/nim"
LSLPP = "/usr/bin/lslpp"
OSLEVEL = "/usr/bin/oslevel"
HOSTNAME = "/usr/bin/hostname"
LSVG = "/usr/sbin/lsvg"
LSPV = "/usr/sbin/lspv"
LSSRC = "/usr/bin/lssrc"
BOOTINFO = "/usr/sbin/bootinfo"
PRTCONF = "/usr/sbin/prtconf"
CAT = "/usr/bin/cat"
LS = "/usr/bin/ls"
PS = "/usr/bin/ps"

SHOWRES_TIMEOUT = 600.0
"""``nim -o showres`` lists a whole SPOT or lpp_source."""

ALT_DISK_RTE = "bos.alt_disk_install.rte"


class Probe:
    """Runs and remembers the pre-flight's commands.

    Args:
        runner: runs one argv list (tests replay recordings).
        request: the client, resources and disks being checked.
        timeout: when given, the timeout of every command (else per command: 120 s on the
            master, 300 s on the client, 600 s for ``nim -o showres``).
    """

    def __init__(self, runner: Runner, request: Request, timeout: Optional[float] = None) -> None:
        self.runner = runner
        self.request = request
        self.timeout = timeout
        self._cache: dict[tuple[str, tuple[str, ...]], CommandResult] = {}
        self.used: list[str] = []

    # ------------------------------------------------------------------ running

    def begin(self) -> None:
        """Start a new check: forget the list of commands consulted."""
        self.used = []

    def _note(self, result: CommandResult) -> CommandResult:
        if result.display not in self.used:
            self.used.append(result.display)
        return result

    def local(self, argv: Sequence[str], timeout: float = LOCAL_TIMEOUT) -> CommandResult:
        """Run ``argv`` on the master (once)."""
        return self._note(self._run("", tuple(argv), timeout))

    def remote(self, argv: Sequence[str], timeout: float = REMOTE_TIMEOUT) -> CommandResult:
        """Run ``argv`` on the client (once), if it is defined and answered the reachability test."""
        host = self.host
        args = tuple(argv)
        if not host:
            return CommandResult(args, None, error="not run: the client's host is not known to NIM")
        if not self.reachability().ok:
            return CommandResult(
                args, None, error="not run: the client did not answer (see client-reachable)", host=host
            )
        return self._note(self._run(host, args, timeout))

    def _run(self, host: str, args: tuple[str, ...], timeout: float) -> CommandResult:
        """``args`` on ``host`` through c_rsh ('': on the master), run the first time only."""
        if (host, args) not in self._cache:
            timeout = self.timeout or timeout
            run = run_remote(self.runner, host, args, timeout) if host else self.runner.run(list(args), timeout)
            self._cache[host, args] = run
        return self._cache[host, args]

    def reachability(self) -> CommandResult:
        """``hostname`` on the client through c_rsh: the test every remote check waits for."""
        return self._note(self._run(self.host, (HOSTNAME,), REMOTE_TIMEOUT))

    # ------------------------------------------------------------------ NIM objects

    def nim_object(self, name: str) -> tuple[Optional[NimObject], CommandResult]:
        """``lsnim -l name``: the object (None when missing or unreadable) and the command's result."""
        result = self.local([LSNIM, "-l", name])
        if not result.ok:
            return None, result
        return parse_lsnim_l(result.stdout).get(name), result

    @property
    def host(self) -> str:
        """The client's host for c_rsh (field 2 of its ``if1``), '' when NIM does not know it."""
        result = self._run("", (LSNIM, "-l", self.request.client), LOCAL_TIMEOUT)
        obj = parse_lsnim_l(result.stdout).get(self.request.client) if result.ok else None
        return obj.host if obj is not None else ""

    # ------------------------------------------------------------------ fileset levels

    def master_filesets(self, name: str) -> tuple[list[Fileset], CommandResult]:
        result = self.local([LSLPP, "-lc", name])
        return (find_fileset(parse_lslpp_lc(result.stdout), name) if result.ok else []), result

    def spot_filesets(self) -> tuple[list[Fileset], CommandResult]:
        """``nim -o showres -a lslpp_flags=Lc SPOT`` (``lslpp -Lc`` lines of the SPOT)."""
        result = self.local([NIM, "-o", "showres", "-a", "lslpp_flags=Lc", self.request.spot], SHOWRES_TIMEOUT)
        return (parse_lslpp_Lc(result.stdout) if result.ok else []), result

    def lpp_filesets(self) -> tuple[list[Fileset], CommandResult]:
        """``nim -o showres -a installp_flags=L LPP_SOURCE`` (``installp -L`` lines of the lpp_source)."""
        result = self.local([NIM, "-o", "showres", "-a", "installp_flags=L", self.request.lpp_source], SHOWRES_TIMEOUT)
        return (parse_installp_L(result.stdout) if result.ok else []), result

    def target_level(self) -> tuple[Optional[FilesetLevel], str]:
        """The level nimadm migrates to: ``bos.rte`` in the lpp_source (with its line), None when unknown."""
        filesets, result = self.lpp_filesets()
        for name in ("bos.rte", "bos.mp64"):
            found = [f for f in find_fileset(filesets, name) if f.level is not None]
            if found:
                best = max(found, key=lambda f: f.level or FilesetLevel(0, 0, 0, 0))
                return best.level, best.line
        return None, result.why_not() if not result.ok else f"no bos.rte line in {self.request.lpp_source}"
