# ksh completion for nimwatch, generated from its argparse definitions by nimwatch.gendocs; do not edit.
# Install: . /path/to/nimwatch.ksh from $ENV (~/.kshrc). ksh93: Tab completes a nimwatch command line
# (emacs or gmacs editing mode: set -o emacs); any ksh: _nimwatch_complete nimwatch report --
# lists the candidates for the last word.

_nimwatch_valued="--client --color --colour --config --fleet --format --log-backups --log-dir --log-file --log-format --log-level --log-max-size --lookback --master --output --poll --prometheus --report-dir --rules --since --skip --sort --source-level --speed --state --theme --timeout --watch -c -d -f -j -l -o -s -w"

# _nimwatch_complete WORD... : the candidates for the last WORD (empty: a file name or free text).
function _nimwatch_complete {
    typeset cur prev cmd word skip values opts n i cand
    n=$#
    eval cur=\"\${$n}\"
    prev=""
    if [ "$n" -gt 1 ]; then i=$((n - 1)); eval prev=\"\${$i}\"; fi
    cmd=""
    skip=0
    shift
    i=2
    while [ "$i" -lt "$n" ]; do
        word=$1
        shift
        i=$((i + 1))
        if [ "$skip" = 1 ]; then skip=0; continue; fi
        case " $_nimwatch_valued " in *" $word "*) skip=1; continue ;; esac
        case $word in -*) continue ;; esac
        cmd=$word
        break
    done
    values=""
    case "$cmd $prev" in
        *" --log-level") values="debug info warning error" ;;
        *" --log-format") values="text json" ;;
        "report --format"|"report -f") values="text json markdown" ;;
        "status --sort") values="status name progress elapsed" ;;
        "status --colour"|"status --color") values="auto always never" ;;
        "tui --theme") values="auto textual-dark textual-light ansi-dark ansi-light" ;;
        "replay --theme") values="auto textual-dark textual-light ansi-dark ansi-light" ;;
        "history --format"|"history -f") values="text json csv" ;;
        "fleet --format") values="text json" ;;
        "preflight --format"|"preflight -f") values="text json" ;;
        "preflight --skip") values="client-defined client-state spot-defined lpp-source-defined client-reachable client-master alt-disk-master alt-disk-spot alt-disk-lpp-source spot-lpp-level master-level client-level client-hardware target-disk-free leftover-alt-vg target-disk-size cache-vg no-multibos no-alt-lock master-nfs client-nfs master-netboot" ;;
        "run --format") values="text json" ;;
    esac
    if [ -z "$values" ]; then
        case " $_nimwatch_valued " in *" $prev "*) return 0 ;; esac
        case $cur in
            -*)
                case $cmd in
                    report) opts="-h --help --format -f --rules --output -o --state --no-state --verbose -v --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    watch) opts="-h --help --config -c --poll --state --once --alert-backlog --rebuild-state --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    status) opts="-h --help --watch -w --sort --ascii --colour --color --rules --config --state --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    tui) opts="-h --help --rules --config --theme --report-dir --poll --no-bell --fleet --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    replay) opts="-h --help --speed --max --headless --rules --config --theme --report-dir --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    history) opts="-h --help --client --since --format -f --state --config --master --source-level --rules --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    check-config) opts="-h --help --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    check-rules) opts="-h --help --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    anchors) opts="-h --help --update --output --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    fleet) opts="-h --help --prometheus --config --format --timeout --lookback --master --ascii --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    preflight) opts="-h --help -c -s -l -d -j --format -f --skip --timeout --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    run) opts="-h --help --headless --detach --list --format --config --state --log-dir --log-level --log-format --log-file --log-max-size --log-backups" ;;
                    *) opts="-h --help --version --log-level --log-format --log-file --log-max-size --log-backups" ;;
                esac
                values=$opts ;;
            *) if [ -z "$cmd" ]; then values="report watch status tui replay history check-config check-rules anchors fleet preflight run"; fi ;;
        esac
    fi
    for cand in $values; do
        case $cand in "$cur"*) print -r -- "$cand" ;; esac
    done
}

# ksh93 only: Tab on a line that starts with nimwatch inserts the rest of a single candidate,
# or the common prefix of several, or lists them; elsewhere Tab does what it always did.
# The line is split on blanks (read -A), never evaluated.
case ${KSH_VERSION:-} in
*93*)
    function _nimwatch_keybd {
        typeset line cands first prefix last c
        typeset -a words
        [[ ${.sh.edchar} == $'\t' ]] || return 0
        line=${.sh.edtext:0:${.sh.edcol}}
        [[ $line == nimwatch[[:blank:]]* ]] || return 0
        read -r -A words <<< "$line"
        [[ $line == *[[:blank:]] ]] && words+=("")
        last=${words[${#words[@]}-1]}
        cands=$(_nimwatch_complete "${words[@]}")
        [[ -n $cands ]] || return 0
        first=${cands%%$'\n'*}
        if [[ $cands == "$first" ]]; then
            .sh.edchar="${first#"$last"} "
            return 0
        fi
        prefix=$first
        for c in $cands; do
            while [[ -n $prefix && ${c#"$prefix"} == "$c" ]]; do prefix=${prefix%?}; done
        done
        prefix=${prefix#"$last"}
        if [[ -n $prefix ]]; then
            .sh.edchar=$prefix
        else
            print -u2 ""
            print -u2 -r -- $cands
            .sh.edchar=$'\f'
        fi
    }
    trap _nimwatch_keybd KEYBD
    ;;
esac
