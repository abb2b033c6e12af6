"""The ``nimwatch(1)`` man page in roff, made from the argparse definitions (:mod:`nimwatch.clispec`).

Owns :func:`render`. Commands, options, choices and help texts come from the
parser; the sections a parser cannot know (exit status, environment, files)
are written here. The output is reproducible (no date) so that a check can
tell whether the shipped page is current; ``man -l`` and ``groff -man -ww``
render it without warnings.
"""

from __future__ import annotations

from nimwatch import __version__
from nimwatch.clispec import CliSpec, Command, Option

EXIT_STATUS = (
    (0, "success: every run succeeded (report, status, replay), no failed run (watch --once), a clean file "
     "(check-config, check-rules), or a service stopped by SIGTERM"),
    (1, "the last run of some log failed"),
    (2, "usage, configuration or input error"),
    (3, "no run failed, but the last run of some log did not finish"),
    (4, "the state journal is damaged: watch --rebuild-state rebuilds it"),
    (130, "interrupted (Ctrl-C)"),
)
ENVIRONMENT = (
    ("NIMWATCH_CONFIG", "the configuration file (default /etc/nimwatch/nimwatch.yaml as root, else "
     "~/.config/nimwatch/nimwatch.yaml)"),
    ("NIMWATCH_STATE", "the state journal (default /var/lib/nimwatch/state.db as root, else "
     "~/.local/state/nimwatch/state.db)"),
    ("NO_COLOR", "no colour in status output"),
    ("TERM", "the TUI needs an xterm-compatible terminal (xterm, aixterm, screen, tmux...): under vt100, vt220 "
     "or dumb it refuses and points to status"),
    ("LANG, LC_ALL, LC_CTYPE", "the character set: where it is not Unicode (ISO8859-1, AIX's en_US) the TUI and "
     "status draw in ASCII"),
)
FILES = (
    ("/var/adm/ras/alt_mig/<client>_alt_mig.log", "the nimadm logs nimwatch reads"),
    ("/etc/nimwatch/nimwatch.yaml", "alerts, hooks, metrics, stall thresholds and rules (chmod 600)"),
    ("/var/lib/nimwatch/state.db", "the state journal of nimwatch watch (SQLite); the TUI reads its arrival times "
     "and keeps its alerts' acknowledgements there"),
)


def _text(text: str) -> str:
    """Escape for roff running text: backslashes, hyphens, and a leading control character."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    if out[:1] in (".", "'"):
        out = "\\&" + out
    return out


def _option_head(option: Option) -> str:
    names = ", ".join(f"\\fB{_text(n)}\\fR" for n in option.names)
    if option.metavar:
        names += f" \\fI{_text(option.metavar)}\\fR"
    return names


def _options(options: tuple[Option, ...]) -> list[str]:
    lines: list[str] = []
    for option in options:
        lines += [".TP", _option_head(option), _text(option.help or "(no description)")]
    return lines


def _command(command: Command) -> list[str]:
    lines = [f'.SS "{_text(command.name)}"', _text(command.synopsis), ".PP"]
    lines.append(_text(command.description or command.help))
    for positional in command.positionals:
        lines += [".TP", f"\\fI{_text(positional.metavar)}\\fR", _text(positional.help)]
    lines += _options(command.options)
    if command.epilog:
        lines += [".PP", _text(command.epilog)]
    return lines


def render(spec: CliSpec) -> str:
    name = spec.prog
    lines = [
        f".\\\" {name}(1), generated from the argparse definitions by nimwatch.gendocs; do not edit",
        f'.TH {name.upper()} 1 "" "{name} {__version__}" "User Commands"',
        ".nh",
        ".ad l",
        ".SH NAME",
        f"{name} \\- follow AIX nimadm alternate disk migrations",
        ".SH SYNOPSIS",
        ".nf",
        _text(spec.synopsis),
        ".fi",
        ".SH DESCRIPTION",
        _text(spec.description),
        ".PP",
        "Commands:",
    ]
    for command in spec.commands:
        lines += [".TP", f"\\fB{_text(command.name)}\\fR", _text(command.help)]
    lines += [
        ".PP",
        f"Without arguments, \\fB{name}\\fR opens the dashboard (\\fBtui\\fR) on /var/adm/ras/alt_mig, in a "
        "terminal that can show it (else it says why, points to \\fBstatus\\fR and prints the help).",
        ".SH GLOBAL OPTIONS",
        "Accepted before the command and after it.",
    ]
    lines += _options(spec.global_options)
    lines.append(".SH COMMANDS")
    for command in spec.commands:
        lines += _command(command)
    sections = (("EXIT STATUS", EXIT_STATUS, "B"), ("ENVIRONMENT", ENVIRONMENT, "B"), ("FILES", FILES, "I"))
    for title, rows, font in sections:
        lines.append(f".SH {title}")
        for term, meaning in rows:
            lines += [".TP", f"\\f{font}{_text(str(term))}\\fR", _text(meaning)]
    lines += [
        ".SH SEE ALSO",
        "\\fBnimadm\\fR(1), \\fBlssrc\\fR(1), \\fBsystemd.exec\\fR(5); the README and docs/service.md of nimwatch.",
        "",
    ]
    return "\n".join(lines)
