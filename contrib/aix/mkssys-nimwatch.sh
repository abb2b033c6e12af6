#!/bin/sh
# Register nimwatch with AIX's System Resource Controller (SRC), and optionally start it at boot.
#
#   contrib/aix/mkssys-nimwatch.sh        define the subsystem (then: startsrc -s nimwatch)
#   contrib/aix/mkssys-nimwatch.sh -b     the same, plus an /etc/inittab entry (mkitab) that
#                                         runs startsrc -s nimwatch at boot (run level 2)
#   contrib/aix/mkssys-nimwatch.sh -n     print the commands only (with -b: both)
#   contrib/aix/mkssys-nimwatch.sh -r     remove the inittab entry (rmitab) and the definition
#                                         (rmssys); stop it first: stopsrc -s nimwatch
#
# Signals (mkssys -f 9 -n 15 -S): stopsrc -s sends SIGTERM (a clean stop: reading stops, the
# state journal is flushed); stopsrc -c sends SIGTERM and SIGKILL after the -w grace period
# (NIMWATCH_WAIT seconds); stopsrc -f sends SIGKILL at once. -R: SRC restarts nimwatch after
# an abnormal exit. Reload the config with SIGHUP:
#   kill -HUP $(lssrc -s nimwatch | awk 'NR == 2 { print $3 }')
# JSON lines go to NIMWATCH_OUT, diagnostics to NIMWATCH_LOG (rotated by nimwatch: at most
# NIMWATCH_LOG_MAX, NIMWATCH_LOG_BACKUPS old files), anything else on stderr to NIMWATCH_ERR.
# Trim NIMWATCH_OUT and NIMWATCH_ERR from cron with contrib/aix/trim-nimwatch-output.sh.
# See docs/service.md.
#
# Settings (environment): NIMWATCH_BIN, NIMWATCH_CONFIG, NIMWATCH_STATE, NIMWATCH_LOGDIR,
# NIMWATCH_OUT, NIMWATCH_ERR, NIMWATCH_LOG, NIMWATCH_LOG_MAX, NIMWATCH_LOG_BACKUPS,
# NIMWATCH_WAIT, NIMWATCH_SUBSYS.
set -eu

SUBSYS=${NIMWATCH_SUBSYS:-nimwatch}
BIN=${NIMWATCH_BIN:-/opt/freeware/bin/nimwatch}
CONFIG=${NIMWATCH_CONFIG:-/etc/nimwatch/nimwatch.yaml}
STATE=${NIMWATCH_STATE:-/var/lib/nimwatch/state.db}
LOGDIR=${NIMWATCH_LOGDIR:-/var/adm/ras/alt_mig}
OUT=${NIMWATCH_OUT:-/var/log/nimwatch/events.jsonl}
ERR=${NIMWATCH_ERR:-/var/log/nimwatch/stderr.log}
LOG=${NIMWATCH_LOG:-/var/log/nimwatch/nimwatch.log}
LOG_MAX=${NIMWATCH_LOG_MAX:-10M}
LOG_BACKUPS=${NIMWATCH_LOG_BACKUPS:-5}
WAIT=${NIMWATCH_WAIT:-60}
STARTSRC=/usr/bin/startsrc

usage() {
    echo "usage: $0 [-n] [-b] | -r   (-b: also start at boot via /etc/inittab, -n: print the commands, -r: remove)"
}

DRY=0
BOOT=0
REMOVE=0
while getopts nbrh opt; do
    case $opt in
        n) DRY=1 ;;
        b) BOOT=1 ;;
        r) REMOVE=1 ;;
        h) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -gt 0 ] || { [ "$REMOVE" = 1 ] && [ "$BOOT" = 1 ]; }; then
    usage >&2
    exit 2
fi
# An inittab identifier has at most 14 characters; SRC subsystem names are short words.
case $SUBSYS in
    "" | *[!A-Za-z0-9_.-]*) echo "$0: NIMWATCH_SUBSYS must be a plain name: $SUBSYS" >&2; exit 2 ;;
