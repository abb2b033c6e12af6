"""Which client a nimadm command line is about, read the way nimadm reads its flags.

nimadm's flags (``nimadm_facts.md`` section 2): ``-a -b -c -d -e -i -j -l -m
-N -o -O -P -s -T -z`` take a value (attached, ``-clpar1``, as SMIT writes
it, or as the next word); ``-A -B -C -D -E -F -M -r -S -U -V -W -Y`` do not.
The client is ``-c``'s value; the old cleanup syntax ``nimadm -C lpar1 -s spot``
(AIX 5.2) names it as the first operand, and so may ``-W``/``-S``. A run
without a client (``-M``, or ``-T ... -O`` mksysb to mksysb) has no
``<client>_alt_mig.log`` to follow and is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nimwatch.errors import UsageError

VALUE_FLAGS = frozenset("abcdeijlmNoOPsTz")
PLAIN_FLAGS = frozenset("ABCDEFMrSUVWY")
MODES = (("C", "cleanup"), ("W", "wake-up"), ("S", "sleep"), ("M", "synchronise"))
_CLIENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class NimadmCall:
    """What a nimadm command line asks for."""

    client: str
    mode: str
    """``migrate``, ``cleanup``, ``wake-up``, ``sleep``."""
    values: dict[str, str] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()
    operands: tuple[str, ...] = ()


def parse_nimadm_args(args: Sequence[str]) -> NimadmCall:
    """The client and mode of ``nimadm ARGS`` (``args`` without the command itself). Raises UsageError."""
    values: dict[str, str] = {}
    flags: set[str] = set()
    operands: list[str] = []
    words = list(args)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            operands.extend(words[i:])
            break
        if not word.startswith("-") or word == "-":
            operands.append(word)
            continue
        for pos, letter in enumerate(word[1:], start=1):
            if letter in VALUE_FLAGS:
                value = word[pos + 1 :]
                if not value:
                    if i >= len(words):
                        raise UsageError(f"nimadm -{letter} needs a value")
                    value = words[i]
                    i += 1
                values[letter] = value
                break
            if letter in PLAIN_FLAGS:
                flags.add(letter)
                continue
            raise UsageError(f"nimadm has no flag -{letter} that nimwatch knows (cannot tell which client it is for)")
    mode = next((name for letter, name in MODES if letter in flags), "migrate")
    client = values.get("c", "")
    if not client and mode in ("cleanup", "wake-up", "sleep") and operands:
        client = operands[0]
    if not client:
        raise UsageError(
            "nimwatch run needs the NIM client (nimadm -c CLIENT): a run without one (-M, or -T ... -O) "
            "has no client log to follow"
        )
    if not _CLIENT.match(client):
        raise UsageError(f"nimadm -c {client!r}: not a NIM client name")
    return NimadmCall(client, mode, values, frozenset(flags), tuple(operands))


SHELLS = frozenset(("sh", "ksh", "ksh93", "bsh", "bash", "psh"))
"""Interpreters that show a script's path as their first argument in ``ps`` (nimadm is a ksh script)."""


def _nimadm_position(words: list[str]) -> int:
    """Where the ``nimadm`` word is in a ``ps`` command line (-1: not a nimadm run)."""
    if words and os.path.basename(words[0]) == "nimadm":
        return 0
    if len(words) > 1 and os.path.basename(words[0]) in SHELLS and os.path.basename(words[1]) == "nimadm":
        return 1
    return -1


def is_nimadm(args: str) -> bool:
    """True when a ``ps`` command line runs nimadm (the program itself, or the script of a shell)."""
    return _nimadm_position(args.split()) >= 0


def nimadm_args_of(args: str) -> list[str]:
    """The arguments after the ``nimadm`` word of a ``ps`` command line."""
    words = args.split()
    pos = _nimadm_position(words)
    return words[pos + 1 :] if pos >= 0 else []
