"""A runner that answers from recorded outputs (``recorded/*.rec``) instead of running commands.

``healthy.rec`` holds every command a pre-flight runs on a healthy master and
client; a scenario file overlays the records it changes. Remote commands are
recognised in the ``c_rsh HOST SCRIPT`` argv the checks really build, so the
runner checks the host and the script wrapping, and hands back stdout with
the ``rc=N`` trailer exactly as ``c_rsh`` prints it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from nimwatch.aix.runner import C_RSH, CommandResult

RECORDED = Path(__file__).resolve().parent / "recorded"
CLIENT_HOST = "lpar1.example.com"


def parse_remote_script(script: str) -> Optional[tuple[str, ...]]:
    """The argv inside a :func:`remote_script` text (None if it is not one): what the checks sent to the client."""
    prefix, suffix = "(LC_ALL=C; export LC_ALL; ", "); echo rc=$?"
    if not (script.startswith(prefix) and script.endswith(suffix)):
        return None
    return tuple(shlex.split(script[len(prefix) : -len(suffix)]))


@dataclass(frozen=True)
class Record:
    where: str
    argv: tuple[str, ...]
    origin: str
    rc: Optional[int]
    stdout: str
    stderr: str
    timeout: bool


def load(path: Path) -> dict[tuple[str, tuple[str, ...]], Record]:
    """The records of one ``.rec`` file, keyed by (master|client, argv)."""
    out: dict[tuple[str, tuple[str, ...]], Record] = {}
    header: dict[str, str] = {}
    where = ""
    argv: tuple[str, ...] = ()
    blocks: dict[str, list[str]] = {}
    block: Optional[str] = None

    def flush() -> None:
        if not where:
            return
        assert "origin" in header, f"{path}: record {argv} has no origin"
        rc_key = "c_rsh-rc" if where == "client" else "rc"
        timeout = header.get("timeout") == "yes"
        assert timeout or rc_key in header, f"{path}: record {argv} has no {rc_key}"

        def text(name: str) -> str:
            lines = blocks.get(name, [])
            while lines and not lines[-1]:
                lines.pop()
            return "\n".join(lines) + ("\n" if lines else "")

        out[(where, argv)] = Record(
            where,
            argv,
            header["origin"],
            None if timeout else int(header[rc_key]),
            text("stdout"),
            text("stderr"),
            timeout,
        )

    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("=== "):
            flush()
            words = shlex.split(raw[4:])
            where, argv = words[0], tuple(words[1:])
            assert where in ("master", "client"), raw
            header, blocks, block = {}, {}, None
        elif raw.startswith("--- "):
            block = raw[4:].strip()
            blocks[block] = []
        elif block is not None:
            blocks[block].append(raw)
        elif where and raw.strip():
            key, _, value = raw.partition(":")
            header[key.strip()] = value.strip()
    flush()
    return out


class RecordedRunner:
    """Answers from ``healthy.rec`` overlaid with ``<scenario>.rec``; remembers what it was asked."""

    def __init__(self, scenario: str = "healthy", crlf: bool = False) -> None:
        self.records = load(RECORDED / "healthy.rec")
        if scenario != "healthy":
            self.records.update(load(RECORDED / f"{scenario}.rec"))
        self.crlf = crlf
        self.calls: list[tuple[str, ...]] = []
        self.missing: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        args = tuple(argv)
        self.calls.append(args)
        assert timeout > 0
        if args and args[0] == C_RSH:
            assert len(args) == 3 and args[1] == CLIENT_HOST, args
            inner = parse_remote_script(args[2])
            assert inner is not None, f"not the c_rsh wrapping: {args[2]!r}"
            key = ("client", inner)
        else:
            key = ("master", args)
        record = self.records.get(key)
        if record is None:
            self.missing.append(args)
            return CommandResult(args, 127, "", "no recording\n")
        if record.timeout:
            return CommandResult(args, None, error=f"no answer within {timeout:g} s (killed)")
        stdout = record.stdout
        if self.crlf and key[0] == "client":
            stdout = stdout.replace("\n", "\r\n")
        return replace(CommandResult(args, record.rc), stdout=stdout, stderr=record.stderr)
