"""Shell completion for ``nimwatch``, made from the argparse definitions (:mod:`nimwatch.clispec`).

Owns :func:`render_bash` and :func:`render_ksh`. Both complete the commands,
each command's options and the global ones, and the values of options with
choices (``--format``, ``--log-level`` ...); file and directory arguments are
left to the shell's own file-name completion.

bash: ``complete -o default -F _nimwatch nimwatch``. ksh: the AIX ksh93
(``/usr/bin/ksh93``) has no programmable completion, so the script binds Tab
with a ``KEYBD`` trap on a command line that starts with ``nimwatch`` and
otherwise leaves Tab alone; ``_nimwatch_complete WORD...`` lists the
candidates in any ksh (ksh88 included), which is also how the tests check it.
"""

from __future__ import annotations

from nimwatch.clispec import GLOBAL_DESTS, CliSpec, Option

HEADER = "# {shell} completion for {prog}, generated from its argparse definitions by nimwatch.gendocs; do not edit.\n"


def _words(options: tuple[Option, ...]) -> str:
    return " ".join(name for option in options for name in option.names)


def _choice_cases(spec: CliSpec, indent: str) -> list[str]:
    """``case "$cmd $prev"`` arms that set ``values`` for options with choices."""
    lines = []
    # a global option's pattern is *" --opt" (after any command), a command's "cmd --opt"
    scoped = [('*"', o) for o in spec.global_options] + [(f'"{c.name}', o) for c in spec.commands for o in c.options]
    for scope, option in scoped:
        if option.choices:
            pattern = "|".join(f'{scope} {name}"' for name in option.names)
            lines.append(f'{indent}{pattern}) values="{" ".join(option.choices)}" ;;')
    return lines


def _option_cases(spec: CliSpec, indent: str) -> list[str]:
    """``case $cmd`` arms that set ``opts``: a command's own options and the diagnostics ones it also takes."""
    global_words = _words(spec.global_options)
    after_command = _words(tuple(o for o in spec.global_options if o.dest in GLOBAL_DESTS))
    lines = []
    for command in spec.commands:
        words = " ".join(filter(None, (_words(command.options), after_command)))
        lines.append(f'{indent}{command.name}) opts="{words}" ;;')
    lines.append(f'{indent}*) opts="{global_words}" ;;')
    return lines


def _valued_all(spec: CliSpec) -> str:
    options = [*spec.global_options, *(o for c in spec.commands for o in c.options)]
    return " ".join(sorted({name for option in options if option.takes_value for name in option.names}))


def _command_word(spec: CliSpec) -> list[str]:
    """The end of the loop over the words before the cursor (the command is the first word that is not an
    option or an option's value), then ``values``: the choices of the option before the cursor."""
    return [
        '        if [ "$skip" = 1 ]; then skip=0; continue; fi',
        '        case " $_nimwatch_valued " in *" $word "*) skip=1; continue ;; esac',
        '        case $word in -*) continue ;; esac',
        '        cmd=$word',
        "        break",
        "    done",
        '    values=""',
        '    case "$cmd $prev" in',
        *_choice_cases(spec, "        "),
        "    esac",
    ]


def render_bash(spec: CliSpec) -> str:
    commands = " ".join(c.name for c in spec.commands)
    lines = [
        HEADER.format(shell="bash", prog=spec.prog).rstrip("\n"),
        "# Install: /usr/share/bash-completion/completions/nimwatch, or source it from ~/.bashrc.",
        "",
        "_nimwatch() {",
        "    local cur prev cmd word i skip values opts",
        '    cur=${COMP_WORDS[COMP_CWORD]}',
        '    prev=${COMP_WORDS[COMP_CWORD-1]}',
        '    cmd=""',
        "    skip=0",
        '    for ((i = 1; i < COMP_CWORD; i++)); do',
        '        word=${COMP_WORDS[i]}',
        *_command_word(spec),
        '    if [ -n "$values" ]; then',
        '        COMPREPLY=($(compgen -W "$values" -- "$cur"))',
        "        return 0",
        "    fi",
        '    case " $_nimwatch_valued " in *" $prev "*) COMPREPLY=(); return 0 ;; esac',
        '    if [[ $cur == -* ]]; then',
        '        case $cmd in',
        *_option_cases(spec, "            "),
        "        esac",
        '        COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
        '    elif [ -z "$cmd" ]; then',
        f'        COMPREPLY=($(compgen -W "{commands}" -- "$cur"))',
        "    else",
        "        COMPREPLY=()  # files and directories: the shell's own completion (-o default)",
        "    fi",
        "    return 0",
        "}",
        f'_nimwatch_valued="{_valued_all(spec)}"',
        f"complete -o default -F _nimwatch {spec.prog}",
        "",
    ]
    return "\n".join(lines)


