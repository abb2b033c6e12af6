"""The command line as data, read from the argparse definitions: what the man page and completions are made of.

Owns :func:`describe`: every command with its options (names, metavar, choices,
whether a value follows, whether that value is a file or a directory) and
positionals, plus the global options. Nothing here is written by hand, so the
man page (:mod:`nimwatch.manpage`) and the shell completions
(:mod:`nimwatch.completion`) cannot drift from what ``nimwatch`` accepts.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Optional

GLOBAL_DESTS = frozenset({"log_level", "log_format", "log_file", "log_max_size", "log_backups"})
"""Options every command also accepts (they are listed once, as global options)."""

@dataclass(frozen=True)
class Option:
    names: tuple[str, ...]
    help: str
    metavar: Optional[str] = None
    """None when no value follows (a flag)."""
    choices: tuple[str, ...] = ()
    dest: str = ""

    @property
    def takes_value(self) -> bool:
        return self.metavar is not None


@dataclass(frozen=True)
class Positional:
    metavar: str
    help: str
    nargs: str


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    description: str
    synopsis: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]
    epilog: str = ""


@dataclass(frozen=True)
class CliSpec:
    prog: str
    description: str
    epilog: str
    synopsis: str
    global_options: tuple[Option, ...]
    commands: tuple[Command, ...] = field(default_factory=tuple)


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    return _oneline(parser._get_formatter()._expand_help(action))


def _synopsis(parser: argparse.ArgumentParser, skip: frozenset[str]) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=100_000)
    actions = [a for a in parser._actions if a.dest not in skip]
    formatter.add_usage(parser.usage, actions, parser._mutually_exclusive_groups, prefix="")
    return " ".join(formatter.format_help().split())


def _option(parser: argparse.ArgumentParser, action: argparse.Action) -> Option:
    metavar: Optional[str] = None
    if action.nargs != 0:
        if isinstance(action.metavar, str):
            metavar = action.metavar
        elif action.choices:
            metavar = "{" + ",".join(map(str, action.choices)) + "}"
        else:
            metavar = action.dest.upper()
    choices = tuple(str(c) for c in action.choices) if action.choices else ()
    return Option(tuple(action.option_strings), _help(parser, action), metavar, choices, action.dest)


def _oneline(text: Optional[str]) -> str:
    return " ".join((text or "").split())


def describe() -> CliSpec:
    """The whole command line of ``nimwatch``."""
    from nimwatch.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    global_options = tuple(
        _option(parser, a) for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS
    )
    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    commands = []
    for name, cmd in sub.choices.items():
        options = tuple(
            _option(cmd, a)
            for a in cmd._actions
            if a.option_strings and a.dest not in GLOBAL_DESTS and a.help != argparse.SUPPRESS
        )
        positionals = tuple(
            Positional(str(a.metavar or a.dest), _help(cmd, a), str(a.nargs or "1"))
            for a in cmd._actions
            if not a.option_strings
        )
        description, synopsis, epilog = _oneline(cmd.description), _synopsis(cmd, GLOBAL_DESTS), _oneline(cmd.epilog)
        commands.append(Command(name, helps.get(name, ""), description, synopsis, options, positionals, epilog))
    return CliSpec(
        prog=parser.prog,
        description=_oneline(parser.description),
        epilog=_oneline(parser.epilog),
        synopsis=f"{parser.prog} [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]",
        global_options=global_options,
        commands=tuple(commands),
    )