esac
if [ "${#SUBSYS}" -gt 14 ]; then
    echo "$0: NIMWATCH_SUBSYS has more than 14 characters, the limit of an /etc/inittab identifier: $SUBSYS" >&2
    exit 2
fi

# Run a command, or with -n print it (each word quoted for a shell).
run() {
    if [ "$DRY" = 1 ]; then
        for word in "$@"; do printf "'%s' " "$word"; done
        echo
    else
        "$@"
    fi
}

INITTAB="$SUBSYS:2:once:$STARTSRC -s $SUBSYS >/dev/console 2>&1"

if [ "$REMOVE" = 1 ]; then
    if lssrc -s "$SUBSYS" 2>/dev/null | awk 'NR > 1 && $NF == "active" { found = 1 } END { exit !found }'; then
        echo "$0: subsystem $SUBSYS is running: stopsrc -s $SUBSYS first" >&2
        exit 1
    fi
    if lsitab "$SUBSYS" >/dev/null 2>&1; then
        run rmitab "$SUBSYS"
    fi
    run rmssys -s "$SUBSYS"
    exit 0
fi

# SRC splits the -a string like a shell: each value goes in single quotes, so a path may hold
# blanks; a single quote itself cannot be passed.
for value in "$BIN" "$CONFIG" "$STATE" "$LOGDIR" "$LOG" "$LOG_MAX" "$LOG_BACKUPS"; do
    case $value in
        *\'*) echo "$0: a single quote cannot be passed through mkssys -a: $value" >&2; exit 2 ;;
    esac
done
case $WAIT in
    "" | *[!0-9]*) echo "$0: NIMWATCH_WAIT must be a number of seconds: $WAIT" >&2; exit 2 ;;
esac
ARGS="--log-file '$LOG' --log-max-size '$LOG_MAX' --log-backups '$LOG_BACKUPS'"
ARGS="$ARGS watch --config '$CONFIG' --state '$STATE' '$LOGDIR'"

DEFINE=1
if [ "$DRY" = 0 ] && lssrc -s "$SUBSYS" >/dev/null 2>&1; then
    if [ "$BOOT" = 0 ]; then
        echo "$0: subsystem $SUBSYS already exists (stopsrc -s $SUBSYS; $0 -r; then run this again)" >&2
        exit 1
    fi
    echo "subsystem $SUBSYS is already defined; adding the boot entry only"
    DEFINE=0
fi
if [ "$DEFINE" = 1 ]; then
    if [ "$DRY" = 0 ] && [ ! -x "$BIN" ]; then
        echo "$0: $BIN is not an executable nimwatch (set NIMWATCH_BIN)" >&2
        exit 1
    fi
    if [ "$DRY" = 0 ]; then
        for dir in "$(dirname "$STATE")" "$(dirname "$OUT")" "$(dirname "$ERR")" "$(dirname "$LOG")"; do
            mkdir -p "$dir"
            chmod 750 "$dir"
        done
    fi
    # In the order of IBM's mkssys syntax: -p -s -u, -a, -e -i -o, -R, -Q, -f -n -S, -w.
    run mkssys -p "$BIN" -s "$SUBSYS" -u 0 -a "$ARGS" \
        -e "$ERR" -i /dev/null -o "$OUT" \
        -R -Q -f 9 -n 15 -S -w "$WAIT"
fi
if [ "$BOOT" = 1 ]; then
    if [ "$DRY" = 0 ] && lsitab "$SUBSYS" >/dev/null 2>&1; then
        echo "/etc/inittab already has an entry $SUBSYS: $(lsitab "$SUBSYS")"
    else
        run mkitab "$INITTAB"
    fi
fi
if [ "$DRY" = 0 ]; then
    echo "defined SRC subsystem $SUBSYS: startsrc -s $SUBSYS; lssrc -s $SUBSYS; stopsrc -s $SUBSYS"
    [ "$BOOT" = 1 ] && echo "at boot: /etc/inittab entry $SUBSYS (lsitab $SUBSYS) runs startsrc -s $SUBSYS"
fi
exit 0