def render_ksh(spec: CliSpec) -> str:
    commands = " ".join(c.name for c in spec.commands)
    lines = [
        HEADER.format(shell="ksh", prog=spec.prog).rstrip("\n"),
        "# Install: . /path/to/nimwatch.ksh from $ENV (~/.kshrc). ksh93: Tab completes a nimwatch command line",
        "# (emacs or gmacs editing mode: set -o emacs); any ksh: _nimwatch_complete nimwatch report --",
        "# lists the candidates for the last word.",
        "",
        f'_nimwatch_valued="{_valued_all(spec)}"',
        "",
        "# _nimwatch_complete WORD... : the candidates for the last WORD (empty: a file name or free text).",
        "function _nimwatch_complete {",
        "    typeset cur prev cmd word skip values opts n i cand",
        "    n=$#",
        '    eval cur=\\"\\${$n}\\"',
        '    prev=""',
        '    if [ "$n" -gt 1 ]; then i=$((n - 1)); eval prev=\\"\\${$i}\\"; fi',
        '    cmd=""',
        "    skip=0",
        "    shift",
        "    i=2",
        '    while [ "$i" -lt "$n" ]; do',
        '        word=$1',
        "        shift",
        "        i=$((i + 1))",
        *_command_word(spec),
        '    if [ -z "$values" ]; then',
        '        case " $_nimwatch_valued " in *" $prev "*) return 0 ;; esac',
        '        case $cur in',
        "            -*)",
        '                case $cmd in',
        *_option_cases(spec, "                    "),
        "                esac",
        '                values=$opts ;;',
        '            *) if [ -z "$cmd" ]; then values="' + commands + '"; fi ;;',
        "        esac",
        "    fi",
        "    for cand in $values; do",
        '        case $cand in "$cur"*) print -r -- "$cand" ;; esac',
        "    done",
        "}",
        "",
        "# ksh93 only: Tab on a line that starts with nimwatch inserts the rest of a single candidate,",
        "# or the common prefix of several, or lists them; elsewhere Tab does what it always did.",
        "# The line is split on blanks (read -A), never evaluated.",
        'case ${KSH_VERSION:-} in',
        "*93*)",
        "    function _nimwatch_keybd {",
        "        typeset line cands first prefix last c",
        "        typeset -a words",
        "        [[ ${.sh.edchar} == $'\\t' ]] || return 0",
        "        line=${.sh.edtext:0:${.sh.edcol}}",
        f"        [[ $line == {spec.prog}[[:blank:]]* ]] || return 0",
        '        read -r -A words <<< "$line"',
        "        [[ $line == *[[:blank:]] ]] && words+=(\"\")",
        '        last=${words[${#words[@]}-1]}',
        '        cands=$(_nimwatch_complete "${words[@]}")',
        "        [[ -n $cands ]] || return 0",
        "        first=${cands%%$'\\n'*}",
        '        if [[ $cands == "$first" ]]; then',
        '            .sh.edchar="${first#"$last"} "',
        "            return 0",
        "        fi",
        "        prefix=$first",
        "        for c in $cands; do",
        '            while [[ -n $prefix && ${c#"$prefix"} == "$c" ]]; do prefix=${prefix%?}; done',
        "        done",
        '        prefix=${prefix#"$last"}',
        "        if [[ -n $prefix ]]; then",
        "            .sh.edchar=$prefix",
        "        else",
        '            print -u2 ""',
        "            print -u2 -r -- $cands",
        "            .sh.edchar=$'\\f'",
        "        fi",
        "    }",
        "    trap _nimwatch_keybd KEYBD",
        "    ;;",
        "esac",
        "",
    ]
    return "\n".join(lines)
