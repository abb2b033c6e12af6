"""``nimwatch preflight -c CLIENT -s SPOT -l LPP_SOURCE -d DISK [-j VG]``: check before nimadm runs.

Read-only: every command lists or shows, none changes the master or the
client. Runs on the NIM master. Exit status: 0 every check passed, 1 a check
failed, 2 usage error, 3 no check failed but one could not run.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import TYPE_CHECKING

from nimwatch.errors import ExitCode, NimwatchError, UsageError
from nimwatch.preflight.ids import CHECK_IDS

if TYPE_CHECKING:
    from nimwatch.aix.runner import Runner

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "preflight",
        help="read-only checks of what makes nimadm fail, before it runs (on the NIM master)",
        description="Checks the client, SPOT, lpp_source, target disks and cache VG the way nimadm will use "
        "them: each check passes, fails or is unknown, with the line it read and the fix. Nothing is changed.",
        epilog="Exit codes: 0 every check passed, 1 a check failed, 2 usage error, 3 a check could not run. "
        f"Checks: {', '.join(CHECK_IDS)}.",
    )
    p.add_argument("-c", dest="client", required=True, metavar="CLIENT", help="the NIM client (nimadm -c)")
    p.add_argument("-s", dest="spot", required=True, metavar="SPOT", help="the SPOT (nimadm -s)")
    p.add_argument("-l", dest="lpp_source", required=True, metavar="LPP_SOURCE", help="the lpp_source (nimadm -l)")
    p.add_argument(
        "-d",
        dest="disks",
        required=True,
        action="append",
        metavar="DISK",
        help='target disk(s) on the client (nimadm -d); "hdisk1 hdisk2" or repeat -d',
    )
    p.add_argument("-j", dest="cache_vg", metavar="VG", help="cache volume group on the master (nimadm -j)")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text")
    p.add_argument(
        "--skip", action="append", default=[], choices=CHECK_IDS, metavar="CHECK", help="leave a check out (repeatable)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="timeout of every command (default: 120 s on the master, 300 s on the client)",
    )
    p.set_defaults(func=run)


def make_runner() -> Runner:
    """The runner of real commands; refuses to start away from a NIM master."""
    from nimwatch.aix.runner import SubprocessRunner
    from nimwatch.preflight.probe import LSNIM

    if not os.path.exists(LSNIM):
        raise NimwatchError(f"{LSNIM} not found: nimwatch preflight runs on the NIM master")
    return SubprocessRunner()


def _names(values: list[str], what: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        for word in value.split():
            if not _NAME.match(word):
                raise UsageError(f"{what}: {word!r} is not a valid name")
            out.append(word)
    if not out:
        raise UsageError(f"{what}: a name is needed")
    return tuple(dict.fromkeys(out))


def run(args: argparse.Namespace) -> int:
    from nimwatch.preflight.checks import run_checks
    from nimwatch.preflight.model import Request, exit_code
    from nimwatch.preflight.render import render_json, render_text

    if args.timeout is not None and not 0 < args.timeout <= 3600:
        raise UsageError("--timeout: give seconds above 0 and at most 3600")
    request = Request(
        client=_names([args.client], "-c")[0],
        spot=_names([args.spot], "-s")[0],
        lpp_source=_names([args.lpp_source], "-l")[0],
        disks=_names(args.disks, "-d"),
        cache_vg=_names([args.cache_vg], "-j")[0] if args.cache_vg is not None else None,
    )
    runner = make_runner()
    skipped = list(dict.fromkeys(args.skip))
    results = run_checks(runner, request, skip=skipped, timeout=args.timeout)
    render = render_json if args.format == "json" else render_text
    sys.stdout.write(render(request, results, skipped))
    sys.stdout.flush()
    return ExitCode(exit_code(results))
